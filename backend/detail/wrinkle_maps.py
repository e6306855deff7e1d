"""Wrinkle maps for a reconstructed avatar: bake key maps from its detail code, write them with the
shape-key mapping and the measured blend error into BUNDLE/wrinkles/, and draw wrinkles.png."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as Fn

from ..render import displacement_to_normal, sh_shading, vertex_normals, world_to_uv
from .bake import KEY_EXPRESSIONS, WrinkleBake, bake, blend_error, keys_for
from .decoder import UVGeometry, normal_map_rgb8

PICTURE_EXPRESSIONS = {
    "neutral": ({}, 0.0),
    "brows up": (KEY_EXPRESSIONS["brows_up"], 0.0),
    "frown": (KEY_EXPRESSIONS["frown"], 0.0),
    "squint": (KEY_EXPRESSIONS["squint"], 0.0),
    "smile": ({"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0, "cheekSquintLeft": 0.5, "cheekSquintRight": 0.5}, 0.0),
    "jaw open": ({}, 0.3),
    "pucker": (KEY_EXPRESSIONS["pucker"], 0.0),
    "sneer": (KEY_EXPRESSIONS["sneer"], 0.0),
    "mix": ({"browInnerUp": 0.6, "mouthSmileLeft": 0.7, "eyeSquintLeft": 0.5, "noseSneerRight": 0.4}, 0.1),
}


def random_expressions(model, n: int, seed: int):
    """Random expressions and jaw openings, for fitting and measuring the blend: sparse mixes of
    1..5 ARKit weights in 0.1..1, or, for signed PCA expressions (FLAME), 1..5 components at up to
    2 standard deviations over small values on all of them."""
    rng = np.random.default_rng(seed)
    signed = model.expression_range[0] < 0
    usable = [i for i, nm in enumerate(model.expression_names) if not nm.startswith(("eyeLook", "tongue", "jaw"))]
    E = np.zeros((n, model.n_expression), np.float32)
    J = np.zeros((n, 3), np.float32)
    for i in range(n):
        k = rng.integers(1, 6)
        if signed:
            E[i] = rng.normal(0, 0.2, model.n_expression)
            E[i, rng.choice(min(10, model.n_expression), size=min(k, 10), replace=False)] = rng.uniform(-2, 2, k)
        else:
            E[i, rng.choice(usable, size=k, replace=False)] = rng.uniform(0.1, 1.0, k)
        J[i, 0] = rng.uniform(0, 0.3) if rng.random() < 0.4 else 0.0
    return E, J


def picture_expressions(model) -> dict:
    """name -> (expression weights, jaw) for wrinkles.png: named ARKit ones, or each bake key."""
    keys = keys_for(model)
    if keys.expressions is KEY_EXPRESSIONS:
        return PICTURE_EXPRESSIONS
    return {"neutral": ({}, 0.0), **{k: (w, keys.jaw.get(k, 0.0)) for k, w in keys.expressions.items()}}


class FacePicture:
    """Upright crops of the face region of UV maps, for pictures (the OpenHead face chart lies on
    its side)."""

    def __init__(self, model, size: int):
        from ..texture.unwrap import uv_support

        self.raster = uv_support(model, size).raster
        v = model.v_template[None].cpu()
        self.P = world_to_uv(self.raster, v)
        self.N = Fn.normalize(world_to_uv(self.raster, vertex_normals(v, model.faces.cpu())), dim=-1, eps=1e-8)
        from scipy.ndimage import label

        from ..render import interpolate

        def uv_mask(name):
            r = model.vertex_regions[model.region_names.index(name)].cpu()
            return (interpolate(self.raster.fragments, model.faces.cpu(), r[None, :, None])[0, ..., 0] > 0.5).numpy()

        fm = uv_mask("face")
        lab, n = label(fm)
        if n > 1:   # the face chart only (eyeball and cavity charts elsewhere carry bits of 'face')
            fm = lab == (np.bincount(lab.ravel())[1:].argmax() + 1)
        ys, xs = np.nonzero(fm)
        pad = size // 40
        self.box = (max(ys.min() - pad, 0), min(ys.max() + pad, size), max(xs.min() - pad, 0), min(xs.max() + pad, size))
        self.light = torch.zeros(1, 9, 3)
        self.light[0, 0], self.light[0, 2], self.light[0, 3] = 2.0, 0.9, 0.7
        # turn the crop so the forehead is on top
        up = np.array(np.nonzero(uv_mask("forehead") & fm)).mean(1) - np.array(np.nonzero(uv_mask("mouth") & fm)).mean(1)
        dr, dc = up
        if abs(dc) > abs(dr):
            self.rotate = cv2.ROTATE_90_CLOCKWISE if dc < 0 else cv2.ROTATE_90_COUNTERCLOCKWISE
        else:
            self.rotate = None if dr < 0 else cv2.ROTATE_180

    def crop(self, img: np.ndarray) -> np.ndarray:
        y0, y1, x0, x1 = self.box
        c = img[y0:y1, x0:x1]
        return cv2.rotate(c, self.rotate) if self.rotate is not None else c

    def shaded(self, D: np.ndarray) -> np.ndarray:
        n = displacement_to_normal(self.P, self.N, torch.as_tensor(D, dtype=torch.float32)[None], self.raster.mask)
        s = sh_shading(n, self.light)[0, ..., 0].clamp(0, 2.2) / 2.2
        return self.crop((s.numpy() * 255).astype(np.uint8))

    def height(self, D: np.ndarray, scale: float = 0.001) -> np.ndarray:
        return self.crop((np.clip(D / scale * 0.5 + 0.5, 0, 1) * 255).astype(np.uint8))


def _label(img, text):
    img = np.ascontiguousarray(img)
    cv2.putText(img, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, 255, 1, cv2.LINE_AA)
    return img


def wrinkles_picture(model, decoder, baked: WrinkleBake, code: np.ndarray, residual: np.ndarray | None,
                     pic: FacePicture) -> np.ndarray:
    """Rows: expressions; columns: D live, shaded live, D blended, shaded blended (grey images)."""
    rows = []
    res = 0 if residual is None else residual
    for name, (expr, jaw) in picture_expressions(model).items():
        e = np.zeros((1, model.n_expression), np.float32)
        for k, w in expr.items():
            e[0, model.expression_names.index(k)] = w
        j = np.array([[jaw, 0, 0]], np.float32)
        live = decoder.decode(code[None], e, j)[0] + res
        blended = baked.blend(e, j[:, 0])[0] + res
        tiles = [pic.height(live), pic.shaded(live), pic.height(blended), pic.shaded(blended)]
        tiles = [cv2.resize(t, (t.shape[1] * 2, t.shape[0] * 2), interpolation=cv2.INTER_LINEAR) for t in tiles]
        tiles[0] = _label(tiles[0], f"{name}: D live")
        tiles[1] = _label(tiles[1], "shaded, live")
        tiles[2] = _label(tiles[2], "D from bakes")
        tiles[3] = _label(tiles[3], "shaded, bakes")
        rows.append(np.concatenate(tiles, 1))
    return np.concatenate(rows, 0)


def write_wrinkle_maps(bundle: Path, meta: dict, model, decoder, log=print) -> dict:
    """Bake, measure and write BUNDLE/wrinkles/ and BUNDLE/wrinkles.png for a reconstructed avatar
    (meta: its bundle.json). Both are swapped in whole, so a failed bake leaves the old ones."""
    import os
    import shutil

    from ..bundle.write import read_detail_residual
    from ..render import interpolate

    bundle = Path(bundle)
    if "detail" not in meta:
        raise ValueError(f"{bundle} has no detail code (it was reconstructed without the detail decoder)")
    code = np.asarray(meta["detail"]["code"], np.float32)
    residual = read_detail_residual(bundle, meta)
    fitE, fitJ = random_expressions(model, 300, seed=1)
    baked = bake(decoder, model, code, fitE, fitJ)
    testE, testJ = random_expressions(model, 100, seed=2)
    face = model.vertex_regions[model.region_names.index("face")][None, :, None]
    pic = FacePicture(model, decoder.size)
    face_uv = (interpolate(pic.raster.fragments, model.faces.cpu(), face)[0, ..., 0] > 0.5).numpy()
    err = blend_error(decoder, baked, code, testE, testJ, face_uv)
    out, tmp = bundle / "wrinkles", bundle / ".wrinkles.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    geo = UVGeometry.of(model, model(shape=torch.tensor([meta["parameters"]["shape"]])).vertices, 1024)
    for k, name in enumerate(baked.key_names):
        D = (baked.neutral + baked.deltas[k])[None] + (0 if residual is None else residual[None])
        cv2.imwrite(str(tmp / f"wrinkle_{name}_normal.png"),
                    cv2.cvtColor(normal_map_rgb8(geo, D)[0], cv2.COLOR_RGB2BGR))
    for r, name in enumerate(baked.region_names):
        m = cv2.resize(baked.masks[r], (1024, 1024), interpolation=cv2.INTER_LINEAR)
        cv2.imwrite(str(tmp / f"mask_{name}.png"), (np.clip(m, 0, 1) * 255 + 0.5).astype(np.uint8))
    side = baked.sidecar()
    side["blend_error_100_random_expressions"] = err
    side["normal_maps"] = {k: f"wrinkle_{k}_normal.png" for k in baked.key_names}
    side["masks"] = {r: f"mask_{r}.png" for r in baked.region_names}
    (tmp / "wrinkles.json").write_text(json.dumps(side, indent=1))
    png_tmp = bundle / ".wrinkles.tmp.png"
    cv2.imwrite(str(png_tmp), wrinkles_picture(model, decoder, baked, code, residual, pic))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    os.replace(png_tmp, bundle / "wrinkles.png")
    log(f"wrinkle maps in {out}; blend vs re-decode on 100 random expressions: mean {err['mean_um']:.1f} um, "
        f"95th percentile {err['p95_um']:.1f} um (signal mean {err['signal_mean_um']:.1f} um)")
    return err


def bake_bundle(bundle: Path, cache: dict | None = None, log=print) -> dict | None:
    """Wrinkle maps for a bundle with the model and decoder it was made with (`sources`); None when
    the bundle has no detail code (a FLAME head made without DECA's checkpoint)."""
    from ..bundle.write import read_bundle
    from .sources import wrinkle_parts

    meta = read_bundle(Path(bundle))
    if "detail" not in meta:
        return None
    model, decoder = wrinkle_parts(meta, cache)
    return write_wrinkle_maps(Path(bundle), meta, model, decoder, log=log)
