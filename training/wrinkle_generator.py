"""Synthetic expression wrinkles for OpenHead: the training data of the OpenHead detail decoder.

Real face datasets are out of reach here, so the decoder learns from a documented, physically
motivated generator:

1. Muscles. Each muscle action (MUSCLES) compresses the skin in its own territory
   (headsmith.wrinkles.anatomy: forehead, glabella, nose root, crow's feet, lids, bunny lines,
   nasolabial and marionette lines, perioral, chin) along its anatomical direction, in
   proportion to its activation (a weighted sum of ARKit weights and the jaw opening): frontalis
   shortens the forehead vertically, corrugators pull the glabella together, orbicularis oculi
   gathers the skin about the outer eye corner, the lids fold when they close, the nasalis
   shortens the nose sides, the zygomatic smile folds the nasolabial line, orbicularis oris
   purses the lips, the depressors pull the marionette lines, mentalis lifts the chin. (The
   blendshapes' own surface strain is not used: it spreads compression across regions where no
   line forms, e.g. a pucker's over the nasolabial fold.)
2. Furrows form where skin is compressed, running perpendicular to the compression: a stripe
   pattern whose crests are perpendicular to the local compression direction (Gabor-filtered
   noise at 8 orientations, blended per texel by orientation), shaped into valleys, with depth
   growing with compression above a threshold, only inside the wrinkle regions.
3. Folds (FOLDS): a smile's nasolabial fold and a mouth frown's marionette lines are grooves
   several millimetres wide along their lines, not only fine lines; mentalis dimples the chin.
4. The person. A code p (first 8 of the 128 code dims; the rest are reserved and zero): depth,
   age (more and deeper lines), density (line spacing), pores (static micro-detail), and a soft
   choice among 4 line patterns. The pattern is mirrored left/right so symmetric expressions give
   symmetric maps.

Output: (S, S) displacement in metres (negative = furrow), DECA's +-1 cm range, OpenHead UV.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as Fn

from headsmith.headmodel import HeadModel
from headsmith.render import interpolate, world_to_uv
from headsmith.wrinkles.anatomy import FaceLandmarks, region_vertex_masks, segment_points, territories

CODE_DIM = 128
PERSON_DIMS = ("depth", "age", "density", "pores", "pattern0", "pattern1", "pattern2", "pattern3")
N_ORIENT = 8
N_PATTERNS = 4
COMPRESSION_START = 0.01      # no lines below 1 % (smoothed) compression
COMPRESSION_FULL = 0.07
MAX_DEPTH = 0.0014            # metres, the deepest expression line
PORE_DEPTH = 0.00006


def _gauss(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (C, H, W) with reflect padding."""
    r = max(1, int(3 * sigma))
    k = torch.exp(-torch.arange(-r, r + 1, dtype=x.dtype) ** 2 / (2 * sigma ** 2))
    k = (k / k.sum())
    c = x.shape[0]
    y = Fn.conv2d(Fn.pad(x[None], (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    y = Fn.conv2d(Fn.pad(y, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
    return y[0]


def _gabor_bank(size: int, wavelength: float, seed: int) -> torch.Tensor:
    """(N_ORIENT, S, S) stripe fields: noise filtered by oriented Gabor kernels (FFT), unit std.
    Orientation k has its stripe normal (the direction the height varies) at angle k*pi/N."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(size, size, generator=g)
    F = torch.fft.rfft2(noise)
    fy = torch.fft.fftfreq(size)[:, None]
    fx = torch.fft.rfftfreq(size)[None, :]
    f0 = 1.0 / wavelength
    out = []
    for k in range(N_ORIENT):
        a = np.pi * k / N_ORIENT
        # frequency component along the stripe normal (u = column, v = row)
        along = fx * np.cos(a) + fy * np.sin(a)
        across = -fx * np.sin(a) + fy * np.cos(a)
        H = torch.exp(-((along.abs() - f0) ** 2) / (2 * (0.22 * f0) ** 2) - across ** 2 / (2 * (0.12 * f0) ** 2))
        s = torch.fft.irfft2(F * H, s=(size, size))
        out.append(s / s.std())
    return torch.stack(out)


# muscle action: (drivers: ARKit weights, "jaw" per radian of opening; territory, compression
# direction kind, compression at full activation)
MUSCLES = {
    "frontalis.L": ({"browInnerUp": 0.6, "browOuterUpLeft": 1.0}, "forehead.L", "vertical", 0.12),
    "frontalis.R": ({"browInnerUp": 0.6, "browOuterUpRight": 1.0}, "forehead.R", "vertical", 0.12),
    "corrugator": ({"browDownLeft": 0.5, "browDownRight": 0.5}, "glabella", "horizontal", 0.12),
    "procerus": ({"noseSneerLeft": 0.1, "noseSneerRight": 0.1, "browDownLeft": 0.25, "browDownRight": 0.25},
                 "nose_root", "vertical", 0.10),
    "oculi.L": ({"eyeSquintLeft": 1.0, "cheekSquintLeft": 0.7, "mouthSmileLeft": 0.25}, "crows.L", "around.L", 0.12),
    "oculi.R": ({"eyeSquintRight": 1.0, "cheekSquintRight": 0.7, "mouthSmileRight": 0.25}, "crows.R", "around.R", 0.12),
    "lid.L": ({"eyeSquintLeft": 0.8, "cheekSquintLeft": 0.6}, "lower_lid.L", "vertical", 0.08),
    "lid.R": ({"eyeSquintRight": 0.8, "cheekSquintRight": 0.6}, "lower_lid.R", "vertical", 0.08),
    "palpebral.L": ({"eyeBlinkLeft": 1.0}, "lids.L", "vertical", 0.15),
    "palpebral.R": ({"eyeBlinkRight": 1.0}, "lids.R", "vertical", 0.15),
    "nasalis": ({"noseSneerLeft": 0.5, "noseSneerRight": 0.5}, "bunny", "vertical", 0.12),
    "zygomatic.L": ({"mouthSmileLeft": 1.0, "mouthUpperUpLeft": 0.5, "cheekSquintLeft": 0.15, "jaw": 1.0},
                    "naso.L", "across_naso.L", 0.12),
    "zygomatic.R": ({"mouthSmileRight": 1.0, "mouthUpperUpRight": 0.5, "cheekSquintRight": 0.15, "jaw": 1.0},
                    "naso.R", "across_naso.R", 0.12),
    "depressor.L": ({"mouthFrownLeft": 1.0, "mouthStretchLeft": 0.4}, "marionette.L", "across_marionette.L", 0.12),
    "depressor.R": ({"mouthFrownRight": 1.0, "mouthStretchRight": 0.4}, "marionette.R", "across_marionette.R", 0.12),
    "oris": ({"mouthPucker": 1.0, "mouthFunnel": 0.7, "mouthPressLeft": 0.3, "mouthPressRight": 0.3},
             "perioral", "around_mouth", 0.12),
    "mentalis": ({"mouthShrugLower": 1.0, "mouthRollLower": 0.5, "mouthPressLeft": 0.3, "mouthPressRight": 0.3},
                 "chin", "vertical", 0.10),
}
# broad folds, not only lines: (drivers as MUSCLES, shape, line or territory, width m, depth m)
FOLDS = {
    "nasolabial.L": ({"mouthSmileLeft": 1.0, "mouthUpperUpLeft": 0.4, "jaw": 1.0}, "groove", "naso.L", 0.0035, 0.0007),
    "nasolabial.R": ({"mouthSmileRight": 1.0, "mouthUpperUpRight": 0.4, "jaw": 1.0}, "groove", "naso.R", 0.0035, 0.0007),
    "marionette.L": ({"mouthFrownLeft": 1.0, "mouthStretchLeft": 0.3}, "groove", "marionette.L", 0.003, 0.0005),
    "marionette.R": ({"mouthFrownRight": 1.0, "mouthStretchRight": 0.3}, "groove", "marionette.R", 0.003, 0.0005),
    "chin_dimples": ({"mouthShrugLower": 1.0, "mouthRollLower": 0.4}, "dimples", "chin", 0.0, 0.00025),
}


@dataclass
class GeneratorTables:
    """Everything that depends only on the model and resolution (computed once)."""

    size: int
    mask: torch.Tensor            # (S, S) bool: skin texels
    prone: torch.Tensor           # (S, S) anatomical wrinkle-proneness in [0, 1]
    mirror_src: torch.Tensor      # (S, S, 2) grid coords to sample the pattern from (left side)
    patterns: torch.Tensor        # (N_PATTERNS, 2 densities, N_ORIENT, S, S)
    pores: torch.Tensor           # (S, S) unit-std fine noise
    muscle_drivers: torch.Tensor  # (M, 53) weights of the ARKit expressions and the jaw opening (rad)
    muscle_maps: torch.Tensor     # (M, S, S) compression per unit activation in the territory
    muscle_angle: torch.Tensor    # (M, S, S) UV angle of the stripe normal (compression direction)
    fold_drivers: torch.Tensor    # (Fo, 53) as muscle_drivers
    fold_maps: torch.Tensor       # (Fo, S, S) metres of relief at full activation (negative: a groove)


def _prone_vertices(model: HeadModel) -> torch.Tensor:
    """(V,) wrinkle-proneness: the anatomical wrinkle regions (headsmith.wrinkles.anatomy)."""
    regions = region_vertex_masks(FaceLandmarks.of(model))
    return torch.stack(list(regions.values())).max(0).values.clamp(0, 1)


def _territories(model: HeadModel):
    """Soft vertex masks (V,) per territory (headsmith.wrinkles.anatomy, the forehead split in
    halves) and 3D compression directions (V, 3) of the muscles, from the landmarks."""
    face = FaceLandmarks.of(model)
    v = face.v
    T = territories(face)
    for s, sign in (("L", 1.0), ("R", -1.0)):
        T[f"forehead.{s}"] = T["forehead"] * torch.sigmoid(sign * v[:, 0] / 0.004)
        T[f"lids.{s}"] = torch.maximum(T[f"upper_lid.{s}"], T[f"lower_lid.{s}"])
    ex, ey = torch.tensor([1.0, 0, 0]), torch.tensor([0, 1.0, 0])

    def around(c):
        r = v - c
        r[:, 2] = 0
        t = torch.stack([-r[:, 1], r[:, 0], torch.zeros_like(r[:, 0])], -1)
        return Fn.normalize(t, dim=-1, eps=1e-9)

    def across(a, b):
        d = Fn.normalize(b - a, dim=0)
        return torch.stack([-d[1], d[0], torch.tensor(0.0)]).expand_as(v)

    D = {"vertical": ey.expand_as(v), "horizontal": ex.expand_as(v),
         "around.L": around(face.outer_canthus("L")), "around.R": around(face.outer_canthus("R")),
         "around_mouth": around(face.mouth_centre()),
         "across_naso.L": across(*face.nasolabial_line("L")), "across_naso.R": across(*face.nasolabial_line("R")),
         "across_marionette.L": across(*face.marionette_line("L")),
         "across_marionette.R": across(*face.marionette_line("R"))}
    return T, D


def _drivers(model: HeadModel, weights: dict[str, float]) -> torch.Tensor:
    """(53,) weights on [the 52 ARKit expressions, jaw opening in radians]."""
    w = torch.zeros(len(model.expression_names) + 1)
    for e, k in weights.items():
        w[-1 if e == "jaw" else model.expression_names.index(e)] = k
    return w


def _fold_map(kind: str, where: torch.Tensor, width: float, position: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """(S, S) relief per unit depth: a groove of Gaussian profile `width` about the points `where`
    (N, 3), or band-passed bumps (dimples) inside the territory map `where` (S, S)."""
    if kind == "groove":
        d = torch.cdist(position.reshape(-1, 3), where).min(1).values.reshape(position.shape[:2])
        return -torch.exp(-(d / width) ** 2)
    return noise * where


def build_tables(model: HeadModel, size: int = 256, seed: int = 0) -> GeneratorTables:
    from headsmith.render.uv import _uv_derivatives
    from headsmith.uvspace import uv_support

    faces = model.faces
    sup = uv_support(model, size)
    raster = sup.raster
    fi = raster.fragments.face_index[0]
    skin = (model.face_part[fi.clamp(min=0)] == 0) & (fi >= 0)
    prone = interpolate(raster.fragments, faces, _prone_vertices(model)[None, :, None])[0, ..., 0]
    prone = _gauss(prone[None], 1.5)[0] * skin
    grid = sup.left_grid[0]      # texels on the right side take the pattern from their mirror texel
    pats = torch.stack([torch.stack([_gabor_bank(size, wl, seed * 100 + 10 * p + d)
                                     for d, wl in enumerate((4.5, 6.5))]) for p in range(N_PATTERNS)])
    g = torch.Generator().manual_seed(seed + 7)
    pores = torch.randn(size, size, generator=g)
    pores = pores - _gauss(pores[None], 2.0)[0]
    pores = pores / pores.std()
    bumps = _gauss(torch.randn(1, size, size, generator=g), 1.2)[0]
    bumps = bumps - _gauss(bumps[None], 4.0)[0]
    bumps = bumps / bumps.std()
    # muscle territories and directions in UV: the stripe normal of a 3D direction t is J0^T t,
    # i.e. (P_u . t, P_v . t) with the position map's UV derivatives
    T, D = _territories(model)
    v = model.v_template
    P = world_to_uv(raster, v[None])
    pu, pv = _uv_derivatives(P, raster.mask)
    in_uv = lambda x: interpolate(raster.fragments, faces, x[None, :, None])[0, ..., 0] * skin  # noqa: E731
    drivers, maps, angles = [], [], []
    for name, (drv, terr, kind, strength) in MUSCLES.items():
        t3 = Fn.normalize(interpolate(raster.fragments, faces, D[kind][None]), dim=-1, eps=1e-9)[0]
        gu, gv = (pu[0] * t3).sum(-1), (pv[0] * t3).sum(-1)
        drivers.append(_drivers(model, drv)); maps.append(in_uv(T[terr]) * strength); angles.append(torch.atan2(-gv, gu))
    face = FaceLandmarks.of(model)
    lines = {f"naso.{s}": face.nasolabial_line(s) for s in "LR"} | {f"marionette.{s}": face.marionette_line(s) for s in "LR"}
    fold_drivers, fold_maps = [], {}
    for name, (drv, kind, where, width, depth) in FOLDS.items():
        fold_drivers.append(_drivers(model, drv))
        if name.endswith(".R"):   # the left one mirrored: symmetric expressions give symmetric maps
            left = fold_maps[name[:-1] + "L"][None, None]
            fold_maps[name] = Fn.grid_sample(left, sup.mirror_grid, mode="bilinear", align_corners=False)[0, 0] * skin
            continue
        place = segment_points(*lines[where], 16) if kind == "groove" else in_uv(T[where])
        fold_maps[name] = depth * _fold_map(kind, place, width, P[0], bumps) * skin
    return GeneratorTables(size, skin, prone, grid, pats, pores, torch.stack(drivers), torch.stack(maps),
                           torch.stack(angles), torch.stack(fold_drivers), torch.stack(list(fold_maps.values())))


def person_code(depth: float, age: float, density: float, pores: float, pattern: np.ndarray) -> np.ndarray:
    """Interpretable person parameters in [0, 1] (pattern: 4 mixing weights) -> (128,) code."""
    c = np.zeros(CODE_DIM, np.float32)
    c[:4] = [depth, age, density, pores]
    c[4:8] = np.asarray(pattern, np.float32)
    return c


def _activations(drivers: torch.Tensor, expression: torch.Tensor, jaw: torch.Tensor) -> torch.Tensor:
    """(B, 52) ARKit weights, (B, 3) jaw axis-angle -> (B, M) activations in [0, 1]."""
    return (torch.cat([expression, jaw[:, :1].clamp(min=0)], 1) @ drivers.T).clamp(0, 1)


def compression_field(model: HeadModel, tables: GeneratorTables, expression: torch.Tensor,
                      jaw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-texel compression c >= 0 and the UV angle of the compression direction, for a batch:
    the sum of the active muscles' compression in their territories, the angle their
    compression-weighted mean (doubled angles: directions are unsigned). -> (B, S, S) twice."""
    cm = torch.einsum("bm,mhw->bmhw", _activations(tables.muscle_drivers, expression, jaw), tables.muscle_maps)
    cos2 = (cm * torch.cos(2 * tables.muscle_angle)).sum(1)
    sin2 = (cm * torch.sin(2 * tables.muscle_angle)).sum(1)
    return cm.sum(1) * tables.mask, 0.5 * torch.atan2(sin2, cos2)


def generate(model: HeadModel, tables: GeneratorTables, code: torch.Tensor, expression: torch.Tensor,
             jaw: torch.Tensor) -> torch.Tensor:
    """code (B, 128), expression (B, 52) ARKit weights, jaw (B, 3) -> (B, S, S) metres."""
    with torch.no_grad():
        comp, ang = compression_field(model, tables, expression, jaw)
        depth, age, density, pores = (code[:, i][:, None, None] for i in range(4))
        mix = code[:, 4:8].clamp(min=0)
        mix = mix / mix.sum(1, keepdim=True).clamp(min=1e-6)
        # orientation weights: stripe normal along the compression direction
        angles = torch.arange(N_ORIENT) * np.pi / N_ORIENT
        w = torch.cos(2 * (ang[:, None] - angles[None, :, None, None])).clamp(min=0) ** 4
        w = w / w.sum(1, keepdim=True).clamp(min=1e-6)
        pats = tables.patterns                                           # (P, 2, K, S, S)
        dens = torch.stack([1 - density, density], 1)[..., 0, 0]         # (B, 2)
        bank = torch.einsum("bp,bd,pdkhw->bkhw", mix, dens, pats)         # (B, K, S, S)
        stripes = (w * bank).sum(1)
        # mirror the pattern left -> right so symmetric expressions give symmetric maps
        stripes = Fn.grid_sample(stripes[:, None], tables.mirror_src[None].expand(len(code), -1, -1, -1),
                                 mode="bilinear", align_corners=False)[:, 0]
        valleys = torch.relu(stripes) ** 1.5
        strength = ((comp - COMPRESSION_START) / (COMPRESSION_FULL - COMPRESSION_START)).clamp(0, 1)
        amp = MAX_DEPTH * (0.3 + 0.7 * depth) * (0.5 + 0.5 * age) * tables.prone * strength
        lines = -amp * valleys * (0.6 + 0.4 * age)
        act = _activations(tables.fold_drivers, expression, jaw)
        folds = (0.4 + 0.6 * depth) * (0.5 + 0.5 * age) * torch.einsum("bf,fhw->bhw", act, tables.fold_maps)
        static = PORE_DEPTH * pores * tables.pores[None] * tables.mask
        return (lines + folds + static).clamp(-0.01, 0.01)


def basis_textures(tables: GeneratorTables) -> torch.Tensor:
    """(N_PATTERNS * 2 * N_ORIENT + 1, S, S): the furrow shape of every line pattern, density and
    orientation (valleys of the stripe field, as `generate` shapes them) and the pore texture.
    The OpenHead decoder starts its texture bank from these: it then has to learn where, how deep
    and which furrows form for a person and an expression (the gates), not the stripe noise."""
    pats = tables.patterns.reshape(-1, tables.size, tables.size)
    return torch.cat([torch.relu(pats) ** 1.5, tables.pores[None] * PORE_DEPTH * 1000 * tables.mask[None]])


def sample_expressions(n: int, names: list[str], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Expressions that exercise wrinkles: key poses (brows up, frown, squint, smile, jaw open,
    pucker, sneer) and random sparse mixes; a third are neutral-ish. -> (n, 52), (n, 3) jaw."""
    key = {
        "brows": ["browInnerUp", "browOuterUpLeft", "browOuterUpRight"],
        "frown": ["browDownLeft", "browDownRight"],
        "squint": ["eyeSquintLeft", "eyeSquintRight", "cheekSquintLeft", "cheekSquintRight"],
        "smile": ["mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight"],
        "pucker": ["mouthPucker", "mouthFunnel"],
        "sneer": ["noseSneerLeft", "noseSneerRight", "mouthUpperUpLeft", "mouthUpperUpRight"],
        "blink": ["eyeBlinkLeft", "eyeBlinkRight"],
    }
    usable = [i for i, nm in enumerate(names) if not nm.startswith(("eyeLook", "tongue", "jaw"))]
    E = np.zeros((n, len(names)), np.float32)
    J = np.zeros((n, 3), np.float32)
    for i in range(n):
        r = rng.random()
        if r < 0.15:
            pass                                           # neutral
        elif r < 0.6:
            for group in rng.choice(list(key), size=rng.integers(1, 3), replace=False):
                s = rng.uniform(0.3, 1.0)
                for nm in key[group]:
                    side = rng.uniform(0.7, 1.0) if rng.random() < 0.3 else 1.0
                    E[i, names.index(nm)] = s * side
        else:
            k = rng.integers(1, 5)
            E[i, rng.choice(usable, size=k, replace=False)] = rng.uniform(0.2, 1.0, k)
        if rng.random() < 0.35:
            J[i, 0] = rng.uniform(0.05, 0.35)
    return E, J
