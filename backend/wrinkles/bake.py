"""Baked wrinkle maps for playback, rendering and game engines (no network per frame).

Like Character Creator and MetaHuman: a few wrinkle maps baked at key expressions (as
displacement deltas over the neutral map, and as tangent-space normal maps), region masks, and a
linear mapping from the 52 shape-key weights to per-region, per-key blend weights:

    D(e) ~ D_neutral + sum_r mask_r * sum_k clamp(A[r, k] . [e, 1], 0, 1.5) * (D_k - D_neutral)

OpenHead's decoder is this blend by construction (`texture_decoder.KeyBlendDecoder`): its key
maps, regions and A are read from it and the bake is exact (`bake_key_blend`). For any other
decoder (DECA's) A is fitted by least squares against true re-decoding on random expressions.
Either way the remaining error is measured on other random expressions (`blend_error`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .anatomy import GROUPS, feathered_uv, mirrored_name
from .decoder import KeyBlend, WrinkleDecoder

JAW_KEY_OPENING = 0.3   # radians: the jaw key of models without named groups (FLAME)
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
    """ARKit models (OpenHead): the wrinkle groups of `anatomy.GROUPS` (key pose, driving shape
    keys of both sides). Models whose expressions are signed principal components (FLAME): a +
    and a - key on each of the first components (at 2 standard deviations), each driven by its
    own component, and jaw opening."""
    names = set(model.expression_names)
    if all(n in names for g in GROUPS.values() for n in g.pose):
        drivers = {k: sorted({d for n in g.drivers for d in (n, mirrored_name(n))} & names) for k, g in GROUPS.items()}
        return WrinkleKeys({k: g.pose for k, g in GROUPS.items()}, {}, drivers)
    expr, drivers = {}, {}
    for name in model.expression_names[:N_COMPONENT_KEYS]:
        for sign, tag in ((1.0, "+"), (-1.0, "-")):
            expr[name + tag] = {name: sign * COMPONENT_KEY_SIGMA}
            drivers[name + tag] = [name]
    expr["jaw_open"], drivers["jaw_open"] = {}, []
    return WrinkleKeys(expr, {"jaw_open": JAW_KEY_OPENING}, drivers)


ACTIVE_REGION = 0.05   # a key drives a region when its change there is >= 5 % of its largest region's
WRINKLE_REGIONS = {  # model region, side (+1 left = +x, -1 right, 0 both)
    "forehead.L": ("forehead", 1), "forehead.R": ("forehead", -1), "eyes.L": ("eyes", 1), "eyes.R": ("eyes", -1),
    "nose": ("nose", 0), "cheeks.L": ("cheeks", 1), "cheeks.R": ("cheeks", -1), "mouth": ("mouth", 0),
    "chin": ("chin", 0), "neck": ("neck", 0),
}
WEIGHT_MAX = 1.5   # a key weight may pass its key pose (a stronger expression), no further


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
    key_poses: dict[str, dict[str, float]] | None = None   # key -> the shape-key values that show it fully

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
        if self.key_poses is not None:
            side["key_poses"] = self.key_poses
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
    uvm = feathered_uv(model, size, torch.stack(list(vertex.values()), 1))
    uvm = uvm / _unique_regions(list(vertex), uvm).sum(0, keepdim=True).clamp(min=1.0)
    s = side_weight(model, size)
    for i, name in enumerate(vertex):
        side = region_side(name)
        if side:
            uvm[i] = uvm[i] * (s if side > 0 else 1.0 - s)
    return list(vertex), uvm.numpy(), s.numpy()


def region_side(name: str) -> int:
    """+1 a left (+x) region ('forehead.L'), -1 a right one ('forehead.R'), 0 one across the middle."""
    return 1 if name.endswith(".L") else -1 if name.endswith(".R") else 0


SIDE_SOFTNESS = 0.003   # metres: the left/right split's sigmoid width across x = 0


def side_weight(model, size: int) -> torch.Tensor:
    """(size, size) in [0, 1]: how much each texel is on the head's left (+x) side, a sigmoid of
    the template's x (SIDE_SOFTNESS wide), feathered as the masks are."""
    x = model.v_template[:, 0].cpu()
    return feathered_uv(model, size, torch.sigmoid(x / SIDE_SOFTNESS)[:, None])[0]


