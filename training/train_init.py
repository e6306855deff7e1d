"""The learned initialiser of the fit: a regressor from dense landmarks (MediaPipe's 468 mesh points,
similarity-normalised) to OpenHead's pose parameters (the fitted ARKit weights, jaw opening, head
rotation), trained on OpenHead itself: random heads, expressions and turns, their landmarks
through the model's own embedding (the face oval as silhouette points, as the fit sees them), with
detector-like noise. Exported to ONNX; the backend runs it with onnxruntime (fit/learned_init.py).

The heads' identities vary (so the guess holds for any face) but are not predicted: the fit starts
the identity at the prior's mean (fit/learned_init.py says why).
Units: rotations axis-angle in radians in the model frame; the jaw opening is the jaw bone's X
rotation in radians; expression weights 0..1."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from headsmith.fit.learned_init import normalise_points, output_layout
from headsmith.fit.terms import fitted_expressions


def sample_parameters(model, n: int, g: torch.Generator, cfg: dict) -> dict:
    """Random heads: shape N(0, shape_sd); a few ARKit keys each (weights U(0, 1), the rest small);
    the jaw open on half of them; yaw/pitch/roll uniform within cfg's degrees."""
    fitted = torch.tensor(fitted_expressions(model.expression_names))
    shape = torch.randn(n, model.n_shape, generator=g) * cfg["shape_sd"]
    expr = torch.zeros(n, model.n_expression)
    small = torch.rand(n, len(fitted), generator=g) * cfg["expression_floor"]
    active = torch.rand(n, len(fitted), generator=g) < cfg["expression_active"]
    expr[:, fitted] = torch.where(active, torch.rand(n, len(fitted), generator=g), small)
    jaw = torch.zeros(n, 3)
    jaw[:, 0] = (torch.rand(n, generator=g) < 0.5) * torch.rand(n, generator=g) * cfg["jaw_max"]
    lim = torch.tensor([cfg["pitch_deg"], cfg["yaw_deg"], cfg["roll_deg"]]).deg2rad()
    rot = (torch.rand(n, 3, generator=g) * 2 - 1) * lim
    return {"shape": shape, "expression": expr, "jaw": jaw, "global_rot": rot}


def landmarks_of(model, params: dict, embedding) -> torch.Tensor:
    """(n, N, 2) the landmarks' x, y in the model frame (orthographic view along -z)."""
    from headsmith.headmodel.base import HeadPose

    n = params["shape"].shape[0]
    pose = HeadPose(params["global_rot"], torch.zeros(n, 3), params["jaw"], torch.zeros(n, 3), torch.zeros(n, 3))
    with torch.no_grad():
        return model.forward_landmarks(params["shape"], params["expression"], pose, embedding=embedding)[..., :2]


def targets(params: dict, fitted: list[int]) -> torch.Tensor:
    """The network's output vector, laid out as output_layout says."""
    return torch.cat([params["expression"][:, fitted], params["jaw"][:, :1], params["global_rot"]], 1)


