"""The coarse encoder (DECA's E_coarse): a face crop -> the head model's identity, expression, jaw,
head rotation, camera, SH light and a mean skin colour, learned without 3D truth from
identity-grouped photo folders (face_folders.py), on one process or under torchrun.

    headsmith-train coarse --data ROOT --config training/configs/openhead_coarse.json --run runs/coarse
        [--resume] [--stop-at STEP] [--export DIR]
    torchrun --nproc-per-node 2 -m headsmith_training.cli coarse --data ROOT --run-dir runs/coarse ...

Losses (weights in the config), the reconstruction's own objective (fit.terms.FitState) with the
network's outputs in place of the fitted parameters: the dense landmarks (robust, per-point trust,
the face oval as silhouette points), eye and lip closure, a photometric term on the skin (the
projected head shaded by the predicted SH light and skin colour against the photo, clamped as in
the fit), DECA's shape consistency (each photo's landmarks again with the identity predicted from
another photo of the same person) and Gaussian / L1 priors. With a synthetic folder's truth.json
(synthetic_faces.py) a supervised term can be added (weights.supervised) and `evaluate` measures the
parameters against the truth. A batch is `people_per_batch` people x `images_per_person` photos,
drawn from the seed and the step (a resumed or differently distributed run draws the same).
Units: crops in pixels (x right, y down), rotations axis-angle radians in the model frame, the
camera DECA's (s, tx, ty) in NDC.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from headsmith.fit.coarse import FitSettings, Observation, unit_cameras
from headsmith.fit.terms import FitState, fitted_expressions

from .distributed import Dist
from .encoders import ImageEncoder, crops_tensor, export_onnx
from .face_folders import DataError, FaceCache, build_cache, load_cache
from .head_models import add_encoder_arguments, head_model
from .run_files import load_checkpoint, record_start, train_steps

N_LIGHT = 27


def coarse_encoder(n_shape: int, n_expression: int, width: int) -> ImageEncoder:
    """The coarse encoder's groups: identity, fitted ARKit weights, jaw opening, head rotation,
    camera, SH light, skin colour (decoded by `parameters`)."""
    return ImageEncoder({"shape": n_shape, "expression": n_expression, "jaw": 1, "rotation": 3, "camera": 3,
                         "light": N_LIGHT, "albedo": 3}, width)


def parameters(raw: dict, n_expression_all: int, fitted: list[int],
               expression_range: tuple[float, float] = (0.0, 1.0)) -> dict[str, torch.Tensor]:
    """The network's raw outputs as the head model's parameters: expressions within the model's
    range (ARKit weights in [0, 1], ~0.02 at a zero output; FLAME's components within +-3 standard
    deviations, 0 at zero), the jaw opening >= 0, the camera scale near 4.5 (a crop framed as the
    fit's), light around the default, skin colour in (0, 1). DecaCoarseEncoder inverts it."""
    from headsmith.render import default_light

    B = raw["shape"].shape[0]
    expr = raw["shape"].new_zeros(B, n_expression_all)
    lo, hi = expression_range
    expr[:, fitted] = torch.sigmoid(raw["expression"] - 4.0) if lo >= 0 else hi * torch.tanh(raw["expression"] / hi)
    jaw = torch.nn.functional.pad(torch.nn.functional.softplus(raw["jaw"] - 3.0), (0, 2))
    cam = torch.cat([4.5 * torch.exp(raw["camera"][:, :1]), raw["camera"][:, 1:] * 0.1], 1)
    light = default_light(B, device=raw["light"].device) + raw["light"].view(B, 9, 3)
    albedo = torch.sigmoid(raw["albedo"] - 0.5)
    return {"shape": raw["shape"], "expression": expr, "jaw": jaw, "global_rot": raw["rotation"],
            "camera": cam, "light": light, "albedo": albedo}


DECA_GROUPS = {"shape": 100, "albedo_code": 50, "expression": 50, "pose": 6, "camera": 3, "light": 27}   # E_flame's 236


def _atanh(y: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.log((1 + y) / (1 - y))        # (ONNX has no atanh, nor expm1 below)


class DecaCoarseEncoder(torch.nn.Module):
    """DECA's released E_flame (a FLAME user's own deca_model.tar) as the coarse encoder, to fine-tune:
    its 236 outputs re-expressed as the raw groups `parameters` decodes (so the same losses train
    it): FLAME's shape (the first n_shape) and expression as they are, the jaw's opening, the head
    rotation, DECA's camera and SH light; the mean skin colour at its neutral raw value. Input:
    the trainer's crops, resized to DECA's 224 pixels."""

    def __init__(self, deca_path: Path, n_shape: int, n_expression: int):
        super().__init__()
        from headsmith.wrinkles.deca_checkpoint import load_deca_checkpoint

        self.net = load_deca_checkpoint(deca_path).E_flame
        self.n_shape, self.n_expression = n_shape, n_expression
        self.sizes = {"shape": n_shape, "expression": n_expression, "jaw": 1, "rotation": 3, "camera": 3,
                      "light": N_LIGHT, "albedo": 3}         # what forward returns, as coarse_encoder's

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        from headsmith.detail.person import DECA_IMAGE_SIZE
        from headsmith.render import default_light

        x = torch.nn.functional.interpolate(images, size=(DECA_IMAGE_SIZE,) * 2, mode="bilinear", align_corners=False)
        g = dict(zip(DECA_GROUPS, torch.split(self.net(x), list(DECA_GROUPS.values()), 1)))
        B = x.shape[0]
        jaw_open = g["pose"][:, 3:4].clamp(min=1e-4)
        expr = torch.nn.functional.pad(g["expression"], (0, max(self.n_expression - 50, 0)))[:, :self.n_expression]
        return {"shape": g["shape"][:, :self.n_shape], "expression": 3.0 * _atanh((expr / 3.0).clamp(-0.999, 0.999)),
                "jaw": torch.log(torch.exp(jaw_open) - 1) + 3.0, "rotation": g["pose"][:, :3],
                "camera": torch.cat([torch.log(g["camera"][:, :1].clamp(min=1e-3) / 4.5), g["camera"][:, 1:] / 0.1], 1),
                "light": g["light"] - default_light(B, device=x.device).reshape(B, -1), "albedo": x.new_zeros(B, 3)}


def batch_indices(cache: FaceCache, cfg: dict, step: int) -> np.ndarray:
    """The global batch of a step: people_per_batch people, images_per_person photos of each,
    person-major; a function of the seed and the step alone."""
    rng = np.random.default_rng(cfg["seed"] * 1_000_003 + step)
    people = rng.choice(len(cache.people), cfg["people_per_batch"], replace=len(cache.people) < cfg["people_per_batch"])
    k = cfg["images_per_person"]
    return np.concatenate([rng.choice(cache.images_of(p), k, replace=len(cache.images_of(p)) < k) for p in people])


def _observations(cache: FaceCache, idx: np.ndarray) -> list[Observation]:
    return [Observation(cache.crops[i], cache.landmarks[i], None, "mediapipe478", cache.seen[i]) for i in idx]


def losses(model, net, cache: FaceCache, idx: np.ndarray, cfg: dict, device, truth=None) -> dict:
    """The weighted terms of one (local) batch; 'loss' is their sum."""
    obs = _observations(cache, idx)
    settings = FitSettings(device=str(device))
    st = FitState.start(model, obs, settings, device, unit_cameras)
    images = crops_tensor(cache.crops[idx], device)
    fitted = fitted_expressions(model.expression_names)
    p = parameters(net(images), model.n_expression, fitted, model.expression_range)
    st = dataclasses.replace(st, **{k: p[k] for k in ("shape", "expression", "jaw", "global_rot", "camera")})
    lmk, eye, lip, _ = st.landmark_terms(st.landmarks_ndc())
    k = cfg["images_per_person"]
    swapped = p["shape"].view(-1, k, p["shape"].shape[1]).roll(1, dims=1).reshape(p["shape"].shape)
    other = dataclasses.replace(st, shape=swapped)      # each photo with another photo's identity
    lmk_swap = other.landmark_terms(other.landmarks_ndc())[0]
    w = cfg["weights"]
    terms = {"landmark": w["landmark"] * lmk, "eye": w["eye"] * eye, "lip": w["lip"] * lip,
             "shape_consistency": w["shape_consistency"] * lmk_swap,
             "prior": (w["shape_prior"] * p["shape"].pow(2).sum(1).mean() + w["expression_prior"]
                       * p["expression"].abs().sum(1).mean() + w["jaw_prior"] * p["jaw"].pow(2).sum(1).mean())}
    if w.get("photometric", 0) > 0:
        terms["photometric"] = w["photometric"] * photometric(st, obs, p, cfg["photo_size"])
    if truth is not None and w.get("supervised", 0) > 0:
        terms["supervised"] = w["supervised"] * supervised(p, truth, idx, fitted)
    terms["loss"] = sum(terms.values())
    return terms


def photometric(st: FitState, obs: list, p: dict, size: int) -> torch.Tensor:
    """Clamped L1 between the photo and the head shaded by the predicted light and skin colour, at
    the skin pixels (fit.stages.SkinRender's visibility), as the fit's photometric stage; the mean
    over each photo's pixels, then over the photos."""
    from headsmith.fit.stages import SkinRender
    from headsmith.render import OrthographicCamera

    sr = SkinRender(st, obs, None, size)
    vis, target = sr.visibility()
    if target.shape[0] == 0:                  # no skin in view (e.g. an untrained camera): no term
        return p["albedo"].sum() * 0.0
    r = sr.renderer.shade_pixels(sr.posed()[0], OrthographicCamera(st.camera), (size, size), light=p["light"],
                                 visibility=vis)
    image = r.shading * p["albedo"][vis.pixel_batch]
    resid = torch.clamp((image - target).abs(), max=st.settings.photo_clamp).mean(-1)
    # a mean per photo, then over the photos: a sharded batch's gradient is then the whole batch's
    B = st.n_photos
    total = resid.new_zeros(B).index_add(0, vis.pixel_batch, resid)
    count = resid.new_zeros(B).index_add(0, vis.pixel_batch, torch.ones_like(resid))
    return (total / count.clamp(min=1)).mean()


def truth_table(root: Path, cache: FaceCache, model) -> dict | None:
    """A synthetic folder's truth (synthetic_faces.py) as arrays in the cache's photo order."""
    path = Path(root) / "truth.json"
    if not path.is_file():
        return None
    t = json.loads(path.read_text())
    person = [t[Path(p).parent.name] for p in cache.paths]
    photo = [t[Path(p).parent.name]["photos"][Path(p).name] for p in cache.paths]
    table = lambda rows: torch.tensor(rows, dtype=torch.float32)  # noqa: E731
    return {"shape": table([q["shape"] for q in person]), "expression": table([q["expression"] for q in photo]),
            "jaw": table([q["jaw"] for q in photo]), "global_rot": table([q["rotation"] for q in photo])}


def supervised(p: dict, truth: dict, idx: np.ndarray, fitted: list[int]) -> torch.Tensor:
    """Squared error to the known parameters (identity coefficients are unit-variance)."""
    i = torch.as_tensor(idx)
    n = p["shape"].shape[1]
    return ((p["shape"] - truth["shape"][i, :n].to(p["shape"])).pow(2).mean()
            + 10 * (p["global_rot"] - truth["global_rot"][i].to(p["shape"])).pow(2).mean()
            + 10 * (p["jaw"][:, 0] - truth["jaw"][i].to(p["shape"])).pow(2).mean()
            + (p["expression"][:, fitted] - truth["expression"][i][:, fitted].to(p["shape"])).pow(2).mean())


def _cache(data: Path, run: Path, cfg: dict, dist: Dist, log) -> FaceCache:
    """The run's landmark cache (RUN/faces.npz), made once by rank 0 and read by every process."""
    path = run / "faces.npz"
    if dist.is_main and not path.is_file():
        build_cache(data, path, cfg["size"], cfg["images_per_person"], log)
    dist.barrier()
    return load_cache(path)


def make_encoder(cfg: dict, model, deca: Path | None) -> torch.nn.Module:
    """The coarse encoder for this head model: DECA's E_flame from the user's deca_model.tar (FLAME
    heads, fine-tuning) or a fresh ImageEncoder."""
    n_fitted = len(fitted_expressions(model.expression_names))
    if deca is not None:
        if model.name != "flame":
            raise DataError("--deca initialises the encoder from DECA's E_flame, which predicts FLAME's "
                            "parameters: use it with --head flame")
        return DecaCoarseEncoder(deca, min(cfg["n_shape"], 100), n_fitted)
    return coarse_encoder(cfg["n_shape"], n_fitted, cfg["width"])


def train(cfg: dict, data: Path, run: Path, resume: bool, model=None, log=print,
          stop_at: int | None = None, deca: Path | None = None) -> dict:
    """Train (or resume) in `run`; under torchrun every process calls this (training.distributed).
    model: the head model (OpenHead when None); deca: initialise from DECA's E_flame (FLAME)."""
    from headsmith.headmodel import OpenHead

    dist = Dist.from_env()
    if cfg["people_per_batch"] % dist.world:
        raise DataError(f"people_per_batch ({cfg['people_per_batch']}) must divide among the {dist.world} processes")
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg["seed"])
    model = (model or OpenHead()).to(dist.device)
    record_start(run, cfg, resume, dist)
    cache = _cache(data, run, cfg, dist, log)
    truth = truth_table(data, cache, model)
    net = make_encoder(cfg, model, deca).to(dist.device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    step, history = load_checkpoint(run, net, opt, dist.device, log) if resume else (0, [])
    ddp = dist.wrap(net)
    net.train()

    def step_terms(step: int) -> dict:
        idx = batch_indices(cache, cfg, step)
        k = len(idx) // dist.world
        return losses(model, ddp, cache, idx[dist.rank * k:(dist.rank + 1) * k], cfg, dist.device, truth)

    step, history = train_steps(run, cfg, dist, net, opt, step, history, step_terms, log, stop_at)
    net.eval()
    return {"net": net, "step": step, "history": history, "dist": dist, "cache": cache, "truth": truth,
            "model": model}


def evaluate(net: ImageEncoder, model, cache: FaceCache, truth: dict) -> dict:
    """Against a synthetic folder's truth, over all its photos: RMSE of the identity coefficients
    (the predicted ones), head rotation (degrees), jaw (radians) and the fitted ARKit weights, and
    the same for guessing the prior's mean (zeros); lower than the mean's is learning."""
    fitted = fitted_expressions(model.expression_names)
    with torch.no_grad():
        ps = [parameters(net(crops_tensor(cache.crops[i:i + 32])), model.n_expression, fitted, model.expression_range)
              for i in range(0, len(cache.crops), 32)]
    p = {k: torch.cat([q[k] for q in ps]) for k in ps[0]}
    n = p["shape"].shape[1]
    pairs = {"shape": (p["shape"], truth["shape"][:, :n]), "rotation_deg": (p["global_rot"].rad2deg(),
             truth["global_rot"].rad2deg()), "jaw": (p["jaw"][:, 0], truth["jaw"]),
             "expression": (p["expression"][:, fitted], truth["expression"][:, fitted])}
    out = {}
    for name, (pred, true) in pairs.items():
        out[f"rmse_{name}"] = float((pred - true).pow(2).mean().sqrt())
        out[f"rmse_{name}_of_mean_guess"] = float(true.pow(2).mean().sqrt())
    return out


def export(net: ImageEncoder, folder: Path, record: dict, size: int) -> None:
    """The encoder as ONNX (encoders.export_onnx; raw outputs, decoded by `parameters`), its state
    dict and the run's record."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), folder / "coarse_encoder.pt")
    export_onnx(net, folder / "coarse_encoder.onnx", size)
    (folder / "coarse_encoder.json").write_text(json.dumps({**record, "outputs": net.sizes}, indent=1))


def add_arguments(d) -> None:
    """`headsmith-train coarse`'s options."""
    add_encoder_arguments(d, "openhead_coarse.json", "runs/coarse")
    d.add_argument("--heldout", type=Path, help="a synthetic folder of other people (make-synthetic) to "
                                                "measure the encoder on after training")


def run(a, command: str) -> int:
    """`headsmith-train coarse` with parsed options."""
    cfg = json.loads(a.config.read_text())
    t0 = time.perf_counter()
    res = train(cfg, a.data, a.run, a.resume, head_model(a), stop_at=a.stop_at, deca=a.deca)
    res["dist"].close()
    if not res["dist"].is_main:
        return 0
    hist = res["history"]
    record = {"command": command, "head_model": res["model"].name, "config": cfg, "seed": cfg["seed"], "steps_done": res["step"],
              "seconds": time.perf_counter() - t0, "data": res["cache"].report | {"skipped": len(res["cache"].report["skipped"])},
              "first_loss": hist[0][1] if hist else None,
              "final_loss_mean_last20": float(np.mean([h[1] for h in hist[-20:]])) if hist else None}
    if res["truth"] is not None and res["model"].name == "openhead":     # the synthetic people are OpenHead's
        record["training_photos"] = evaluate(res["net"], res["model"], res["cache"], res["truth"])
    if a.heldout:
        cache = build_cache(a.heldout, a.run / "heldout.npz", cfg["size"], 1)
        truth = truth_table(a.heldout, cache, res["model"])
        if truth is None:
            raise DataError(f"{a.heldout}: no truth.json; --heldout takes a folder made by make-synthetic")
        record["heldout_photos"] = evaluate(res["net"], res["model"], cache, truth)
    if a.export:
        export(res["net"], a.export, record, cfg["size"])
    print(json.dumps(record, indent=1))
    return 0
