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


def train_steps(run: Path, cfg: dict, dist: Dist, net, opt, step: int, history: list, step_terms, log=print,
                stop_at: int | None = None, max_seconds: float | None = None) -> tuple[int, list]:
    """The loop the trainers share, from `step` to cfg["steps"]: step_terms(step) -> {name: value}
    of this process's shard ('loss' is minimised; the others, tensors or numbers, are logged);
    backward and the optimiser's step; each value's mean over the processes into the history
    ([step, loss, the others by name]), the event log and the bar; rank 0's checkpoint every
    cfg["checkpoint_every"] steps, at the end and when stopping early (at stop_at, or past
    max_seconds), which --resume continues. -> (the last step, the history)."""
    t0 = time.time()
    board, bar = monitors(run, dist, step, cfg["steps"])
    while step < cfg["steps"]:
        terms = step_terms(step)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        step += 1
        means = {k: dist.mean(float(v.detach()) if torch.is_tensor(v) else float(v)) for k, v in terms.items()}
        history.append([step, means["loss"]] + [means[k] for k in sorted(means) if k != "loss"])
        log_step(board, bar, step, means)
        early = (stop_at is not None and step >= stop_at) or (max_seconds is not None and time.time() - t0 > max_seconds)
        if dist.is_main and (step % cfg["checkpoint_every"] == 0 or step == cfg["steps"] or early):
            save_checkpoint(run, net, opt, step, history)
        if early:
            log(f"stopping at step {step}; --resume continues")
            break
    close_monitors(board, bar)
    dist.barrier()
    return step, history
