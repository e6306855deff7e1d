"""Wrinkle maps for a reconstructed avatar: bake key maps from its detail code, fit the shape-key
-> map-weight mapping, measure the blend against re-decoding, and render the key maps as 1024
tangent-space normal maps with 1024 region masks, and both packed into a few RGBA textures for
engines (`engine_pack`): what BUNDLE/wrinkles/ holds (bundle.io writes it).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ..render import interpolate
from ..uvspace import uv_support
from .bake import WrinkleBake, bake, blend_error, region_side
from .decoder import UVGeometry, WrinkleDecoder, normal_map_rgb8
from .engine_pack import metahuman_layout, pack_for_engines

MAP_SIZE = 1024          # texels of the shipped normal maps and masks
FIT_EXPRESSIONS = 300    # random expressions the blend weights are fitted on (seed 1)
TEST_EXPRESSIONS = 100   # other random expressions the blend error is measured on (seed 2)


@dataclass
class WrinkleMaps:
    baked: WrinkleBake
    blend_error: dict                    # bake.blend_error on the test expressions
    normal_maps: dict[str, np.ndarray]   # key -> (MAP_SIZE, MAP_SIZE, 3) uint8 RGB
    masks: dict[str, np.ndarray]         # region -> (MAP_SIZE, MAP_SIZE) uint8
    packed: dict[str, np.ndarray]        # file -> (MAP_SIZE, MAP_SIZE, 4 | 3) uint8: the above packed for
                                         # engines, and the MetaHuman-like WMn maps (RGB)
    sidecar: dict                        # wrinkles.json


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


def face_texels(model, size: int) -> np.ndarray:
    """(size, size) bool: texels of the model's face region, where the blend error is measured."""
    raster = uv_support(model, size).raster
    face = model.vertex_regions[model.region_names.index("face")][None, :, None]
    return (interpolate(raster.fragments, model.faces.cpu(), face)[0, ..., 0] > 0.5).numpy()


def bake_wrinkle_maps(model, decoder: WrinkleDecoder, code: np.ndarray, residual: np.ndarray | None,
                      shape: torch.Tensor) -> WrinkleMaps:
    """code (C,) the person's detail code; residual (S, S) metres or None, as the bundle stores it;
    shape (1, n_shape) the fitted identity (the normal maps are built on its neutral surface)."""
    code = np.asarray(code, np.float32)
    fitE, fitJ = random_expressions(model, FIT_EXPRESSIONS, seed=1)
    baked = bake(decoder, model, code, fitE, fitJ)
    testE, testJ = random_expressions(model, TEST_EXPRESSIONS, seed=2)
    err = blend_error(decoder, baked, code, testE, testJ, face_texels(model, decoder.size))
    geo = UVGeometry.of(model, model(shape=shape).vertices, MAP_SIZE)
    pores = baked.neutral if decoder.rest_is_pores else None
    D = baked.neutral[None] + baked.deltas + (0 if residual is None else residual[None])   # (K, S, S)
    normal_maps = dict(zip(baked.key_names, normal_map_rgb8(geo, D, pores=pores)))   # one draw of the pores
    def upsized(a):
        return np.clip(cv2.resize(a, (MAP_SIZE, MAP_SIZE), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)

    side_hi = upsized(baked.side)
    soft = _upsized_masks(baked, upsized, side_hi)
    masks = {name: (m * 255 + 0.5).astype(np.uint8) for name, m in soft.items()}
    sides = {r: region_side(r) for r in soft}
    packed, layout = pack_for_engines(normal_maps, soft, sides, side_hi)
    side = baked.sidecar()
    animated = _metahuman_layout(baked, geo, residual, pores, normal_maps, soft, sides)
    if animated is not None:
        packed |= animated[0]
        side["metahuman"] = animated[1]
    side["blend_error_100_random_expressions"] = err
    side["normal_maps"] = {k: f"wrinkle_{k}_normal.png" for k in baked.key_names}
    side["masks"] = {r: f"mask_{r}.png" for r in baked.region_names}
    side["packed"] = layout
    return WrinkleMaps(baked, err, normal_maps, masks, packed, side)


def _metahuman_layout(baked: WrinkleBake, geo: UVGeometry, residual, pores, normal_maps: dict, masks: dict,
                      sides: dict) -> tuple[dict, dict] | None:
    """engine_pack.metahuman_layout for this bake, or None when its keys do not fit in WM1..WM3
    (FLAME's component keys all span the whole face)."""
    key_regions = {k: [r for ri, r in enumerate(baked.region_names) if baked.weights[ri, ki].any()]
                   for ki, k in enumerate(baked.key_names)}
    key_masks = {k: sum((masks[r] for r in rs), np.zeros_like(next(iter(masks.values()))))
                 for k, rs in key_regions.items()}
    static = normal_map_rgb8(geo, (baked.neutral + (0 if residual is None else residual))[None], pores=pores)[0]
    try:
        return metahuman_layout(normal_maps, static, key_masks, key_regions, sides)
    except ValueError:
        return None


def _upsized_masks(baked: WrinkleBake, upsized, side: np.ndarray) -> dict[str, np.ndarray]:
    """The masks at MAP_SIZE (side: the side weight there), a left/right pair still its region's
    mask times the side weight (upsizing each half on its own would not keep that product)."""
    names = baked.region_names
    out = {}
    for r, name in enumerate(names):
        s = region_side(name)
        if s == 0:
            out[name] = upsized(baked.masks[r])
            continue
        other = names.index(name[:-1] + ("R" if s > 0 else "L"))
        both = upsized(baked.masks[r] + baked.masks[other])
        out[name] = both * (side if s > 0 else 1.0 - side)
    return out


def describe_blend_error(err: dict) -> str:
    return (f"blend vs re-decode on {TEST_EXPRESSIONS} random expressions: mean {err['mean_um']:.1f} um, "
            f"95th percentile {err['p95_um']:.1f} um, RMS {err['rms_um']:.2f} um "
            f"(signal mean {err['signal_mean_um']:.1f} um, RMS {err['signal_rms_um']:.1f} um)")
