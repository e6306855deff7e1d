"""Service responsiveness while uploads are checked (issue 18, finding 6): the median and worst
/health and live-decode latency on loopback while POST /reconstruct uploads of large photos are being decoded and
checked, against the same with the service idle.

    .venv/bin/python benchmarks/bench_service.py [--uploads 4] [--megapixels 30] [--decode-size 1024] [--no-jobs]

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


def latencies(call, stop: threading.Event, out: list, pause: float) -> None:
    """Time call() every `pause` seconds until stop, appending milliseconds to out."""
    while not stop.is_set():
        t = time.perf_counter()
        call()
        out.append((time.perf_counter() - t) * 1000)
        time.sleep(pause)


def open_avatar(url: str, auth: dict, folder: Path) -> str:
    """A fast bundle of the astronaut (made in this process), opened for live decoding. -> its id."""
    import skimage.data

    from headsmith.pipeline import ReconstructSettings, reconstruct

    photo = folder / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    reconstruct([photo], folder / "bundle", ReconstructSettings(quality="fast"), wrinkles=True)
    with httpx.Client(trust_env=False, timeout=120) as c:
        return c.post(f"{url}/avatars", headers=auth, json={"bundle": str(folder / "bundle")}).json()["id"]


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


def summary(ms: list) -> tuple:
    """-> (median, p95, max, count over 100 ms, count) of latencies in milliseconds."""
    return statistics.median(ms), float(np.percentile(ms, 95)), max(ms), sum(x > 100 for x in ms), len(ms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uploads", type=int, default=4)
    ap.add_argument("--megapixels", type=float, default=30)
    ap.add_argument("--decode-size", type=int, default=1024, help="live normal map size to decode")
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
        aid = open_avatar(url, auth, s.jobs_root.parent)
        health = httpx.Client(trust_env=False, timeout=30)
        decoder = httpx.Client(trust_env=False, timeout=30)
        pollers = (lambda: health.get(f"{url}/health", headers=auth),
                   lambda: decoder.post(f"{url}/avatars/{aid}/decode", headers=auth,
                                        json={"expression": {"browInnerUp": 1.0}, "size": a.decode_size}))
        for label, busy in (("idle", False), (f"{a.uploads} uploads of {side}x{side} JPEG "
                                              f"({len(photo) / 1e6:.1f} MB) being checked", True),
                            ("a default reconstruction of the astronaut runs", "astronaut")):
            lat, dec, stop = [], [], threading.Event()
            threads = [threading.Thread(target=latencies, args=(pollers[0], stop, lat, 0.01)),
                       threading.Thread(target=latencies, args=(pollers[1], stop, dec, 0.1))]
            for th in threads:
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
            for th in threads:
                th.join()
            rows.append((label, busy_s, summary(lat), summary(dec)))
    print(f"machine: {machine()}")
    print(f"/health every 10 ms; decode of a {a.decode_size} normal map every 100 ms")
    print(f"{'while':<58} {'s':>5} {'':>8}{'median ms':>9} {'p95 ms':>7} {'max ms':>7} {'>100 ms':>8} {'requests':>9}")
    for label, sec, *cols in rows:
        for name, (med, p95, worst, slow, n) in zip(("/health", "decode"), cols):
            print(f"{label:<58} {sec:>5.1f} {name:>8}{med:>9.1f} {p95:>7.1f} {worst:>7.1f} {slow:>8d} {n:>9d}")
            label, sec = "", float("nan")


if __name__ == "__main__":
    main()
