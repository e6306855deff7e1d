"""Baked wrinkle maps for playback, rendering and game engines (no network per frame).

Like Character Creator and MetaHuman: a few wrinkle maps baked at key expressions (as
displacement deltas over the neutral map, and as tangent-space normal maps), region masks, and a
linear mapping from the 52 shape-key weights to per-region, per-key blend weights:

    D(e) ~ D_neutral + sum_r mask_r * sum_k clamp(A[r, k] . [e, 1], 0, 1.5) * (D_k - D_neutral)

A is fitted by least squares against true re-decoding on random expressions, and the remaining
error is measured on other random expressions (`blend_error`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .decoder import WrinkleDecoder

KEY_EXPRESSIONS = {
    "brows_up": {"browInnerUp": 1.0, "browOuterUpLeft": 1.0, "browOuterUpRight": 1.0},
    "frown": {"browDownLeft": 1.0, "browDownRight": 1.0},
    "squint": {"eyeSquintLeft": 1.0, "eyeSquintRight": 1.0, "cheekSquintLeft": 1.0, "cheekSquintRight": 1.0},
    "smile": {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},
    "pucker": {"mouthPucker": 1.0, "mouthFunnel": 0.5},
    "sneer": {"noseSneerLeft": 1.0, "noseSneerRight": 1.0},
    "frown_mouth": {"mouthFrownLeft": 1.0, "mouthFrownRight": 1.0, "mouthStretchLeft": 0.5, "mouthStretchRight": 0.5},
    "jaw_open": {},
}
KEY_JAW = {"jaw_open": 0.3}
# the shape keys that may drive each key map's weight (besides jaw opening and a bias): a few per
# key, so that a Blender driver is a short simple expression (no Python per frame)
KEY_DRIVERS = {
    "brows_up": ["browInnerUp", "browOuterUpLeft", "browOuterUpRight"],
    "frown": ["browDownLeft", "browDownRight", "noseSneerLeft", "noseSneerRight"],
    "squint": ["eyeSquintLeft", "eyeSquintRight", "cheekSquintLeft", "cheekSquintRight", "mouthSmileLeft",
               "mouthSmileRight", "eyeBlinkLeft", "eyeBlinkRight"],
    "smile": ["mouthSmileLeft", "mouthSmileRight", "mouthUpperUpLeft", "mouthUpperUpRight", "cheekSquintLeft",
              "cheekSquintRight"],
    "pucker": ["mouthPucker", "mouthFunnel", "mouthPressLeft", "mouthPressRight", "mouthShrugLower",
               "mouthRollLower"],
    "sneer": ["noseSneerLeft", "noseSneerRight", "mouthUpperUpLeft", "mouthUpperUpRight"],
    "frown_mouth": ["mouthFrownLeft", "mouthFrownRight", "mouthStretchLeft", "mouthStretchRight"],
    "jaw_open": ["jawOpen"],
}
N_COMPONENT_KEYS = 5   # models with signed PCA expressions (FLAME): +/- keys on the first components
COMPONENT_KEY_SIGMA = 2.0


@dataclass(frozen=True)
class WrinkleKeys:
    """Which key maps a model's bake has: key -> expression weights, jaw opening (rad) and the
    few shape keys that may drive its weight."""

    expressions: dict[str, dict[str, float]]
    jaw: dict[str, float]
    drivers: dict[str, list[str]]


def keys_for(model) -> WrinkleKeys:
    """ARKit models (OpenHead): the named key expressions above. Models whose expressions are
    signed principal components (FLAME): a + and a - key on each of the first components (at 2
    standard deviations), each driven by its own component, and jaw opening."""
    if all(n in model.expression_names for k in KEY_EXPRESSIONS.values() for n in k):
        return WrinkleKeys(KEY_EXPRESSIONS, KEY_JAW, KEY_DRIVERS)
    expr, drivers = {}, {}
    for name in model.expression_names[:N_COMPONENT_KEYS]:
        for sign, tag in ((1.0, "+"), (-1.0, "-")):
            expr[name + tag] = {name: sign * COMPONENT_KEY_SIGMA}
            drivers[name + tag] = [name]
    expr["jaw_open"], drivers["jaw_open"] = {}, []
    return WrinkleKeys(expr, KEY_JAW, drivers)


ACTIVE_REGION = 0.05   # a key drives a region when its change there is >= 5 % of its largest region's
WRINKLE_REGIONS = {  # model region, side (+1 left = +x, -1 right, 0 both)
    "forehead.L": ("forehead", 1), "forehead.R": ("forehead", -1), "eyes.L": ("eyes", 1), "eyes.R": ("eyes", -1),
    "nose": ("nose", 0), "cheeks.L": ("cheeks", 1), "cheeks.R": ("cheeks", -1), "mouth": ("mouth", 0),
    "chin": ("chin", 0), "neck": ("neck", 0),
}
WEIGHT_MAX = 1.5


@dataclass
class WrinkleBake:
    key_names: list[str]
    region_names: list[str]
    neutral: np.ndarray          # (S, S) metres
    deltas: np.ndarray           # (K, S, S) metres, key map minus neutral
    masks: np.ndarray            # (R, S, S) in [0, 1], sum <= 1
    side: np.ndarray             # (S, S) in [0, 1]: a left mask is its region's times this, a right one 1 - this
    weights: np.ndarray          # (R, K, n_expression + 2): coefficients on [expression, jaw_x, 1]
    expression_names: list[str]
    jaw_open_equivalent: float | None = None   # radians of jaw bone that open the chin as jawOpen = 1

    def region_weights(self, expression: np.ndarray, jaw_x: np.ndarray) -> np.ndarray:
        """(B, E), (B,) -> (B, R, K) blend weights, clamped like the drivers clamp them."""
        x = np.concatenate([expression, jaw_x[:, None], np.ones((len(expression), 1))], 1)
        return np.clip(np.einsum("rkf,bf->brk", self.weights, x), 0.0, WEIGHT_MAX)

    def blend(self, expression: np.ndarray, jaw_x: np.ndarray) -> np.ndarray:
        """(B, S, S) metres: the baked approximation of re-decoding."""
        w = self.region_weights(expression, jaw_x)
        return self.neutral[None] + np.einsum("brk,rhw,khw->bhw", w, self.masks, self.deltas)

    def sidecar(self) -> dict:
        """The JSON mapping shipped with exports: shape-key weights -> wrinkle-map weights."""
        side = {
            "formula": "w[region][key] = clamp(sum_j coef[j] * shapekey[j] + coef_jaw * jaw_open_rad + bias, 0, %.1f)" % WEIGHT_MAX,
            "weight_max": WEIGHT_MAX,
            "keys": self.key_names, "regions": self.region_names,
            "coefficients": {r: {k: {**{n: float(c) for n, c in zip(self.expression_names, self.weights[ri, ki, :-2])
                                        if c != 0.0},
                                     "jaw_open_rad": float(self.weights[ri, ki, -2]),
                                     "bias": float(self.weights[ri, ki, -1])}
                                 for ki, k in enumerate(self.key_names) if self.weights[ri, ki].any()}
                             for ri, r in enumerate(self.region_names)},
        }
        if self.jaw_open_equivalent is not None:
            side["jaw_open_equivalent_rad"] = self.jaw_open_equivalent
        return side


def region_masks(model, size: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Soft UV masks of the wrinkle regions, normalised to sum <= 1. A left/right pair is one
    region's mask times the side weight (`side_weight`) and times one minus it, so an engine can
    pack the pair into two channels (the region and the side) and rebuild both exactly. Regions
    the model does not have (FLAME's masks have no cheeks or chin) are left out, and the rest of
    the face becomes one more region, 'face.other', so that every face texel can wrinkle.
    -> (names, (R, S, S) masks, (S, S) side weight)."""
    vertex = {}
    for name, (reg, side) in WRINKLE_REGIONS.items():
        if reg in model.region_names:
            vertex[name] = model.vertex_regions[model.region_names.index(reg)]
    if len(vertex) < len(WRINKLE_REGIONS) and "face" in model.region_names:
        # each model region counted once: a pair's two halves sum to the region
        whole = torch.stack([m for n, m in vertex.items() if WRINKLE_REGIONS[n][1] >= 0]).sum(0)
        face = model.vertex_regions[model.region_names.index("face")]
        vertex["face.other"] = (face - whole).clamp(0, 1)
    uvm = _feathered_uv(model, size, torch.stack(list(vertex.values()), 1))
    uvm = uvm / _unique_regions(list(vertex), uvm).sum(0, keepdim=True).clamp(min=1.0)
    s = side_weight(model, size)
    for i, name in enumerate(vertex):
        side = region_side(name)
        if side:
            uvm[i] = uvm[i] * (s if side > 0 else 1.0 - s)
    return list(vertex), uvm.numpy(), s.numpy()


