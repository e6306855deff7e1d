"""Issue 18, finding 4: face photos and half bundles do not outlive a job or a server. A real
`headsmith serve` is killed (-9) in the middle of a reconstruction and in the middle of its bake
and bundle write, then started again: nothing of the killed one remains. A clean stop (SIGTERM)
removes everything. Finished jobs are pruned."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from headsmith.service.jobs import JobManager
from headsmith.service.local import free_port


def _start(tmpdir, port, token_file):
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    proc = subprocess.Popen([sys.executable, "-m", "headsmith.cli", "serve", "--port", str(port),
                             "--token-file", str(token_file)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        try:
            token = json.loads(token_file.read_text())["token"]
            c = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"},
                             timeout=30, trust_env=False)
            if c.get("/health").status_code == 200:
                return proc, c
        except (OSError, ValueError, KeyError, httpx.HTTPError):
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("headsmith serve did not start")


def _leftovers(base):
    """Face photos, job folders and half-written bundles under the jobs folder."""
    return sorted(str(p.relative_to(base)) for p in base.rglob("*")
                  if p.name == "photos" or p.name.startswith(".bundle") or p.parent.parent == base)


def _processes_with_tmpdir(tmpdir) -> list[int]:
    """Pids of the live processes started with TMPDIR=tmpdir (the server and its worker)."""
    mark = f"TMPDIR={tmpdir}".encode()
    pids = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and mark in (d / "environ").read_bytes().split(b"\0") \
                    and (d / "stat").read_text().split(")")[-1].split()[0] != "Z":
                pids.append(int(d.name))
        except OSError:
            pass
    return pids


def _kill_when(proc, client, jid, reached):
    t0 = time.monotonic()
    while time.monotonic() - t0 < 300:
        st = client.get(f"/jobs/{jid}").json()
        if reached(st):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
            return st
        assert st["state"] in ("queued", "running"), st
        time.sleep(0.02)
    raise AssertionError("the job never reached the stage to kill in")


def test_kill_9_mid_job_leaves_no_photo_and_no_half_bundle(tmp_path, astronaut_path):
    tmpdir, port, token_file = tmp_path / "tmp", free_port(), tmp_path / "service.json"
    tmpdir.mkdir()
    base = tmpdir / f"headsmith-jobs-{os.getuid()}"
    photo = {"photos": ("a.png", astronaut_path.read_bytes(), "image/png")}
    moments = (lambda st: st["stage"] == "fit",                                     # mid reconstruction
               lambda st: st["stage"] == "detail" and st["progress"] >= 1.0)       # baking and writing
    for reached in moments:
        proc, client = _start(tmpdir, port, token_file)
        jid = client.post("/reconstruct", files=photo, data={"quality": "fast"}).json()["id"]
        _kill_when(proc, client, jid, reached)
        assert any(p.name == "photos" for p in base.rglob("*"))       # the killed server left them
        t0 = time.monotonic()
        while _processes_with_tmpdir(tmpdir) and time.monotonic() - t0 < 10:
            time.sleep(0.1)
        assert _processes_with_tmpdir(tmpdir) == []                     # its worker went with it
        proc, client = _start(tmpdir, port, token_file)
        left = _leftovers(base)
        assert left == [], left                                        # gone at the restart
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        assert list(base.iterdir()) == []                               # a clean stop leaves nothing


class _SlowRemoval:
    """shutil for the job manager, with a removal that takes a while: the end of a job must not
    be published before its photos are gone (CI once saw them still there)."""

    def __init__(self):
        import shutil
        self._shutil = shutil

    def rmtree(self, path, **kw):
        time.sleep(0.3)
        self._shutil.rmtree(path, **kw)


def test_photos_go_when_a_job_ends_and_finished_jobs_are_pruned(tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    from headsmith.service import jobs as jobs_module

    monkeypatch.setattr(jobs_module, "shutil", _SlowRemoval())

    buf = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(buf)
    jobs = JobManager(tmp_path / "jobs", keep_finished_max=1)
    try:
        first = jobs.submit([("a.png", buf.read_bytes())], {"quality": "fast"})
        t0 = time.monotonic()
        while first.finished is None and time.monotonic() - t0 < 120:
            time.sleep(0.05)
        assert not (first.workdir / "photos").exists()                  # removed when the job ended
        assert first.state == "failed" and "no face" in first.error
        second = jobs.submit([("b.png", buf.read_bytes())], {"quality": "fast"})
        while second.finished is None and time.monotonic() - t0 < 240:
            time.sleep(0.05)
        while jobs.get(first.id) is not None and time.monotonic() - t0 < 240:
            time.sleep(0.05)                                             # pruned as the second ends
        assert not first.workdir.exists()                                # only one is kept
        assert jobs.get(second.id) is second
        jobs.prune(now=time.time() + 2 * jobs.keep_finished_s)
        assert jobs.get(second.id) is None and not second.workdir.exists()  # pruned by age
    finally:
        jobs.shutdown()
    assert not jobs.root.exists()


def test_a_worker_that_dies_fails_its_job_and_the_next_job_gets_a_new_one(tmp_path, astronaut_path):
    """The worker process killed in the middle of a fit: that job fails saying so (the service
    stays up), and the next job runs in a freshly started worker."""
    jobs = JobManager(tmp_path / "jobs")

    def wait(job, until):
        t0 = time.monotonic()
        while not until(job) and time.monotonic() - t0 < 240:
            time.sleep(0.02)
        assert until(job), job.public()

    try:
        first = jobs.submit([("a.png", astronaut_path.read_bytes())], {"quality": "fast"})
        wait(first, lambda j: j.stage == "fit" or j.finished is not None)
        pid = jobs._worker._proc.pid
        os.kill(pid, signal.SIGKILL)
        wait(first, lambda j: j.finished is not None)
        assert first.state == "failed" and "worker process ended (exit code -9)" in first.error
        second = jobs.submit([("a.png", astronaut_path.read_bytes())], {"quality": "fast"})
        wait(second, lambda j: j.finished is not None)
        assert second.state == "done", second.public()
        assert jobs._worker._proc.pid != pid
    finally:
        jobs.shutdown()
