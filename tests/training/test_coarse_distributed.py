"""The coarse encoder trained on one process or two (torchrun, gloo) with the same global batch ends
with the same weights (every term is a mean over photos, so the shards' averaged gradients are the
batch's)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

CFG = {"size": 64, "n_shape": 10, "width": 8, "people_per_batch": 4, "images_per_person": 2, "steps": 4,
       "lr": 0.002, "photo_size": 32, "checkpoint_every": 100, "seed": 5,
       "weights": {"landmark": 2.0, "eye": 1.0, "lip": 0.5, "shape_consistency": 1.0, "shape_prior": 0.0005,
                   "expression_prior": 0.002, "jaw_prior": 0.01, "photometric": 30.0, "supervised": 0.0}}


def _train(people: Path, tmp: Path, run: str, procs: int) -> dict:
    from headsmith.service.local import free_port

    cfg = tmp / "cfg.json"
    cfg.write_text(json.dumps(CFG))
    args = ["-m", "headsmith_training.cli", "coarse", "--data", str(people), "--config", str(cfg),
            "--run-dir", str(tmp / run)]
    if procs > 1:
        torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
        cmd = [torchrun, "--nproc-per-node", str(procs), "--master-port", str(free_port()), *args]
    else:
        cmd = [sys.executable, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0, p.stderr[-3000:]
    return torch.load(tmp / run / "checkpoint.pt", weights_only=True)


def test_two_processes_train_the_same_encoder(people, tmp_path):
    one, two = _train(people, tmp_path, "one", 1), _train(people, tmp_path, "two", 2)
    assert one["step"] == two["step"] == CFG["steps"]
    # all but a few weights within a twentieth of one Adam step. A different reduction order
    # changes the gradients by float noise, the clamped photometric L1 turns that into a few
    # discrete flips, and Adam, dividing each gradient by its own running size, can move a weight
    # whose gradient is near zero by part of a step; a wrong batch or shard moves almost every
    # weight by whole steps (figures: benchmarks/NOTES.md, "Speed to 5 s, continued").
    off = torch.cat([(v - two["model"][k]).abs().flatten() for k, v in one["model"].items() if v.is_floating_point()])
    share = float((off > 0.05 * CFG["lr"]).float().mean())
    assert share < 1e-3, (share, float(off.max()) / CFG["lr"])
    moved = max(float(v.abs().max()) for k, v in one["model"].items() if k.startswith("head."))
    assert moved > 0          # (the head starts at zero: the runs did train)