def region_side(name: str) -> int:
    """+1 a left (+x) region, -1 a right one, 0 one across the middle."""
    return WRINKLE_REGIONS.get(name, ("", 0))[1]


SIDE_SOFTNESS = 0.003   # metres: the left/right split's sigmoid width across x = 0


def side_weight(model, size: int) -> torch.Tensor:
    """(size, size) in [0, 1]: how much each texel is on the head's left (+x) side, a sigmoid of
    the template's x (SIDE_SOFTNESS wide), feathered as the masks are."""
    x = model.v_template[:, 0].cpu()
    return _feathered_uv(model, size, torch.sigmoid(x / SIDE_SOFTNESS)[:, None])[0]


def _unique_regions(names: list[str], uvm: torch.Tensor) -> torch.Tensor:
    """The masks with each left/right pair counted once (its left name stands for both)."""
    return uvm[[i for i, n in enumerate(names) if region_side(n) >= 0]]


def _feathered_uv(model, size: int, per_vertex: torch.Tensor) -> torch.Tensor:
    """(V, C) per-vertex values -> (C, size, size) in UV space, borders feathered by two 5-tap
    binomial blurs so that blended maps show no seams."""
    import torch.nn.functional as Fn

    from ..render import interpolate
    from ..uvspace import uv_support

    raster = uv_support(model, size).raster
    uvm = interpolate(raster.fragments, model.faces.cpu(), per_vertex.cpu()[None])[0].permute(2, 0, 1)
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
    for _ in range(2):
        uvm = Fn.conv2d(Fn.pad(uvm[:, None], (2, 2, 2, 2), mode="replicate"), (k[:, None] * k[None])[None, None])[:, 0]
    return uvm


