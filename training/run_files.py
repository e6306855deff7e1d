"""What every training run keeps in its folder, shared by the trainers: the run record (config,
seed, each start), the checkpoint (written by rank 0, atomically) with its loss history, and rank
0's progress bar and TensorBoard event log."""
from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from .distributed import Dist


def record_start(run: Path, cfg: dict, resume: bool, dist: Dist) -> None:
    """Append this start to RUN/run.json (config, seed, every start with its process count)."""
    if not dist.is_main:
        return
    starts = json.loads((run / "run.json").read_text())["starts"] if (run / "run.json").is_file() else []
    starts.append({"resume": resume, "processes": dist.world, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
    (run / "run.json").write_text(json.dumps({"config": cfg, "seed": cfg["seed"], "starts": starts}, indent=1))


def save_checkpoint(run: Path, net, opt, step: int, history: list) -> None:
    ckpt = run / "checkpoint.pt"
    tmp = ckpt.with_suffix(".tmp")
    torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(), "step": step}, tmp)
    tmp.replace(ckpt)
    (run / "history.json").write_text(json.dumps(history))


def load_checkpoint(run: Path, net, opt, device, log=print) -> tuple[int, list]:
    """-> (step, history) of RUN/checkpoint.pt, loaded into net and opt; (0, []) when there is none."""
    ckpt = run / "checkpoint.pt"
    if not ckpt.is_file():
        return 0, []
    state = torch.load(ckpt, map_location=device, weights_only=True)
    net.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    history = json.loads((run / "history.json").read_text()) if (run / "history.json").is_file() else []
    log(f"resumed at step {state['step']}")
    return int(state["step"]), history


def monitors(run: Path, dist: Dist, step: int, steps: int):
    """Rank 0's TensorBoard event log (RUN/tensorboard; `tensorboard --logdir RUN`) and progress bar.
    Without the tensorboard package (headsmith[train]) the run goes on with the bar alone."""
    if not dist.is_main:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=steps, initial=step, desc="training", unit="step", mininterval=2.0)
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        bar.write("note: no TensorBoard log (pip install 'headsmith[train]' for tensorboard)")
        return None, bar
    # a resumed run drops what the interrupted one logged after its last checkpoint (step)
    return SummaryWriter(log_dir=str(run / "tensorboard"), purge_step=step + 1 if step else None), bar


def log_step(board, bar, step: int, values: dict) -> None:
    """One step's figures to the event log and the bar (rank 0; both None elsewhere)."""
    if board is not None:
        for name, v in values.items():
            board.add_scalar(f"train/{name}", v, step)
    if bar is not None:
        bar.update(1)
        bar.set_postfix(loss=f"{next(iter(values.values())):.4f}")


def close_monitors(*ms) -> None:
    for m in ms:
        if m is not None:
            m.close()
