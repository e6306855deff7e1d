"""The detail encoder (DECA's E_detail): a face crop -> the OpenHead detail decoder's person code,
learned from identity-grouped photo folders without 3D truth, on one process or under torchrun.

    headsmith-train detail-encoder --data ROOT --config training/configs/openhead_detail_encoder.json
        --run runs/detail_encoder [--resume] [--stop-at STEP] [--export DIR]

Each photo is first reconstructed once at fast quality (the coarse fit and the albedo unwrap), and
its shape-from-shading problem in UV space (detail.static.SfsProblem: the posed surface, the light,
the low-pass albedo, the photo's shading, the texel trust) is kept in the run folder, so training
touches no renderer. Losses (weights in the config), the person-detail fit's own objective
(detail.person) with the network's code in place of the fitted one:
- photometric: the detail the decoder makes from the code at the photo's expression and jaw,
  shaded, against the photo (SfsProblem.photo_loss);
- detail consistency (DECA): the same with the code predicted from another photo of that person,
  so the code holds what belongs to the person, not the photo;
- regularisers: the smoothness and soft symmetry of the decoded maps, and the code's prior
  (detail.person.PERSON_PRIOR).
The decoder stays frozen (it is trained by `headsmith-train detail`). FLAME users (`--head flame`
with their FLAME files and `--deca`) fine-tune DECA's E_detail against DECA's D_detail the same way.
Units: displacement metres.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from headsmith.detail.person import PERSON_DIMS, PERSON_PRIOR, decode_torch
from headsmith.detail.static import SfsProblem
from headsmith.wrinkles.texture_decoder import CODE_DIM

from .distributed import Dist
from .encoders import ImageEncoder, crops_tensor, export_onnx
from .face_folders import DataError, FaceCache, build_cache, load_cache
from .head_models import add_encoder_arguments, head_model
from .run_files import load_checkpoint, record_start, train_steps
from .train_coarse import batch_indices

PER_PHOTO = ("P", "N", "light", "A_smooth", "target", "W", "support")


def sfs_problems(model, cache: FaceCache, size: int, texture: int, log=print) -> dict:
    """Each cached photo's SfS problem at `size` texels and its fitted expression (52) and jaw (3):
    -> arrays stacked over the photos (PER_PHOTO fields, 'expression', 'jaw')."""
    from tqdm import tqdm

    from headsmith.detail.person import ALBEDO_LOWPASS
    from headsmith.detail.static import prepare_sfs
    from headsmith.fit import FitSettings, Observation, fit_coarse
    from headsmith.texture import unwrap_albedo

    rows = {k: [] for k in PER_PHOTO + ("expression", "jaw")}
    for i in tqdm(range(len(cache.crops)), desc="coarse fits", unit="photo", mininterval=2.0):
        obs = Observation(cache.crops[i], cache.landmarks[i], None, "mediapipe478", cache.seen[i])
        fit = fit_coarse(model, [obs], FitSettings(quality="fast"))
        with torch.no_grad():
            posed = model(shape=fit.shape, expression=fit.expression, pose=fit.pose).vertices
        tex = unwrap_albedo(model, posed, fit.camera, fit.light, [cache.crops[i]], texture)
        prob = prepare_sfs(model, posed, fit.light, tex.albedo, tex.observed, size, ALBEDO_LOWPASS)
        for k in PER_PHOTO:
            x = getattr(prob, k)
            rows[k].append((x[0] if x.shape[0] == 1 else x).numpy())     # without the batch of one
        rows["expression"].append(fit.expression[0].numpy())
        rows["jaw"].append(fit.pose.jaw[0].numpy())
    log(f"SfS problems of {len(cache.crops)} photos at {size} texels")
    return {k: np.stack(v).astype(np.float32) for k, v in rows.items()}


def batch_problem(model, arrays: dict, idx: np.ndarray, size: int, device) -> SfsProblem:
    """The photos idx as one batched SfsProblem (the layout's mask and mirror are the model's)."""
    from headsmith.uvspace import uv_support

    sup = uv_support(model, size)
    t = {k: torch.as_tensor(arrays[k][idx], device=device) for k in PER_PHOTO}
    return SfsProblem(size, sup.raster.mask.to(device), t["P"], t["N"], t["light"], t["A_smooth"], t["target"],
                      t["W"], t["support"], sup.mirror_grid.expand(len(idx), -1, -1, -1).to(device),
                      sup.has_mirror.float().to(device))


def person_code(raw: torch.Tensor) -> torch.Tensor:
    """The encoder's raw output (B, PERSON_DIMS) -> the decoder's code (B, CODE_DIM): the person dims
    as sigmoids about the prior (zero raw output = PERSON_PRIOR), the rest zero."""
    prior = torch.logit(torch.tensor([PERSON_PRIOR], device=raw.device))
    return torch.cat([torch.sigmoid(prior + raw), raw.new_zeros(raw.shape[0], CODE_DIM - PERSON_DIMS)], 1)


class PersonCodeEncoder(torch.nn.Module):
    """The OpenHead detail encoder: an ImageEncoder for the person dims -> {"code": the decoder's
    code (person_code), "raw": the network's output (the prior pulls it to zero)}."""

    def __init__(self, width: int):
        super().__init__()
        self.net = ImageEncoder({"code": PERSON_DIMS}, width)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        raw = self.net(images)["code"]
        return {"code": person_code(raw), "raw": raw}


class DecaDetailEncoder(torch.nn.Module):
    """DECA's released E_detail (a FLAME user's deca_model.tar), to fine-tune: the crops resized to
    DECA's 224 pixels -> {"code": its 128-d detail code, "raw": the same}."""

    def __init__(self, deca_path: Path):
        super().__init__()
        from headsmith.wrinkles.deca_checkpoint import load_deca_checkpoint

        self.net = load_deca_checkpoint(deca_path).E_detail

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        from headsmith.detail.person import DECA_IMAGE_SIZE

        x = torch.nn.functional.interpolate(images, size=(DECA_IMAGE_SIZE,) * 2, mode="bilinear", align_corners=False)
        code = self.net(x)
        return {"code": code, "raw": code}


def encoder_and_decoder(cfg: dict, model, deca: Path | None) -> tuple[torch.nn.Module, torch.nn.Module, int]:
    """-> (encoder, frozen decoder, expression components the decoder reads): OpenHead's person
    code and detail decoder, or for FLAME DECA's E_detail and D_detail from the user's deca_model.tar."""
    from headsmith.wrinkles.deca_checkpoint import load_deca_checkpoint
    from headsmith.wrinkles.networks import DECA_EXPRESSION
    from headsmith.wrinkles.texture_decoder import load_openhead_decoder

    if model.name == "flame":
        if deca is None:
            raise DataError("FLAME heads train DECA's detail encoder: give your deca_model.tar with --deca")
        return DecaDetailEncoder(deca), load_deca_checkpoint(deca).D_detail, DECA_EXPRESSION
    if deca is not None:
        raise DataError("--deca holds DECA's FLAME networks: use it with --head flame")
    decoder = load_openhead_decoder(n_expression=model.n_expression)
    if decoder is None:
        raise DataError("the OpenHead detail decoder is missing (assets/detail); train it first: headsmith-train detail")
    return PersonCodeEncoder(cfg["width"]), decoder, model.n_expression


def _at(maps: torch.Tensor, size: int) -> torch.Tensor:
    """(B, S0, S0) decoded maps (metres) -> (B, size, size), texel means (the SfS problems' size)."""
    if maps.shape[-1] == size:
        return maps
    return torch.nn.functional.interpolate(maps[:, None], size=(size, size), mode="area")[:, 0]


def true_codes(data: Path, cache: FaceCache) -> torch.Tensor | None:
    """A synthetic folder's person codes (truth.json's detail_code, (N, PERSON_DIMS)) in the cache's
    photo order; None for a folder of real photos."""
    path = Path(data) / "truth.json"
    if not path.is_file():
        return None
    t = json.loads(path.read_text())
    return torch.tensor([t[Path(p).parent.name]["detail_code"] for p in cache.paths], dtype=torch.float32)


def losses(decoder, net, cache: FaceCache, arrays: dict, idx: np.ndarray, cfg: dict, model, device,
           truth: torch.Tensor | None = None, n_expression: int = 52) -> dict:
    """The weighted terms of one (local) batch; 'loss' is their sum. With a synthetic folder's
    true codes and a `supervised` weight, their squared error joins (pre-training).
    n_expression: the expression components the decoder reads (the first ones)."""
    prob = batch_problem(model, arrays, idx, cfg["uv_size"], device)
    e = torch.as_tensor(arrays["expression"][idx][:, :n_expression], device=device)
    j = torch.as_tensor(arrays["jaw"][idx], device=device)
    out = net(crops_tensor(cache.crops[idx], device))
    code, raw = out["code"], out["raw"]
    k = cfg["images_per_person"]
    other = code.view(-1, k, code.shape[1]).roll(1, dims=1).reshape(code.shape)
    D = _at(decode_torch(decoder, code, e, j), cfg["uv_size"]) * prob.support
    D_other = _at(decode_torch(decoder, other, e, j), cfg["uv_size"]) * prob.support
    w = cfg["weights"]
    terms = {"photometric": w["photometric"] * prob.photo_loss(D),
             "detail_consistency": w["detail_consistency"] * prob.photo_loss(D_other),
             "regularisers": prob.regularisers(D, 0.0, w["smooth"], w["symmetry"]),
             "code_prior": w["code_prior"] * raw.pow(2).mean()}
    if truth is not None and w.get("supervised", 0) > 0:
        terms["supervised"] = w["supervised"] * (code[:, :PERSON_DIMS] - truth[idx].to(device)).pow(2).mean()
    terms["loss"] = sum(terms.values())
    return terms


def evaluate(decoder, net, cache: FaceCache, arrays: dict, cfg: dict, model, data: Path | None = None) -> dict:
    """The photometric term over all the photos (mean of per-photo values) with the encoder's codes
    and with the prior code (what the fit starts from): lower with the encoder is learning. For a
    synthetic folder (data's truth.json), the RMSE of the person dims against the truth and the
    prior's."""
    out = {"photometric_encoder_code": [], "photometric_prior_code": []}
    with torch.no_grad():
        for i in range(len(cache.crops)):
            idx = np.array([i])
            prob = batch_problem(model, arrays, idx, cfg["uv_size"], "cpu")
            e, j = torch.as_tensor(arrays["expression"][idx]), torch.as_tensor(arrays["jaw"][idx])
            code = net(crops_tensor(cache.crops[idx]))["code"]
            for name, c in (("photometric_encoder_code", code),
                            ("photometric_prior_code", person_code(torch.zeros(1, PERSON_DIMS)))):
                D = _at(decode_torch(decoder, c, e, j), cfg["uv_size"]) * prob.support
                out[name].append(float(prob.photo_loss(D)))
    figures = {k: float(np.mean(v)) for k, v in out.items()}
    true = true_codes(data, cache) if data is not None else None
    if true is not None:        # a synthetic folder: the person codes are known
        with torch.no_grad():
            pred = torch.cat([net(crops_tensor(cache.crops[i:i + 32]))["code"]
                              for i in range(0, len(cache.crops), 32)])[:, :PERSON_DIMS]
        figures["rmse_code"] = float((pred - true).pow(2).mean().sqrt())
        figures["rmse_code_of_prior"] = float((torch.tensor(PERSON_PRIOR) - true).pow(2).mean().sqrt())
    return figures


def _data(data: Path, run: Path, cfg: dict, model, dist: Dist, log) -> tuple[FaceCache, dict]:
    """The landmark cache and the SfS problems, made once by rank 0 and read by every process."""
    faces, probs = run / "faces.npz", run / "sfs_problems.npz"
    if dist.is_main and not probs.is_file():
        cache = load_cache(faces) if faces.is_file() else build_cache(data, faces, cfg["size"],
                                                                      cfg["images_per_person"], log)
        arrays = sfs_problems(model, cache, cfg["uv_size"], cfg["texture_size"], log)
        tmp = run / "sfs_problems.tmp.npz"
        np.savez(tmp, **arrays)
        tmp.replace(probs)
    dist.barrier()
    with np.load(probs) as z:
        return load_cache(faces), {k: z[k] for k in z.files}


def train(cfg: dict, data: Path, run: Path, resume: bool, model=None, log=print, stop_at: int | None = None,
          deca: Path | None = None) -> dict:
    """Train (or resume) in `run`; under torchrun every process calls this (training.distributed).
    model: the head model (OpenHead when None); deca: DECA's networks for a FLAME model."""
    from headsmith.headmodel import OpenHead

    dist = Dist.from_env()
    if cfg["people_per_batch"] % dist.world:
        raise DataError(f"people_per_batch ({cfg['people_per_batch']}) must divide among the {dist.world} processes")
    model = model or OpenHead()
    net, decoder, n_expression = encoder_and_decoder(cfg, model, deca)
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg["seed"])
    record_start(run, cfg, resume, dist)
    cache, arrays = _data(data, run, cfg, model, dist, log)
    truth = true_codes(data, cache) if model.name == "openhead" else None   # the synthetic codes are OpenHead's
    decoder = decoder.to(dist.device).eval().requires_grad_(False)
    net = net.to(dist.device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    step, history = load_checkpoint(run, net, opt, dist.device, log) if resume else (0, [])
    ddp = dist.wrap(net)

    def step_terms(step: int) -> dict:
        idx = batch_indices(cache, cfg, step)
        k = len(idx) // dist.world
        return losses(decoder, ddp, cache, arrays, idx[dist.rank * k:(dist.rank + 1) * k], cfg, model, dist.device,
                      truth, n_expression)

    step, history = train_steps(run, cfg, dist, net, opt, step, history, step_terms, log, stop_at)
    return {"net": net.eval(), "step": step, "history": history, "dist": dist, "cache": cache, "arrays": arrays,
            "decoder": decoder, "model": model}


def add_arguments(d) -> None:
    """`headsmith-train detail-encoder`'s options."""
    add_encoder_arguments(d, "openhead_detail_encoder.json", "runs/detail_encoder")


def run(a, command: str) -> int:
    """`headsmith-train detail-encoder` with parsed options."""
    cfg = json.loads(a.config.read_text())
    t0 = time.perf_counter()
    if a.head == "flame" and a.flame_uv is None:
        raise DataError("--head flame needs --flame-uv (FLAME's head_template.obj): the detail lives in its UV layout")
    res = train(cfg, a.data, a.run, a.resume, head_model(a), stop_at=a.stop_at, deca=a.deca)
    res["dist"].close()
    if not res["dist"].is_main:
        return 0
    hist = res["history"]
    net, openhead = res["net"], res["model"].name == "openhead"
    record = {"command": command, "head_model": res["model"].name, "config": cfg, "seed": cfg["seed"],
              "steps_done": res["step"],
              "seconds": time.perf_counter() - t0, "photos": len(res["cache"].crops),
              "first_loss": hist[0][1] if hist else None,
              "final_loss_mean_last20": float(np.mean([h[1] for h in hist[-20:]])) if hist else None}
    if openhead:      # (its figures compare with OpenHead's prior person code)
        record.update(evaluate(res["decoder"], net, res["cache"], res["arrays"], cfg, res["model"], a.data))
    if a.export:
        a.export.mkdir(parents=True, exist_ok=True)
        torch.save(net.state_dict(), a.export / "detail_encoder.pt")
        if openhead:  # ONNX of the network's raw person dims (person_code decodes them)
            export_onnx(net.net, a.export / "detail_encoder.onnx", cfg["size"])
            record["outputs"] = net.net.sizes
        (a.export / "detail_encoder.json").write_text(json.dumps(record, indent=1))
    print(json.dumps(record, indent=1))
    return 0