def _key_inputs(model, keys: WrinkleKeys):
    E = np.zeros((len(keys.expressions), model.n_expression), np.float32)
    J = np.zeros((len(keys.expressions), 3), np.float32)
    for i, (k, weights) in enumerate(keys.expressions.items()):
        for e, w in weights.items():
            E[i, model.expression_names.index(e)] = w
        J[i, 0] = keys.jaw.get(k, 0.0)
    return E, J


def _weight_fit(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of y on X's columns (the last one the bias), with the bias at
    most 0: at rest every weight is then clamped to 0 and the blend is the static map exactly (a
    negative bias is a threshold, the key appearing once its shape keys pass it). When the free
    fit's bias is positive, the best one under the bound has it at 0."""
    coef = np.linalg.lstsq(X, y, rcond=None)[0]
    if coef[-1] > 0:
        coef = np.append(np.linalg.lstsq(X[:, :-1], y, rcond=None)[0], 0.0)
    return coef


JAW_OPEN_SHAPE_KEY = "jawOpen"
_JAW_EQUIVALENT: dict = {}


def jaw_open_equivalent(model) -> float | None:
    """The jaw-bone opening (radians about the jaw's X) that moves the chin as the jawOpen shape
    key at 1 does (the best of 0..0.6 rad in 0.01 steps, mean chin-vertex distance), or None for
    a model without that key. An ARKit stream opens the mouth with the shape key alone, the rig with
    the bone: with this, both drive the jaw's wrinkles."""
    if JAW_OPEN_SHAPE_KEY not in model.expression_names or "chin" not in model.region_names:
        return None
    key = (model.name, model.n_vertices)
    if key not in _JAW_EQUIVALENT:
        from ..headmodel.base import HeadPose

        e = torch.zeros(1, model.n_expression)
        e[0, model.expression_names.index(JAW_OPEN_SHAPE_KEY)] = 1.0
        chin = model.vertex_regions[model.region_names.index("chin")].cpu() > 0.5
        angles = np.round(np.arange(0, 0.6001, 0.01), 2)
        pose = HeadPose.zeros(len(angles))
        pose.jaw = torch.tensor([[a, 0.0, 0.0] for a in angles], dtype=torch.float32)
        with torch.no_grad():
            target = model(expression=e).vertices[0, chin]
            opened = model(pose=pose).vertices[:, chin]
        _JAW_EQUIVALENT[key] = float(angles[(opened - target).norm(dim=-1).mean(1).argmin()])
    return _JAW_EQUIVALENT[key]


def bake(decoder: WrinkleDecoder, model, code: np.ndarray, train_expr: np.ndarray, train_jaw: np.ndarray) -> WrinkleBake:
    """Bake key maps for one person and fit the shape-key -> weight mapping on training expressions:
    per region, the least-squares key weights of each true re-decoded map, then per (region, key)
    a linear fit of those weights on the key's few driving shape keys (`keys_for`), jaw and a bias
    of at most 0 (`_weight_fit`: neutral blends to the static map exactly)."""
    table = keys_for(model)
    names = list(table.expressions)
    code1 = np.asarray(code, np.float32).reshape(1, -1)
    neutral = decoder.decode(code1, np.zeros((1, model.n_expression), np.float32), np.zeros((1, 3), np.float32))[0]
    E, J = _key_inputs(model, table)
    keys = decoder.decode(np.repeat(code1, len(names), 0), E, J)
    deltas = keys - neutral[None]
    rnames, masks, side = region_masks(model, decoder.size)
    # true per-region weights for each training expression: least squares in each region
    true = decoder.decode(np.repeat(code1, len(train_expr), 0), train_expr, train_jaw) - neutral[None]
    feats = np.concatenate([train_expr, train_jaw[:, :1], np.ones((len(train_expr), 1))], 1)
    W = np.zeros((len(rnames), len(names), feats.shape[1]))
    energy = np.einsum("khw,rhw->rk", np.abs(deltas), masks)              # (R, K)
    active = energy >= ACTIVE_REGION * energy.max(0, keepdims=True).clip(min=1e-12)
    for r in range(len(rnames)):
        sel = masks[r] > 0.5
        if sel.sum() < 10:
            continue
        Dk = deltas[:, sel].T                                          # (T, K)
        Y = true[:, sel].T                                             # (T, N)
        w_true, *_ = np.linalg.lstsq(Dk, Y, rcond=None)                # (K, N)
        for k, key in enumerate(names):
            if not active[r, k]:
                continue
            cols = [model.expression_names.index(e) for e in table.drivers[key] if e in model.expression_names]
            cols += [feats.shape[1] - 2, feats.shape[1] - 1]
            W[r, k, cols] = _weight_fit(feats[:, cols], w_true[k])
    jaw_eq = jaw_open_equivalent(model)
    if jaw_eq is not None:   # the jawOpen shape key drives the jaw terms as its bone opening would
        W[:, :, model.expression_names.index(JAW_OPEN_SHAPE_KEY)] += W[:, :, -2] * jaw_eq
    return WrinkleBake(names, rnames, neutral, deltas, masks, side, W, list(model.expression_names), jaw_eq)


def blend_error(decoder: WrinkleDecoder, baked: WrinkleBake, code: np.ndarray, expr: np.ndarray,
                jaw: np.ndarray, face_mask: np.ndarray) -> dict:
    """|blend - re-decode| over face texels: mean and 95th percentile in micrometres."""
    code1 = np.asarray(code, np.float32).reshape(1, -1)
    true = decoder.decode(np.repeat(code1, len(expr), 0), expr, jaw)
    approx = baked.blend(expr, jaw[:, 0])
    err = np.abs(true - approx)[:, face_mask] * 1e6
    return {"mean_um": float(err.mean()), "p95_um": float(np.percentile(err, 95)),
            "signal_mean_um": float(np.abs(true - baked.neutral[None])[:, face_mask].mean() * 1e6)}
