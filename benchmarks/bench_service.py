"""Service responsiveness while uploads are checked (issue 18, finding 6): the median and worst
/health latency on loopback while POST /reconstruct uploads of large photos are being decoded and
checked, against the same with the service idle.

    .venv/bin/python benchmarks/bench_service.py [--uploads 4] [--megapixels 30] [--no-jobs]

The uploads are real JPEGs of noise (hard to compress, so large); they have no face, so each job
fails after its face search. With --no-jobs the queue takes none (max_pending 0: each upload is
checked, then answered 503), which separates the upload checks from the jobs' own work. The last
row follows a whole default-quality reconstruction of the astronaut (scikit-image's sample photo),
which runs in the service's worker process.
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import machine  # noqa: E402

from headsmith.service import ServiceSettings  # noqa: E402
from headsmith.service.local import serve_in_thread  # noqa: E402


def health_latencies(url: str, auth: dict, stop: threading.Event, out: list) -> None:
    with httpx.Client(trust_env=False, timeout=30) as c:
        while not stop.is_set():
            t = time.perf_counter()
            c.get(f"{url}/health", headers=auth)
            out.append((time.perf_counter() - t) * 1000)
            time.sleep(0.01)


def reconstruct_astronaut(url: str, auth: dict) -> None:
    import skimage.data

    buf = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).save(buf, "PNG")
    with httpx.Client(trust_env=False, timeout=60) as c:
        while (r := c.post(f"{url}/reconstruct", headers=auth, files={"photos": ("astronaut.png", buf.getvalue())},
                           data={"quality": "default"})).status_code == 503:   # the noise jobs still queued
            time.sleep(0.5)
        jid = r.json()["id"]
        while c.get(f"{url}/jobs/{jid}", headers=auth).json()["state"] in ("queued", "running"):
            time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uploads", type=int, default=4)
    ap.add_argument("--megapixels", type=float, default=30)
    ap.add_argument("--no-jobs", action="store_true", help="check the uploads but queue no job")
    a = ap.parse_args()
    side = int((a.megapixels * 1e6) ** 0.5)
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (side, side, 3), dtype=np.uint8)).save(
        buf, "JPEG", quality=70)
    photo = buf.getvalue()
    s = ServiceSettings(jobs_root=Path(tempfile.mkdtemp()) / "jobs", max_upload_bytes=60 * 1024 * 1024,
                        max_request_bytes=64 * 1024 * 1024, max_pending=0 if a.no_jobs else 4)
    auth = {"Authorization": f"Bearer {s.token}"}
    with serve_in_thread(s) as port:
        url = f"http://127.0.0.1:{port}"
        rows = []
        for label, busy in (("idle", False), (f"{a.uploads} uploads of {side}x{side} JPEG "
                                              f"({len(photo) / 1e6:.1f} MB) being checked", True),
                            ("a default reconstruction of the astronaut runs", "astronaut")):
            lat, stop = [], threading.Event()
            th = threading.Thread(target=health_latencies, args=(url, auth, stop, lat))
            th.start()
            t0 = time.perf_counter()
            if busy == "astronaut":
                reconstruct_astronaut(url, auth)
            elif busy:
                with httpx.Client(trust_env=False, timeout=300) as c:
                    for _ in range(a.uploads):
                        r = c.post(f"{url}/reconstruct", headers=auth,
                                   files={"photos": ("noise.jpg", photo, "image/jpeg")}, data={"quality": "fast"})
                        assert r.status_code in (202, 503), r.text
            else:
                time.sleep(2.0)
            busy_s = time.perf_counter() - t0
            stop.set()
            th.join()
            rows.append((label, statistics.median(lat), float(np.percentile(lat, 95)), max(lat),
                         sum(x > 100 for x in lat), len(lat), busy_s))
    print(f"machine: {machine()}")
    print(f"{'while':<58} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} {'>100 ms':>8} {'requests':>9} {'s':>5}")
    for label, med, p95, worst, slow, n, sec in rows:
        print(f"{label:<58} {med:>9.1f} {p95:>7.1f} {worst:>7.1f} {slow:>8d} {n:>9d} {sec:>5.1f}")


if __name__ == "__main__":
    main()
