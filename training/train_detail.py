"""Train the OpenHead detail decoder on the synthetic wrinkle generator.

    headsmith-train detail --config training/configs/openhead_detail.json --run runs/detail [--resume]
        [--export assets/detail] [--stop-at STEP] [--max-minutes M]
    torchrun --nproc-per-node 2 -m headsmith_training.cli detail --run-dir runs/detail ...
        (the same on 2 processes; torchrun reads "--run" as its own --run-path, so --run-dir)
    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \
        -m headsmith_training.cli detail --run-dir runs/detail ...     (several machines)

Resumable: a checkpoint (model, optimiser, step) is written every `checkpoint_every` steps (and
when a run stops early) into the run folder; --resume continues from it, drawing the batches an
unbroken run would (each step's batch comes from the seed and the step). Distributed: see
training/distributed.py; the global batch is the config's `batch` whatever the process count.
Rank 0 shows a progress bar and writes TensorBoard event logs into RUN/tensorboard. The dataset (codes, expressions, jaws and
their generated maps) is made once per run from the config's seed and kept in the run folder.
With --export, the final weights (torch state dict and ONNX) and a JSON record of the command,
config, seed and losses are written to the export folder.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from headsmith.wrinkles.decoder import export_onnx
from headsmith.wrinkles.networks import DetailDecoder
from headsmith.wrinkles.anatomy import GROUPS
from headsmith.wrinkles.texture_decoder import KeyBlendDecoder, build_openhead_decoder
from headsmith.headmodel import OpenHead

from .distributed import Dist
from .run_files import load_checkpoint, record_start, train_steps
from .wrinkle_generator import CODE_DIM, N_PATTERNS, build_tables, generate, person_code, sample_expressions


HELDOUT = 256


def heldout_count(n: int) -> int:
    return min(HELDOUT, max(1, n // 8))


def sample_codes(n: int, rng: np.random.Generator, single_pattern: bool = False) -> np.ndarray:
    """Person codes. single_pattern: one line pattern at one density for everyone (people then
    differ by depth, age and pores only), a much easier first target for the decoder."""
    out = np.zeros((n, CODE_DIM), np.float32)
    for i in range(n):
        pattern = np.array([1.0, 0, 0, 0]) if single_pattern else rng.dirichlet([0.5] * 4)
        density = 0.5 if single_pattern else rng.uniform()
        out[i] = person_code(rng.uniform(), rng.uniform(), density, rng.uniform(), pattern)
    return out


def make_dataset(model, cfg: dict, log=print) -> dict:
    rng = np.random.default_rng(cfg["seed"])
    tables = build_tables(model, cfg["size"], seed=cfg["seed"])
    n = cfg["dataset_size"]
    codes = sample_codes(n, rng, cfg.get("single_pattern", False))
    expr, jaw = sample_expressions(n, model.expression_names, rng)
    maps = np.zeros((n, cfg["size"], cfg["size"]), np.float16)
    t = time.time()
    for i in range(0, n, 32):
        sl = slice(i, min(i + 32, n))
        d = generate(model, tables, torch.tensor(codes[sl]), torch.tensor(expr[sl]), torch.tensor(jaw[sl]))
        maps[sl] = (d.numpy() * 1000).astype(np.float16)          # millimetres
    log(f"dataset: {n} maps in {time.time() - t:.0f}s")
    return dict(codes=codes, expression=expr, jaw=jaw, maps_mm=maps)


def loss_fn(pred_mm: torch.Tensor, target_mm: torch.Tensor, grad_weight: float, furrow_weight: float = 0.0,
            squared: bool = False):
    """L1 (or squared) error of the map and of its texel gradients, in millimetres; furrow_weight
    up-weights texels with deep targets, so the sparse expression lines are not drowned by the
    everywhere-present pores."""
    w = 1.0 + furrow_weight * target_mm.abs() if furrow_weight else 1.0
    err = (pred_mm - target_mm).abs()
    l1 = ((err * err if squared else err) * w).mean()
    gx = lambda t: t[..., :, 1:] - t[..., :, :-1]  # noqa: E731
    gy = lambda t: t[..., 1:, :] - t[..., :-1, :]  # noqa: E731
    dx, dy = (gx(pred_mm) - gx(target_mm)).abs(), (gy(pred_mm) - gy(target_mm)).abs()
    # squared like the value term: with L1 the everywhere-present pores outvote the sparse furrows
    g = (dx * dx).mean() + (dy * dy).mean() if squared else dx.mean() + dy.mean()
    return l1 + grad_weight * g, l1, g


def make_network(model, cfg: dict) -> torch.nn.Module:
    """The config's architecture: "key_blend" (the OpenHead default, see
    headsmith.wrinkles.texture_decoder) or "deca" (DECA's D_detail layout)."""
    arch = cfg.get("architecture", "deca")
    if arch == "key_blend":
        net = build_openhead_decoder(model, cfg["size"], n_mix=2 * N_PATTERNS)
        if cfg.get("texture_init") == "generator":
            init_from_generator(net, model, cfg)
        return net
    if arch == "deca":
        return DetailDecoder(latent_dim=3 + model.n_expression + CODE_DIM, base=cfg["size"] // 32)
    raise ValueError(f"unknown architecture {arch!r} (key_blend or deca)")


def init_from_generator(net: KeyBlendDecoder, model, cfg: dict) -> None:
    """Start each key's textures from the generator's map at the key's pose for the 8 pure line
    patterns (4 patterns x 2 densities, mid depth and age), and its coefficients so that the
    pose gives weight 1: training then mostly learns how a person mixes them."""
    tables = build_tables(model, cfg["size"], seed=cfg["seed"])
    codes = torch.tensor(np.stack([person_code(0.5, 0.5, d, 0.0, np.eye(N_PATTERNS)[p])
                                   for p in range(N_PATTERNS) for d in (0.0, 1.0)]))
    zero_jaw = torch.zeros(len(codes), 3)
    rest = generate(model, tables, codes, torch.zeros(len(codes), model.n_expression), zero_jaw)
    with torch.no_grad():
        for k, group in enumerate(GROUPS.values()):
            pose = model.expression_vector(group.pose).expand(len(codes), -1)
            net.textures[k] = (generate(model, tables, codes, pose, zero_jaw) - rest) * 1000
            x = torch.cat([pose[:1], torch.zeros(1, 1)], 1)
            net.coef[k] = net.drivers[k] / (x @ net.drivers[k]).clamp(min=1e-3)
        net.mix.weight.mul_(0.01)
        net.mix.bias.fill_(1.0 / net.n_mix)


def _dataset(model, cfg: dict, run: Path, dist: Dist, log) -> dict:
    """The run's dataset, made once (by rank 0) and kept in the run folder."""
    data_path = run / "dataset.npz"
    if dist.is_main and not data_path.is_file():
        data = make_dataset(model, cfg, log)
        tmp = run / "dataset.tmp.npz"
        np.savez(tmp, **data)
        tmp.replace(data_path)
    dist.barrier()
    with np.load(data_path) as z:
        return {k: z[k] for k in z.files}


def step_indices(cfg: dict, step: int, n: int) -> torch.Tensor:
    """The global batch of step `step`: a function of the seed and the step alone, so a resumed
    (or differently distributed) run trains on what an unbroken one would."""
    g = torch.Generator().manual_seed(cfg["seed"] * 1_000_003 + step)
    return torch.randint(0, n, (cfg["batch"],), generator=g)


def train(cfg: dict, run: Path, resume: bool, model=None, log=print, max_seconds: float | None = None,
          stop_at: int | None = None) -> dict:
    """Train (or resume) in `run`; under torchrun every process calls this (training.distributed).
    stop_at: leave after that step with a checkpoint, as a kill would after one (tests, split runs)."""
    dist = Dist.from_env()
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg["seed"])
    model = model or OpenHead()
    record_start(run, cfg, resume, dist)
    data = _dataset(model, cfg, run, dist, log)
    net = make_network(model, cfg).to(dist.device)
    tex = [p for n, p in net.named_parameters() if n == "textures"]
    rest = [p for n, p in net.named_parameters() if n != "textures"]
    opt = torch.optim.Adam([{"params": rest, "scale": 1.0},
                            {"params": tex, "scale": cfg.get("texture_lr_scale", 1.0)}], lr=cfg["lr"])
    step, history = load_checkpoint(run, net, opt, dist.device, log) if resume else (0, [])
    ddp = dist.wrap(net)
    # the last held-out samples are never trained on (see evaluate)
    held = heldout_count(len(data["codes"]))
    latent = torch.tensor(np.concatenate([data["jaw"], data["expression"], data["codes"]], 1))[:-held]
    target = torch.tensor(data["maps_mm"][:-held].astype(np.float32))
    net.train()

    def step_terms(step: int) -> dict:
        lr = cfg["lr"] * 0.5 * (1 + math.cos(math.pi * step / cfg["steps"]))
        for grp in opt.param_groups:
            grp["lr"] = lr * grp["scale"]
        idx = dist.shard(step_indices(cfg, step, len(latent)))
        pred = ddp(latent[idx].to(dist.device))[:, 0] * 1000.0
        loss, l1, gl = loss_fn(pred, target[idx].to(dist.device), cfg["grad_weight"], cfg.get("furrow_weight", 0.0),
                               cfg.get("squared", False))
        return {"loss": loss, "value_mm": l1, "gradient_mm": gl, "lr": lr}

    step, history = train_steps(run, cfg, dist, net, opt, step, history, step_terms, log, stop_at, max_seconds)
    net.eval()
    return {"net": net, "step": step, "history": history, "dist": dist}


def export(net: torch.nn.Module, out: Path, record: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "openhead_detail.pt.tmp"
    torch.save(net.state_dict(), tmp)
    tmp.replace(out / "openhead_detail.pt")
    export_onnx(net, out / "openhead_detail.onnx")
    (out / "openhead_detail.json").write_text(json.dumps(record, indent=1))


def evaluate(net: torch.nn.Module, data: dict, k: int = None) -> dict:
    """Held-out figures (the dataset's last samples, never trained on): mean absolute and RMS
    error (mm), R^2 of the maps, and the correlation on furrow texels (target deeper than 0.1 mm)."""
    k = k or heldout_count(len(data["codes"]))
    latent = torch.tensor(np.concatenate([data["jaw"], data["expression"], data["codes"]], 1))[-k:]
    target = torch.tensor(data["maps_mm"][-k:].astype(np.float32))
    with torch.no_grad():
        pred = torch.cat([net(latent[i:i + 32])[:, 0] * 1000 for i in range(0, len(latent), 32)])
    err = pred - target
    furrow = target < -0.1
    return {"heldout_mae_mm": float(err.abs().mean()), "heldout_rmse_mm": float(err.pow(2).mean().sqrt()),
            "heldout_r2": float(1 - err.pow(2).sum() / (target - target.mean()).pow(2).sum()),
            "heldout_furrow_corr": float(np.corrcoef(pred[furrow].numpy(), target[furrow].numpy())[0, 1])}


def add_arguments(d) -> None:
    """`headsmith-train detail`'s options."""
    d.add_argument("--config", type=Path, default=Path(__file__).parent / "configs" / "openhead_detail.json")
    # --run-dir: under torchrun, whose own parser takes "--run" for its "--run-path"
    d.add_argument("--run", "--run-dir", dest="run", type=Path, default=Path("runs/detail"))
    d.add_argument("--resume", action="store_true")
    d.add_argument("--export", type=Path)
    d.add_argument("--max-minutes", type=float)
    d.add_argument("--stop-at", type=int, help="leave after this step with a checkpoint (--resume continues)")


def run(a, command: str) -> int:
    """`headsmith-train detail` with parsed options; `command` is recorded with the export."""
    cfg = json.loads(a.config.read_text())
    res = train(cfg, a.run, a.resume, max_seconds=a.max_minutes * 60 if a.max_minutes else None, stop_at=a.stop_at)
    res["dist"].close()
    if a.export and res["dist"].is_main:
        with np.load(a.run / "dataset.npz") as z:
            data = {k: z[k] for k in z.files}
        hist = res["history"]
        tail = np.mean([h[1] for h in hist[-50:]]) if hist else float("nan")
        record = {"command": command, "config": cfg, "seed": cfg["seed"], "steps_done": res["step"],
                  "loss": "squared" if cfg.get("squared") else "L1",
                  "train_loss_mean_last50": float(tail), **evaluate(res["net"], data),
                  "first_loss": hist[0][1] if hist else None, "final_loss": hist[-1][1] if hist else None}
        export(res["net"], a.export, record)
        print(json.dumps(record, indent=1))
    return 0