def _unique_regions(names: list[str], uvm: torch.Tensor) -> torch.Tensor:
    """The masks with each left/right pair counted once (its left name stands for both)."""
    return uvm[[i for i, n in enumerate(names) if region_side(n) >= 0]]


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


def bake_key_blend(blend: KeyBlend, expression_names: list[str]) -> WrinkleBake:
    """The exact bake of a decoder that is a blend by construction: its key maps, its regions
    (a region with a sided key split into .L/.R by the side weight) and its weights written on
    [expression, jaw_x, 1] (the jawOpen shape key's share of the jaw opening folded in)."""
    E = len(expression_names)
    sided_regions = {blend.key_region[k] for k in range(len(blend.key_names)) if blend.sided[k]}
    used = sorted(set(blend.key_region))
    names, masks, row = [], [], {}
    for r in used:
        name, m = blend.region_names[r], blend.region_masks[r]
        parts = ((f"{name}.L", m * blend.side), (f"{name}.R", m * (1.0 - blend.side))) if r in sided_regions \
            else ((name, m),)
        for n, mask in parts:
            row[n] = len(names)
            names.append(n)
            masks.append(mask)
    perm_f = np.append(blend.perm, E)

    def on_features(c: np.ndarray, b: float) -> np.ndarray:   # [e, jaw_open] -> [e, jaw_x, 1]
        return np.concatenate([c[:E] + c[E] * blend.jaw_open, [c[E], b]])

    W = np.zeros((len(names), len(blend.key_names), E + 2))
    for k in range(len(blend.key_names)):
        r = blend.region_names[blend.key_region[k]]
        left, right = on_features(blend.coef[k], blend.bias[k]), on_features(blend.coef[k][perm_f], blend.bias[k])
        for n, w in (((r + ".L", left), (r + ".R", right)) if r + ".L" in row else ((r, left),)):
            W[row[n], k] = w
    jaw_eq = float(blend.jaw_open.max()) if blend.jaw_open.any() else None
    return WrinkleBake(list(blend.key_names), names, blend.rest.astype(np.float32), blend.key_maps.astype(np.float32),
                       np.stack(masks).astype(np.float32), blend.side.astype(np.float32), W, list(expression_names),
                       jaw_eq, {k: dict(GROUPS[k].pose) for k in blend.key_names if k in GROUPS})


def bake(decoder: WrinkleDecoder, model, code: np.ndarray, train_expr: np.ndarray, train_jaw: np.ndarray) -> WrinkleBake:
    """Bake key maps for one person. A decoder that is a blend by construction is baked exactly
    (`bake_key_blend`). Any other (DECA's): key maps at the key expressions, and the shape-key ->
    weight mapping fitted on training expressions: per region, the least-squares key weights of
    each true re-decoded map, then per (region, key) a linear fit of those weights on the key's
    few driving shape keys (`keys_for`), jaw and a bias of at most 0 (`_weight_fit`: neutral
    blends to the static map exactly)."""
    exact = decoder.key_blend(code)
    if exact is not None:
        return bake_key_blend(exact, list(model.expression_names))
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
    return WrinkleBake(names, rnames, neutral, deltas, masks, side, W, list(model.expression_names), jaw_eq,
                       {k: dict(w) for k, w in table.expressions.items()})


def blend_error(decoder: WrinkleDecoder, baked: WrinkleBake, code: np.ndarray, expr: np.ndarray,
                jaw: np.ndarray, face_mask: np.ndarray) -> dict:
    """|blend - re-decode| over face texels: mean, 95th percentile and RMS in micrometres, beside
    the mean and RMS of the dynamic signal (re-decode - neutral)."""
    code1 = np.asarray(code, np.float32).reshape(1, -1)
    true = decoder.decode(np.repeat(code1, len(expr), 0), expr, jaw)
    approx = baked.blend(expr, jaw[:, 0])
    err = np.abs(true - approx)[:, face_mask] * 1e6
    signal = np.abs(true - baked.neutral[None])[:, face_mask] * 1e6
    return {"mean_um": float(err.mean()), "p95_um": float(np.percentile(err, 95)),
            "rms_um": float(np.sqrt((err ** 2).mean())), "signal_mean_um": float(signal.mean()),
            "signal_rms_um": float(np.sqrt((signal ** 2).mean()))}
