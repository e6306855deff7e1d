"""Synthetic expression wrinkles for OpenHead: the training data of the OpenHead detail decoder.

Real face datasets are out of reach here, so the decoder learns from a documented, physically
motivated generator:

1. Strain. For an expression (52 ARKit weights) and a jaw rotation, compare each triangle's
   deformed shape with its rest shape through the UV parameterisation: metrics G0 = J0^T J0,
   G1 = J1^T J1 (J = d position / d uv). The principal stretches are sqrt of the eigenvalues of
   G0^-1 G1; skin is compressed where the smaller one is below 1, by c = 1 - lambda_min, along
   the eigenvector (a UV direction).
   The blendshapes under-represent what muscles do to the skin (a brow raise lifts the brows but
   barely shortens the upper forehead), so each muscle action adds the compression it causes in
   its own territory, along its anatomical direction (MUSCLES below): frontalis shortens the
   forehead vertically, corrugators pull the glabella together, orbicularis oculi gathers the
   skin around the eye corner, the sneer shortens the nose sides, the zygomatic smile folds
   the nasolabial line, orbicularis oris purses the lips, platysma tightens the neck.
2. Furrows form where skin is compressed, running perpendicular to the compression: a stripe
   pattern whose crests are perpendicular to the local compression direction (Gabor-filtered
   noise at 8 orientations, blended per texel by orientation), shaped into valleys, with depth
   growing with compression above a threshold.
3. Anatomy. Depth is modulated by a wrinkle-prone map built from the 68 landmarks: forehead,
   glabella, crow's feet, lower eyelids, bunny lines, nasolabial and marionette folds, chin,
   neck bands — the places where expression lines form.
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

from headsmith.headmodel import HeadModel, HeadPose
from headsmith.render import interpolate, world_to_uv

CODE_DIM = 128
PERSON_DIMS = ("depth", "age", "density", "pores", "pattern0", "pattern1", "pattern2", "pattern3")
N_ORIENT = 8
N_PATTERNS = 4
COMPRESSION_START = 0.01      # no lines below 1 % (smoothed) compression
COMPRESSION_BLUR = 5.0        # texels (~15 mm at 256): skin spreads compression to its surroundings
COMPRESSION_FULL = 0.07
MAX_DEPTH = 0.0012            # metres, the deepest expression line
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


# muscle action: (ARKit drivers with weights, territory, compression direction kind, strength)
MUSCLES = {
    "frontalis.L": ({"browInnerUp": 0.6, "browOuterUpLeft": 1.0}, "forehead.L", "vertical", 0.12),
    "frontalis.R": ({"browInnerUp": 0.6, "browOuterUpRight": 1.0}, "forehead.R", "vertical", 0.12),
    "corrugator": ({"browDownLeft": 0.5, "browDownRight": 0.5}, "glabella", "horizontal", 0.12),
    "procerus": ({"noseSneerLeft": 0.5, "noseSneerRight": 0.5, "browDownLeft": 0.25, "browDownRight": 0.25},
                 "nose_root", "vertical", 0.10),
    "oculi.L": ({"eyeSquintLeft": 1.0, "cheekSquintLeft": 0.7, "mouthSmileLeft": 0.4}, "crows.L", "around.L", 0.12),
    "oculi.R": ({"eyeSquintRight": 1.0, "cheekSquintRight": 0.7, "mouthSmileRight": 0.4}, "crows.R", "around.R", 0.12),
    "lid.L": ({"eyeSquintLeft": 0.8, "cheekSquintLeft": 0.6, "eyeBlinkLeft": 0.3}, "lower_lid.L", "vertical", 0.08),
    "lid.R": ({"eyeSquintRight": 0.8, "cheekSquintRight": 0.6, "eyeBlinkRight": 0.3}, "lower_lid.R", "vertical", 0.08),
    "sneer": ({"noseSneerLeft": 0.5, "noseSneerRight": 0.5}, "bunny", "vertical", 0.10),
    "zygomatic.L": ({"mouthSmileLeft": 1.0, "mouthUpperUpLeft": 0.5, "cheekSquintLeft": 0.4}, "naso.L", "across_naso.L", 0.12),
    "zygomatic.R": ({"mouthSmileRight": 1.0, "mouthUpperUpRight": 0.5, "cheekSquintRight": 0.4}, "naso.R", "across_naso.R", 0.12),
    "depressor.L": ({"mouthFrownLeft": 1.0, "mouthStretchLeft": 0.4}, "marionette.L", "across_marionette.L", 0.10),
    "depressor.R": ({"mouthFrownRight": 1.0, "mouthStretchRight": 0.4}, "marionette.R", "across_marionette.R", 0.10),
    "oris": ({"mouthPucker": 1.0, "mouthFunnel": 0.7, "mouthPressLeft": 0.3, "mouthPressRight": 0.3},
             "perioral", "around_mouth", 0.10),
    "mentalis": ({"mouthShrugLower": 1.0, "mouthRollLower": 0.5, "mouthPressLeft": 0.3, "mouthPressRight": 0.3},
                 "chin", "vertical", 0.08),
    "platysma": ({"mouthStretchLeft": 0.5, "mouthStretchRight": 0.5, "mouthFrownLeft": 0.3, "mouthFrownRight": 0.3},
                 "neck", "horizontal", 0.08),
}


@dataclass
class GeneratorTables:
    """Everything that depends only on the model and resolution (computed once)."""

    size: int
    face_index: torch.Tensor      # (S, S) face under each texel, -1 outside
    mask: torch.Tensor            # (S, S) bool: skin texels
    prone: torch.Tensor           # (S, S) anatomical wrinkle-proneness in [0, 1]
    mirror_src: torch.Tensor      # (S, S, 2) grid coords to sample the pattern from (left side)
    patterns: torch.Tensor        # (N_PATTERNS, 2 densities, N_ORIENT, S, S)
    pores: torch.Tensor           # (S, S) unit-std fine noise
    uv_inv: torch.Tensor          # (F, 2, 2) inverse UV edge matrices
    rest_edges: torch.Tensor      # (F, 3, 2) rest-pose position edges (p1-p0, p2-p0)
    muscle_drivers: torch.Tensor  # (M, 52) weights of the ARKit expressions driving each muscle
    muscle_maps: torch.Tensor     # (M, S, S) compression per unit activation in the territory
    muscle_angle: torch.Tensor    # (M, S, S) UV angle of the stripe normal (compression direction)


def _prone_vertices(model: HeadModel) -> torch.Tensor:
    """(V,) wrinkle-proneness from the neutral landmarks (FLAME frame, metres)."""
    v = model.v_template
    L = model().landmarks3d[0].detach()

    def near(points, radius, weight=1.0):
        d = torch.cdist(v, points).min(1).values
        return weight * torch.exp(-(d / radius) ** 2)

    brow_y = L[17:27, 1].max()
    forehead = torch.sigmoid((v[:, 1] - brow_y) / 0.004) * torch.sigmoid((brow_y + 0.07 - v[:, 1]) / 0.01) \
        * torch.sigmoid((0.06 - v[:, 0].abs()) / 0.008) * (v[:, 2] > L[27, 2] - 0.05).float()
    glabella = near(L[[21, 22, 27]], 0.012)
    crows = near(L[[36, 45]] + torch.tensor([[-0.012, 0, -0.008], [0.012, 0, -0.008]]), 0.013)
    lower_lid = near(L[[40, 41, 46, 47]] - torch.tensor([0, 0.006, 0]), 0.008, 0.7)
    bunny = near(L[[28, 29]], 0.010, 0.8)
    t = torch.linspace(0, 1, 6)[:, None]
    naso = near(torch.cat([L[31] * (1 - t) + L[48] * t, L[35] * (1 - t) + L[54] * t])
                + torch.tensor([0, 0, 0.0]), 0.008)
    marionette = near(torch.cat([L[48] * (1 - t) + L[6] * t, L[54] * (1 - t) + L[10] * t]), 0.008, 0.8)
    chin = near(L[[7, 8, 9, 57]] + torch.tensor([0, 0.008, 0]), 0.010, 0.7)
    neck = torch.sigmoid((L[8, 1] - 0.02 - v[:, 1]) / 0.01) * (v[:, 2] > L[8, 2] - 0.07).float() * 0.6
    prone = torch.stack([forehead, glabella, crows, lower_lid, bunny, naso, marionette, chin, neck]).max(0).values
    return prone.clamp(0, 1) * (model.vertex_part == 0).float()


def _territories(model: HeadModel):
    """Soft vertex masks (V,) per territory and 3D compression directions (V, 3), from landmarks."""
    v = model.v_template
    L = model().landmarks3d[0].detach()
    skin = (model.vertex_part == 0).float()

    def blob(points, radius):
        return torch.exp(-(torch.cdist(v, points).min(1).values / radius) ** 2)

    def seg(a, b, n=8):
        t = torch.linspace(0, 1, n)[:, None]
        return a * (1 - t) + b * t

    brow_y = L[17:27, 1].max()
    front = (v[:, 2] > L[27, 2] - 0.05).float()
    forehead = torch.sigmoid((v[:, 1] - brow_y + 0.002) / 0.004) * torch.sigmoid((brow_y + 0.06 - v[:, 1]) / 0.008) \
        * torch.sigmoid((0.055 - v[:, 0].abs()) / 0.008) * front
    side = {"L": torch.sigmoid(v[:, 0] / 0.004), "R": torch.sigmoid(-v[:, 0] / 0.004)}
    corner = {"L": L[45] + torch.tensor([0.008, 0.0, -0.006]), "R": L[36] + torch.tensor([-0.008, 0.0, -0.006])}
    mouth_c = L[48:60].mean(0)
    T = {
        "forehead.L": forehead * side["L"], "forehead.R": forehead * side["R"],
        "glabella": blob(L[[21, 22]].mean(0, keepdim=True) + torch.tensor([[0, 0.004, 0]]), 0.011),
        "nose_root": blob(L[27:28] + torch.tensor([[0, 0.004, 0]]), 0.009),
        "crows.L": blob(corner["L"][None], 0.014) * side["L"], "crows.R": blob(corner["R"][None], 0.014) * side["R"],
        "lower_lid.L": blob(L[[46, 47]] - torch.tensor([0, 0.007, 0]), 0.008),
        "lower_lid.R": blob(L[[40, 41]] - torch.tensor([0, 0.007, 0]), 0.008),
        "bunny": blob(L[[28, 29]] + torch.tensor([[0.007, 0, -0.004], [-0.007, 0, -0.004]]), 0.008),
        "naso.L": blob(seg(L[35] + torch.tensor([0.006, 0, 0]), L[54] + torch.tensor([0.006, 0, 0])), 0.007),
        "naso.R": blob(seg(L[31] - torch.tensor([0.006, 0, 0]), L[48] - torch.tensor([0.006, 0, 0])), 0.007),
        "marionette.L": blob(seg(L[54], L[10] + torch.tensor([-0.01, 0.01, 0])), 0.007),
        "marionette.R": blob(seg(L[48], L[6] + torch.tensor([0.01, 0.01, 0])), 0.007),
        "perioral": blob(L[48:60], 0.008) * (1 - blob(L[60:68], 0.004)),
        "chin": blob(L[[7, 8, 9]] + torch.tensor([0, 0.012, 0.0]), 0.011),
        "neck": torch.sigmoid((L[8, 1] - 0.015 - v[:, 1]) / 0.008) * (v[:, 2] > L[8, 2] - 0.08).float(),
    }
    T = {k: m * skin for k, m in T.items()}
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
         "around.L": around(corner["L"]), "around.R": around(corner["R"]), "around_mouth": around(mouth_c),
         "across_naso.L": across(L[35], L[54]), "across_naso.R": across(L[31], L[48]),
         "across_marionette.L": across(L[54], L[10]), "across_marionette.R": across(L[48], L[6])}
    return T, D


def build_tables(model: HeadModel, size: int = 256, seed: int = 0) -> GeneratorTables:
    from headsmith.uvspace import uv_support

    lay = model.uv_layout
    uv, uvf, faces = lay.uv.float(), lay.faces, model.faces
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
    e1 = uv[uvf[:, 1]] - uv[uvf[:, 0]]
    e2 = uv[uvf[:, 2]] - uv[uvf[:, 0]]
    Muv = torch.stack([e1, e2], -1)                     # (F, 2, 2) columns = uv edges
    det = Muv.det()
    ok = det.abs() > 1e-12
    inv = torch.where(ok[:, None, None], torch.linalg.inv(torch.where(ok[:, None, None], Muv, torch.eye(2))), torch.zeros(2, 2))
    v = model.v_template
    rest_edges = torch.stack([v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]]], -1)  # (F, 3, 2)
    # muscle territories and directions in UV: the stripe normal of a 3D direction t is J0^T t,
    # i.e. (P_u . t, P_v . t) with the position map's UV derivatives
    from headsmith.render.uv import _uv_derivatives
    T, D = _territories(model)
    P = world_to_uv(raster, v[None])
    pu, pv = _uv_derivatives(P, raster.mask)
    drivers, maps, angles = [], [], []
    for name, (drv, terr, kind, strength) in MUSCLES.items():
        w = torch.zeros(len(model.expression_names))
        for e, k in drv.items():
            w[model.expression_names.index(e)] = k
        m = interpolate(raster.fragments, faces, T[terr][None, :, None])[0, ..., 0] * skin
        t3 = Fn.normalize(interpolate(raster.fragments, faces, D[kind][None]), dim=-1, eps=1e-9)[0]
        gu, gv = (pu[0] * t3).sum(-1), (pv[0] * t3).sum(-1)
        drivers.append(w); maps.append(m * strength); angles.append(torch.atan2(-gv, gu))
    return GeneratorTables(size, fi, skin, prone, grid, pats, pores, inv, rest_edges,
                           torch.stack(drivers), torch.stack(maps), torch.stack(angles))


def person_code(depth: float, age: float, density: float, pores: float, pattern: np.ndarray) -> np.ndarray:
    """Interpretable person parameters in [0, 1] (pattern: 4 mixing weights) -> (128,) code."""
    c = np.zeros(CODE_DIM, np.float32)
    c[:4] = [depth, age, density, pores]
    c[4:8] = np.asarray(pattern, np.float32)
    return c


def compression_field(model: HeadModel, tables: GeneratorTables, expression: torch.Tensor,
                      jaw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-texel compression c >= 0 and the UV angle of the compression direction, for a batch.
    Returns (B, S, S) and (B, S, S) radians."""
    B = expression.shape[0]
    pose = HeadPose.zeros(B)
    pose.jaw = jaw
    out = model(expression=expression, pose=pose)
    # undo the head's rigid motion: compare in the rest frame (global pose is zero here)
    v = out.vertices
    f = model.faces
    J1e = torch.stack([v[:, f[:, 1]] - v[:, f[:, 0]], v[:, f[:, 2]] - v[:, f[:, 0]]], -1)  # (B, F, 3, 2)
    J0 = tables.rest_edges[None] @ tables.uv_inv[None]             # (1, F, 3, 2): d pos / d uv
    J1 = J1e @ tables.uv_inv[None]
    G0 = J0.transpose(-1, -2) @ J0
    G1 = J1.transpose(-1, -2) @ J1
    # generalised eigenproblem G1 x = l G0 x via G0^-1/2
    e0, V0 = torch.linalg.eigh(G0 + 1e-12 * torch.eye(2))
    W = V0 @ torch.diag_embed(e0.clamp(min=1e-12).rsqrt()) @ V0.transpose(-1, -2)
    M = W @ G1 @ W
    lam, Q = torch.linalg.eigh(M)                                   # ascending
    stretch_min = lam[..., 0].clamp(min=0).sqrt()
    comp = (1 - stretch_min).clamp(min=0)
    x = (W @ Q[..., :, :1])[..., 0]                                 # UV direction of compression
    d = (G0 @ x[..., None])[..., 0]                                 # the phase gradient direction in UV
    ang = torch.atan2(-d[..., 1], d[..., 0])                        # image rows grow with -v
    fi = tables.face_index.clamp(min=0)
    c_map = comp[:, fi] * (tables.face_index >= 0)
    # average doubled angles (directions are unsigned), weighted by compression
    cos2 = (torch.cos(2 * ang) * comp)[:, fi]
    sin2 = (torch.sin(2 * ang) * comp)[:, fi]
    sm = lambda t: torch.stack([_gauss(t[b:b + 1], COMPRESSION_BLUR)[0] for b in range(B)])  # noqa: E731
    c_s, cos_s, sin_s = sm(c_map), sm(cos2), sm(sin2)
    # muscle actions: compression in their territories, along their directions
    act = (expression @ tables.muscle_drivers.T).clamp(0, 1)          # (B, M)
    cm = torch.einsum("bm,mhw->bmhw", act, tables.muscle_maps)
    cos_s = cos_s + (cm * torch.cos(2 * tables.muscle_angle)).sum(1)
    sin_s = sin_s + (cm * torch.sin(2 * tables.muscle_angle)).sum(1)
    c_s = c_s + cm.sum(1)
    return c_s * tables.mask, 0.5 * torch.atan2(sin_s, cos_s)


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
        dynamic = -amp * valleys * (0.6 + 0.4 * age)
        static = PORE_DEPTH * pores * tables.pores[None] * tables.mask
        return (dynamic + static).clamp(-0.01, 0.01)


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
