"""Training on one process or two (torchrun, gloo on the CPU) with the same global batch gives the
same network, and a run stopped part way (as by a kill) and resumed ends where an unbroken run does."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

CFG = {"architecture": "key_blend", "texture_init": "generator", "texture_lr_scale": 0.1, "squared": True,
       "size": 32, "dataset_size": 40, "batch": 8, "steps": 12, "lr": 0.01, "grad_weight": 1.0, "seed": 3,
       "checkpoint_every": 100}


def _train(tmp: Path, run: str, *extra, procs: int = 1) -> dict:
    cfg = tmp / "cfg.json"
    cfg.write_text(json.dumps(CFG))
    args = ["-m", "headsmith_training.cli", "detail", "--config", str(cfg), "--run-dir", str(tmp / run), *extra]
    if procs > 1:
        torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
        cmd = [torchrun, "--nproc-per-node", str(procs), "--master-port", str(_free_port()), *args]
    else:
        cmd = [sys.executable, *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    return torch.load(tmp / run / "checkpoint.pt", weights_only=True)


def _free_port() -> int:
    from headsmith.service.local import free_port

    return free_port()


def _same(a: dict, b: dict, tol: float = 1e-5) -> float:
    worst = 0.0
    for k, v in a["model"].items():
        if v.is_floating_point():
            worst = max(worst, float((v - b["model"][k]).abs().max() / (v.abs().max() + 1e-12)))
    assert worst < tol, worst
    return worst


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    return tmp, _train(tmp, "single")


def test_two_processes_train_the_same_network(one_process):
    tmp, single = one_process
    double = _train(tmp, "double", procs=2)
    assert single["step"] == double["step"] == CFG["steps"]
    _same(single, double)
    h1 = json.loads((tmp / "single" / "history.json").read_text())
    h2 = json.loads((tmp / "double" / "history.json").read_text())
    assert abs(h1[-1][1] - h2[-1][1]) < 1e-4 * abs(h1[-1][1])    # the same global loss


def test_stopped_and_resumed_run_ends_like_an_unbroken_one(one_process):
    tmp, single = one_process
    half = _train(tmp, "broken", "--stop-at", "5")
    assert half["step"] == 5
    resumed = _train(tmp, "broken", "--resume", procs=2)
    assert resumed["step"] == CFG["steps"]
    _same(single, resumed)
    h = json.loads((tmp / "broken" / "history.json").read_text())
    assert [x[0] for x in h] == list(range(1, CFG["steps"] + 1))