def make_dataset(model, cfg: dict, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (normalised points (n, N*2), targets (n, D)), made in batches of 4096."""
    emb = model.landmark_set("mediapipe478")
    fitted = fitted_expressions(model.expression_names)
    g = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    for i in range(0, n, 4096):
        p = sample_parameters(model, min(4096, n - i), g, cfg)
        xs.append(landmarks_of(model, p, emb).float())
        ys.append(targets(p, fitted))
    return torch.cat(xs), torch.cat(ys)


class InitNet(torch.nn.Module):
    def __init__(self, n_in: int, n_out: int, width: int):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(n_in, width), torch.nn.GELU(), torch.nn.Linear(width, width),
                                       torch.nn.GELU(), torch.nn.Linear(width, width), torch.nn.GELU(),
                                       torch.nn.Linear(width, n_out))

    def forward(self, x):
        return self.net(x)


def output_weights(cfg: dict, n_fitted: int) -> torch.Tensor:
    w = cfg["loss_weights"]
    return torch.cat([torch.full((n_fitted,), w["expression"]), torch.full((1,), w["jaw"]),
                      torch.full((3,), w["rotation"])])


def noisy(points: torch.Tensor, cfg: dict, g: torch.Generator) -> torch.Tensor:
    """Detector-like noise: each point moved by Gaussian noise of cfg['noise'] times the spread
    (standard deviation) of the face's points, then normalised as at inference."""
    x = points + torch.randn(points.shape, generator=g) * cfg["noise"] * points.std(dim=(1, 2), keepdim=True)
    return normalise_points(x).flatten(1)


def train(cfg: dict, run: Path, log=print, model=None) -> dict:
    """Train on a fixed synthetic set (fresh noise every step), hold out the last 5 %.
    -> {net, record (config, seed, losses, held-out errors), n_points}."""
    from headsmith.headmodel import OpenHead

    torch.manual_seed(cfg["seed"])
    model = model or OpenHead()
    t0 = time.perf_counter()
    pts, y = make_dataset(model, cfg, cfg["dataset_size"], cfg["seed"])
    n_hold = len(y) // 20
    fitted = fitted_expressions(model.expression_names)
    net = InitNet(pts.shape[1] * 2, y.shape[1], cfg["width"])
    opt = torch.optim.AdamW(net.parameters(), lr=cfg["lr"], weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg["lr"], total_steps=cfg["steps"])
    w = output_weights(cfg, len(fitted))
    g = torch.Generator().manual_seed(cfg["seed"] + 1)
    history = []
    for step in range(cfg["steps"]):
        idx = torch.randint(0, len(y) - n_hold, (cfg["batch"],), generator=g)
        loss = (w * (net(noisy(pts[idx], cfg, g)) - y[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history.append(float(loss))
        if step % 500 == 0 or step == cfg["steps"] - 1:
            log(f"step {step}: loss {np.mean(history[-100:]):.4f}")
    record = {"config": cfg, "seed": cfg["seed"], "seconds": time.perf_counter() - t0,
              "first_loss": history[0], "first_loss_mean_first100": float(np.mean(history[:100])),
              "final_loss_mean_last100": float(np.mean(history[-100:])),
              **heldout(net, pts[-n_hold:], y[-n_hold:], cfg, fitted)}
    run.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), run / "init_net.pt")
    return {"net": net, "record": record, "n_points": pts.shape[1]}


def heldout(net, pts, y, cfg, fitted) -> dict:
    """Errors on held-out heads (noisy points), against guessing the mean (zeros)."""
    with torch.no_grad():
        pred = net(noisy(pts, cfg, torch.Generator().manual_seed(7)))
    out = {}
    for name, sl in output_layout(len(fitted)).items():
        e = (pred[:, sl] - y[:, sl]).pow(2).mean().sqrt()
        out[f"heldout_rmse_{name}"] = float(e)
        out[f"heldout_rmse_{name}_of_mean_guess"] = float(y[:, sl].pow(2).mean().sqrt())
    return out


def export(net: InitNet, n_points: int, folder: Path, record: dict) -> None:
    """ONNX (input `points` (B, N*2) normalised, output `params` (B, D)) and its record JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    net.eval()
    torch.onnx.export(net, torch.zeros(1, n_points * 2), folder / "openhead_init.onnx", input_names=["points"],
                      output_names=["params"], dynamic_axes={"points": {0: "batch"}, "params": {0: "batch"}},
                      opset_version=17, dynamo=False)
    (folder / "openhead_init.json").write_text(json.dumps(record, indent=1))


def add_arguments(d) -> None:
    """`headsmith-train init`'s options."""
    d.add_argument("--config", type=Path, default=Path(__file__).parent / "configs" / "openhead_init.json")
    d.add_argument("--run", type=Path, default=Path("runs/init"))
    d.add_argument("--export", type=Path, help="write openhead_init.onnx and its record here (e.g. assets/init)")


def run(a, command: str) -> int:
    """`headsmith-train init` with parsed options (about 1.5 minutes on 2 CPU cores)."""
    cfg = json.loads(a.config.read_text())
    res = train(cfg, a.run)
    record = {"command": command, **res["record"]}
    if a.export:
        export(res["net"], res["n_points"], a.export, record)
    print(json.dumps(record, indent=1))
    return 0
