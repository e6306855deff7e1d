"""A dense landmarker for OpenHead's own points: MediaPipe's face mesh V2 fine-tuned on renders of
OpenHead (landmark_renders.py) to put each of its 468 points where OpenHead's embedding of that
point lies on the true head, as Wood et al. 2022 trained theirs on renders of their own model.

    headsmith-train landmark-renders --out DATA --people 300 --per-person 8
    headsmith-train landmarks --data DATA --run runs/landmarks [--resume] [--export assets/mediapipe]
    torchrun --nproc-per-node 2 -m headsmith_training.cli landmarks --data DATA --run-dir runs/landmarks

Each photo is framed as the product frames it (detect/mediapipe478.py: the first face mesh on a
square around the face, then the crop upright by the eye corners), then the crop is jittered
(shift, scale, turn) and its look changed (exposure, colour, blur, noise, JPEG) every time it is
drawn. The loss: the 468 points' x, y against the truth (L1, crop pixels); the original model's
depth, iris points, face-presence logit and unused third output kept as the original gives
them (a frozen copy), so only the placement is taught. A share of the people (config:
heldout_share) is never trained on: the record gives the original's and the fine-tuned model's
error on them (mean point distance over the true inter-ocular distance). The export is the same ONNX graph with the new weights
(`face_landmarks_openhead.onnx`) and its record. Under torchrun each process takes its share of
the global batch, each photo with its own random draws, so the processes train what one would."""
from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from .distributed import Dist
from .face_folders import DataError
from .occluders import occlude
from .onnx_graph import OnnxGraph, write_weights
from .run_files import load_checkpoint, record_start, train_steps

SOURCE = Path(__file__).resolve().parents[1] / "assets" / "mediapipe" / "face_landmarks_detector.onnx"
EXPORT_NAME = "face_landmarks_openhead"
N_MESH, CROP = 468, 256


def load_renders(root: Path) -> dict:
    """-> {images (N, S, S, 3) uint8, points (N, 468, 2) image px, person (N,)} from ROOT's shards."""
    shards = sorted(Path(root).glob("shard_*.npz"))
    if not shards:
        raise DataError(f"{root} holds no shard_*.npz: make them with `headsmith-train landmark-renders --out {root}`")
    images, points, person = [], [], []
    for k, s in enumerate(shards):
        with np.load(s) as d:
            images.append(d["images"]), points.append(d["points"])
            person += [k] * len(d["images"])
    return {"images": np.concatenate(images), "points": np.concatenate(points).astype(np.float32),
            "person": np.array(person)}


