"""A hard key light and the shadows it casts, read from the face's left/right symmetry.

The fit's light is second-order SH. Under one strong light from the side, SH cannot hold the
clamped cosine's dark side (it dips and tints) nor the shadows the nose, the brows and the
cheekbones cast; divided by it, the photo leaves a patchy, darker half face in the albedo
(delight.py takes out only its broad part). Here the photo's light is read as an ambient plus one
directional key, per channel, with the head's own shadows (render/shadow.py):

    shading(t) = A_c (1 + r max(0, n_t . l) V_l(p_t))

The albedo is unknown, but a face's reflectance is close to mirror symmetric, so on texel pairs
(t, mirror of t) both seen on plain skin the photo's log-luminance difference is the shading's.
The key's direction l (a grid, refined) and ratio r are those that explain these differences
best; the key replaces the SH shading only when it is a hard key that explains them clearly
better than the SH does (KeyLight.wins), so an evenly lit face keeps its SH shading.

UV maps (S, S, ...), row 0 at v = 1; colours linear; normals, positions and directions in the
camera frame (x right, y up, +z towards the camera), metres.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as Fn

from ..render import sh_shading
from ..render.shadow import light_visibility
from ..uvspace.atlas import UVSupport
from .fill import area_shrink

WORK_SIZE = 256                     # texels per side where the pairs are read
PAIR_TRUST = 0.5                    # plain-skin weight both texels of a pair need, at WORK_SIZE
MIN_PAIRS = 400
RATIOS = torch.tensor([0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 11.0, 16.0, 24.0])   # key over ambient
AZIMUTHS_DEG = range(-90, 91, 15)   # the coarse grid (0 = from the camera, + from the image's right)
ELEVATIONS_DEG = range(-30, 61, 15)
COARSE_PAIRS = 1000                 # about this many pairs in the unshadowed search
SHADOWED_CANDIDATES = 3             # coarse directions tested again with their shadows
REFINE_DEG = (6.0, 3.0)             # then the best's four neighbours, at these steps
SEARCH_MAP = 256                    # the search's shadow maps, pixels square (the shading's: 1024)
TRIM = 0.8                          # share of the pairs the misfits are measured on
COARSE_WINS = 0.9                   # the unshadowed search's best misfit over the SH's, at most, to go on
KEY_WINS = 0.8                      # the key's misfit at most this share of the SH's to be used ...
HARD_KEY = 4.0                      # ... and its ratio at least this (NOTES.md)
HIGHLIGHT_LOBE_DEG = 40.0           # a highlight lies within this of the key's mirror direction ...
HIGHLIGHT_GAP = 0.05                # ... and is brighter than its mirror by this log luminance (full at twice)


@dataclass
class KeyLight:
    direction: torch.Tensor    # (3,) unit, towards the light, camera frame
    ratio: float               # key irradiance at normal incidence over the ambient (luminance; the
                               # colour of the light is the SH's, refitted afterwards)
    misfit: float              # mean |log-luminance difference| the key leaves on the pairs
    sh_misfit: float           # the same for the SH shading

    @property
    def azimuth_elevation_deg(self) -> tuple[float, float]:
        """Where the key comes from: azimuth (0 from the camera, + from the image's right) and
        elevation (+ from above), degrees."""
        d = self.direction
        return math.degrees(math.atan2(float(d[0]), float(d[2]))), math.degrees(math.asin(float(d[1].clamp(-1, 1))))

    @property
    def wins(self) -> bool:
        """A hard key, which explains the photo clearly better than the SH: the albedo is
        divided by its shading instead."""
        return self.misfit <= KEY_WINS * self.sh_misfit and self.ratio >= HARD_KEY


@dataclass
class _Pairs:
    """Texel pairs (t on the right side, its mirror m) at WORK_SIZE, both seen on plain skin."""

    log_gap: torch.Tensor      # (n, 3) log colour at t minus at m
    normals: torch.Tensor      # (2, n, 3) unit, t then m
    positions: torch.Tensor    # (2, n, 3) metres


def _direction(az_deg: float, el_deg: float) -> torch.Tensor:
    az, el = math.radians(az_deg), math.radians(el_deg)
    return torch.tensor([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])


def _pairs(colour: torch.Tensor, weight: torch.Tensor, normals: torch.Tensor, positions: torch.Tensor,
           sup: UVSupport) -> _Pairs | None:
    W = WORK_SIZE
    w = area_shrink(weight[..., None], W)
    maps = torch.cat([area_shrink(colour * weight[..., None], W) / w.clamp(min=1e-6),
                      area_shrink(normals * weight[..., None], W) / w.clamp(min=1e-6),
                      area_shrink(positions * weight[..., None], W) / w.clamp(min=1e-6), w], -1)
    mirror = sup.mirrored(maps, mode="nearest")
    small = lambda m: Fn.interpolate(m[None, None].float(), size=(W, W), mode="nearest")[0, 0] > 0.5  # noqa: E731
    sel = small(sup.right_side & sup.has_mirror) & (maps[..., 9] > PAIR_TRUST) & (mirror[..., 9] > PAIR_TRUST)
    if int(sel.sum()) < MIN_PAIRS:
        return None
    t, m = maps[sel], mirror[sel]
    log_gap = torch.log(t[:, :3].clamp(min=1e-3)) - torch.log(m[:, :3].clamp(min=1e-3))
    return _Pairs(log_gap, Fn.normalize(torch.stack([t[:, 3:6], m[:, 3:6]]), dim=-1),
                  torch.stack([t[:, 6:9], m[:, 6:9]]))


def _misfit(log_gap: torch.Tensor, cosines: torch.Tensor) -> torch.Tensor:
    """log_gap (n,), cosines (..., 2, n) of the key at t and m (shadows applied) -> (...,
    len(RATIOS)) the misfit of each ratio: see _trimmed."""
    r = RATIOS[:, None]
    pred = torch.log1p(r * cosines[..., None, 0, :]) - torch.log1p(r * cosines[..., None, 1, :])   # (..., R, n)
    return _trimmed(log_gap - pred)


def _trimmed(res: torch.Tensor) -> torch.Tensor:
    """(..., n) residuals -> (...,) the mean |residual| after the best constant offset (the
    median), over the TRIM share of the pairs it fits best: hair over one side, a mole or a
    brow a little off its mirror are not light."""
    res = (res - res.median(-1, keepdim=True).values).abs()
    k = max(1, int(TRIM * res.shape[-1]))
    cut = res.kthvalue(k, dim=-1, keepdim=True).values
    keep = (res <= cut).to(res.dtype)
    return (res * keep).sum(-1) / keep.sum(-1)


def _search(pairs: _Pairs, lum: torch.Tensor, sh_misfit: float, shadows) -> tuple[float, float, float] | None:
    """-> (misfit, azimuth, elevation in degrees) of the best key, or None when no direction
    explains the pairs clearly better than the SH before shadows are even looked at."""
    grid = [(a, e) for a in AZIMUTHS_DEG for e in ELEVATIONS_DEG]
    dirs = torch.stack([_direction(a, e) for a, e in grid])                        # (D, 3)
    few = slice(None, None, max(1, lum.shape[0] // COARSE_PAIRS))                 # an even spread of pairs
    cos = (pairs.normals[None, :, few] @ dirs[:, None, :, None])[..., 0].clamp(min=0)   # (D, 2, n')
    coarse = _misfit(lum[few], cos).min(-1).values                                 # (D,)
    if float(coarse.min()) > COARSE_WINS * sh_misfit:
        return None

    def score(a: float, e: float) -> tuple[float, float, float]:
        d = _direction(a, e)
        return float(_misfit(lum, (pairs.normals @ d).clamp(min=0) * shadows(d)).min()), a, e

    best = min(score(*grid[i]) for i in coarse.argsort()[:SHADOWED_CANDIDATES].tolist())
    for step in REFINE_DEG:
        best = min([best] + [score(best[1] + da * step, best[2] + de * step)
                             for da, de in ((-1, 0), (1, 0), (0, -1), (0, 1))])
    return best


def fit_key_light(colour: torch.Tensor, weight: torch.Tensor, normals: torch.Tensor, positions: torch.Tensor,
                  sh_light: torch.Tensor, sup: UVSupport, vertices: torch.Tensor,
                  faces: torch.Tensor) -> KeyLight | None:
    """colour (S, S, 3) the photo at each texel, linear; weight (S, S) in [0, 1]: how well it saw
    each texel of plain skin; normals, positions (S, S, 3) of the fitted surface; sh_light (9, 3)
    the fitted SH light; vertices (V, 3), faces (F, 3) the fitted mesh (its own shadows).
    -> the key light, or None where too little of both sides was seen or no key explains the
    pairs clearly better than the SH (see KeyLight.wins for the final test)."""
    pairs = _pairs(colour, weight, normals, positions, sup)
    if pairs is None:
        return None
    lum = pairs.log_gap.mean(-1)
    sh = torch.log(sh_shading(pairs.normals, sh_light[None].expand(2, 9, 3)).clamp(min=1e-3)).mean(-1)
    sh_misfit = float(_trimmed(lum - (sh[0] - sh[1])))

    def shadows(d: torch.Tensor) -> torch.Tensor:
        pts = pairs.positions.reshape(-1, 3)
        return light_visibility(vertices, faces, pts, pairs.normals.reshape(-1, 3), d, SEARCH_MAP).reshape(2, -1)

    best = _search(pairs, lum, sh_misfit, shadows)
    if best is None:
        return None
    d = _direction(best[1], best[2])
    cos = (pairs.normals @ d).clamp(min=0) * shadows(d)
    return KeyLight(d, float(RATIOS[_misfit(lum, cos).argmin()]), best[0], sh_misfit)


def key_shading(key: KeyLight, normals: torch.Tensor, positions: torch.Tensor, valid: torch.Tensor,
                vertices: torch.Tensor, faces: torch.Tensor,
                sh_light: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(S, S, 3) irradiance of the key light and its ambient at the fitted surface (normals,
    positions (S, S, 3) camera frame; valid (S, S) the texels to shade), scaled per channel to
    the SH light's irradiance over them (least squares: the albedo keeps its level; a median
    would sit on the shadowed or the lit mode); and (S, S) in [0, 1] the key's share of each
    texel's shading (how much it leans on the fitted normals)."""
    S = normals.shape[0]
    n, p = normals[valid], positions[valid]
    lit = (n @ key.direction).clamp(min=0) * light_visibility(vertices, faces, p, n, key.direction, size=1024)
    rel = (1 + key.ratio * lit)[:, None]                                      # (n, 1)
    sh = sh_shading(n[None], sh_light[None])[0]
    rel = rel * ((rel * sh).sum(0) / (rel * rel).sum(0))[None]     # nearest the SH in least squares
    out, share = torch.ones(S, S, 3), torch.zeros(S, S)
    out[valid] = rel
    share[valid] = key.ratio * lit / (1 + key.ratio * lit)
    return out, share


def key_highlights(albedo: torch.Tensor, weight: torch.Tensor, normals: torch.Tensor, key: KeyLight,
                   sup: UVSupport) -> torch.Tensor:
    """albedo (S, S, 3) de-lit by the key; weight (S, S) how well the photo saw each texel of skin;
    normals (S, S, 3) camera frame. -> (S, S) in [0, 1]: 1 on the key's specular highlight, which
    the diffuse shading does not hold: texels within HIGHLIGHT_LOBE_DEG of the mirror direction
    (the half vector between the key and the camera) brighter than their mirror by more than
    HIGHLIGHT_GAP in log luminance (the albedo is symmetric; the highlight is on one side). They
    are filled from the mirror as one-sided occluders are."""
    S, W = weight.shape[0], WORK_SIZE
    w = area_shrink(weight[..., None], W)
    mean = area_shrink(albedo * weight[..., None], W) / w.clamp(min=1e-6)
    lum = torch.log(mean.mean(-1, keepdim=True).clamp(min=1e-3))
    half = Fn.normalize(key.direction + torch.tensor([0.0, 0.0, 1.0]), dim=0)
    n = Fn.normalize(area_shrink(normals, W), dim=-1)
    lobe = ((n @ half) > math.cos(math.radians(HIGHLIGHT_LOBE_DEG))) & ((n @ key.direction) > 0)
    mirror = sup.mirrored(torch.cat([lum, w], -1), mode="nearest")
    has = sup.has_mirror_at(W)
    both = has & (w[..., 0] > PAIR_TRUST) & (mirror[..., 1] > PAIR_TRUST)
    gap = lum[..., 0] - mirror[..., 0]
    strength = ((gap - HIGHLIGHT_GAP) / HIGHLIGHT_GAP).clamp(0, 1) * (lobe & both)
    return Fn.interpolate(strength[None, None], size=(S, S), mode="bilinear", align_corners=False)[0, 0]