def frame_rois(images: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The product's crop of each photo (centre x, y, side, angle) as MediaPipe478.landmarks makes
    it, the first pass framed from a square around the true points in place of dlib's box."""
    from headsmith.detect.mediapipe478 import ROI_SCALE, MediaPipe478, Roi

    det = MediaPipe478()
    out = []
    for img, p in zip(images, points):
        lo, hi = p.min(0), p.max(0)
        r = det.mesh_roi(img, Roi((lo + hi) / 2, ROI_SCALE * float(max(hi - lo)), 0.0))
        out.append([*r.centre, r.side, r.angle])
    return np.array(out, np.float32)


def _look(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """crop (S, S, 3) uint8 -> float [0, 1] with a random exposure, colour cast, blur, noise and
    JPEG compression, sometimes grey."""
    x = crop
    if rng.random() < 0.3:
        x = cv2.GaussianBlur(x, (0, 0), float(rng.uniform(0.4, 1.5)))
    if rng.random() < 0.3:
        ok, enc = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        x = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    y = x.astype(np.float32) / 255
    y = y ** float(np.exp(rng.normal(0, 0.25)))
    y = y * rng.uniform(0.7, 1.3) * rng.uniform(0.9, 1.1, 3) + rng.uniform(-0.08, 0.08)
    if rng.random() < 0.1:
        y = np.repeat(y.mean(-1, keepdims=True), 3, -1)
    if rng.random() < 0.3:
        y = y + rng.normal(0, rng.uniform(0.005, 0.03), y.shape)
    return np.clip(y, 0, 1).astype(np.float32)


def make_batch(data: dict, rois: np.ndarray, idx: np.ndarray, rngs: list | None,
               jitter: dict, occluders: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (crops (B, 256, 256, 3) in [0, 1], true points (B, 468, 2) crop px). rngs: one generator
    per photo for its jitter, occluders (drawn over that share of the crops: occluders.py) and
    look (so a batch split among processes is drawn as one process draws it), or None for the
    product's crop as it is, unaltered."""
    from headsmith.detect.mediapipe478 import Roi, warp

    xs, ys = [], []
    for k, i in enumerate(idx):
        rng = None if rngs is None else rngs[k]
        cx, cy, side, angle = rois[i]
        if rng is not None:
            cx, cy = np.array([cx, cy]) + rng.normal(0, jitter["shift"], 2) * side
            side *= float(np.exp(rng.normal(0, jitter["scale"])))
            angle += float(rng.normal(0, jitter["angle"]))
        crop, M = warp(data["images"][i], Roi(np.array([cx, cy]), float(side), float(angle)), CROP)
        ys.append(data["points"][i] @ M[:, :2].T + M[:, 2])
        if rng is None:
            xs.append(crop[0])
            continue
        xs.append(_look(occlude((crop[0] * 255).astype(np.uint8), ys[-1], rng, occluders), rng))
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys).astype(np.float32))


def _split(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mesh output (B, 1, 1, 1434) -> (the 468 points' x, y (B, 468, 2), everything else (B, 498))."""
    p = out.reshape(out.shape[0], -1, 3)
    return p[:, :N_MESH, :2], torch.cat([p[:, :N_MESH, 2], p[:, N_MESH:].flatten(1)], 1)


def point_error_iod(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """(B,) mean point distance over the true inter-ocular distance (outer eye corners)."""
    from headsmith.detect.point_sets import MEDIAPIPE478

    a, b = MEDIAPIPE478.outer_eye_corners
    return (pred - true).norm(dim=-1).mean(-1) / (true[:, a] - true[:, b]).norm(dim=-1)


def evaluate(net: OnnxGraph, teacher: OnnxGraph, data: dict, rois: np.ndarray, held: np.ndarray) -> dict:
    """Held-out people, the product's crop unaltered: median error of the original and the
    fine-tuned model (fraction of the inter-ocular distance), overall and for |yaw| > 25."""
    errs = {"original": [], "trained": []}
    with torch.no_grad():
        for k in range(0, len(held), 32):
            x, y = make_batch(data, rois, held[k:k + 32], None, {})
            errs["original"].append(point_error_iod(_split(teacher(x)[0])[0], y))
            errs["trained"].append(point_error_iod(_split(net(x)[0])[0], y))
    return {f"heldout_error_iod_{k}": float(torch.cat(v).median()) for k, v in errs.items()} | \
        {"heldout_photos": int(len(held))}


def train(cfg: dict, data_root: Path, run: Path, resume: bool, log=print, stop_at: int | None = None,
          max_seconds: float | None = None, start_from: Path | None = None) -> dict:
    """Fine-tune (or resume) in `run`, from Google's weights or from `start_from` (an earlier
    export of this graph, to train further); -> {net, teacher, data, rois, held, step, history}."""
    dist = Dist.from_env()
    torch.manual_seed(cfg["seed"])
    data = load_renders(data_root)
    log(f"{len(data['images'])} photos of {data['person'].max() + 1} people; framing them as the product does")
    rois = frame_rois(data["images"], data["points"])
    people = np.random.default_rng(cfg["seed"]).permutation(data["person"].max() + 1)
    held_people = people[:max(1, int(len(people) * cfg["heldout_share"]))]
    held = np.flatnonzero(np.isin(data["person"], held_people))
    train_idx = np.flatnonzero(~np.isin(data["person"], held_people))
    net, teacher = OnnxGraph(start_from or SOURCE), OnnxGraph(SOURCE).requires_grad_(False)
    run.mkdir(parents=True, exist_ok=True)
    record_start(run, cfg, resume, dist)
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    step, history = load_checkpoint(run, net, opt, dist.device, log) if resume else (0, [])
    ddp = dist.wrap(net)

    def step_terms(step: int) -> dict:
        rng = np.random.default_rng([cfg["seed"], step])
        for g in opt.param_groups:      # warm up, then cosine to zero; a function of the step (resumable)
            g["lr"] = cfg["lr"] * min(1.0, (step + 1) / cfg["warmup"]) * 0.5 * (1 + math.cos(math.pi * step / cfg["steps"]))
        chosen = rng.choice(train_idx, cfg["batch"])
        mine = dist.shard(np.arange(cfg["batch"]))            # this process's places in the global batch
        x, y = make_batch(data, rois, chosen[mine], [np.random.default_rng([cfg["seed"], step, int(k)]) for k in mine],
                          cfg["jitter"], cfg.get("occluders", 0.0))
        out = ddp(x)
        points, rest = _split(out[0])
        with torch.no_grad():
            t_out = teacher(x)
        point_l1 = (points - y).abs().mean()
        keep = (rest - _split(t_out[0])[1]).abs().mean()
        # the presence logit and the graph's unused third output, as the original gives them (every
        # parameter then takes part in the loss, as DDP requires)
        presence = sum((o - t).square().mean() for o, t in zip(out[1:], t_out[1:]))
        loss = point_l1 + cfg["weights"]["keep"] * keep + cfg["weights"]["presence"] * presence
        return {"loss": loss, "point_l1_px": point_l1, "keep_px": keep}

    step, history = train_steps(run, cfg, dist, net, opt, step, history, step_terms, log, stop_at, max_seconds)
    return {"net": net, "teacher": teacher, "data": data, "rois": rois, "held": held, "step": step,
            "history": history, "dist": dist}


def add_arguments(d) -> None:
    """`headsmith-train landmarks`' options."""
    d.add_argument("--data", type=Path, required=True, help="the renders (headsmith-train landmark-renders)")
    d.add_argument("--config", type=Path, default=Path(__file__).parent / "configs" / "openhead_landmarks.json")
    # --run-dir: under torchrun, whose own parser takes "--run" for its "--run-path"
    d.add_argument("--run", "--run-dir", dest="run", type=Path, default=Path("runs/landmarks"))
    d.add_argument("--resume", action="store_true", help="continue RUN from its checkpoint")
    d.add_argument("--stop-at", type=int, help="stop (with a checkpoint) at this step; --resume continues")
    d.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this long; --resume continues")
    d.add_argument("--start-from", type=Path, help=f"start from these weights (an earlier {EXPORT_NAME}.onnx) "
                   "instead of Google's, to train further")
    d.add_argument("--export", type=Path, help=f"write {EXPORT_NAME}.onnx and its record here (e.g. assets/mediapipe)")


def run(a, command: str) -> int:
    """`headsmith-train landmarks` with parsed options."""
    cfg = json.loads(a.config.read_text())
    t0 = time.perf_counter()
    res = train(cfg, a.data, a.run, a.resume, stop_at=a.stop_at,
                max_seconds=None if a.max_minutes is None else a.max_minutes * 60, start_from=a.start_from)
    res["dist"].close()
    if not res["dist"].is_main:
        return 0
    hist = res["history"]
    record = {"command": command, "started_from": str(a.start_from or SOURCE.name), "config": cfg, "seed": cfg["seed"],
              "steps_done": res["step"],
              "seconds_this_start": time.perf_counter() - t0, "photos": len(res["data"]["images"]),
              "first_loss_mean_first20": float(np.mean([h[1] for h in hist[:20]])) if hist else None,
              "final_loss_mean_last20": float(np.mean([h[1] for h in hist[-20:]])) if hist else None,
              **evaluate(res["net"], res["teacher"], res["data"], res["rois"], res["held"])}
    renders = Path(a.data) / "renders.json"
    record["renders"] = json.loads(renders.read_text()) if renders.is_file() else None
    if a.export:
        if res["step"] < cfg["steps"]:
            raise DataError(f"the run stopped at step {res['step']} of {cfg['steps']}: resume it before exporting")
        onnx_path = a.export / f"{EXPORT_NAME}.onnx"
        write_weights(res["net"], SOURCE, onnx_path)
        record["source_onnx_sha256"] = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
        record["onnx_sha256"] = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
        (a.export / f"{EXPORT_NAME}.json").write_text(json.dumps(record, indent=1))
    print(json.dumps(record, indent=1))
    return 0
