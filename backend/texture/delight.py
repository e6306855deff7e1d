"""De-lighting past the SH light: what a strong key light leaves in an unwrapped photo.

The fit's light is second-order spherical harmonics, which cannot hold a hard key light's cast
shadows (the nose's on the cheek, the eye sockets), its dark side's falloff or a coloured light
from one side; divided by the SH shading, the photo keeps them as a darker, tinted half face.
Faces are close to left/right symmetric in reflectance at the scale of such shading (a few
centimetres) and lights are not, so the broad part of the unwrapped colour that differs between
a texel and its mirror is taken as light: each side moves half way towards the other, in log
colour per channel, where both sides were seen on plain skin. Smaller asymmetric marks (a mole,
freckles, a scar) are finer than the low-pass and stay.

The light it takes out of the albedo goes back into the photo's SH light (`refit_light`), so
that the albedo under the photo's light still draws the photo (the render over the photo, the
shape-from-shading detail), as far as second-order SH can.
"""
from __future__ import annotations

import torch
import torch.nn.functional as Fn

from ..render import sh_basis
from ..render.shading import light_tint
from ..uvspace.atlas import UVSupport
from .fill import area_shrink, gaussian_blur, weighted_blur

WORK_SIZE = 256            # texels per side of the low-pass (the shading it removes is broad)
SYMMETRY_SIGMA = 4.0       # Gaussian sigma at WORK_SIZE, texels (~1.5 cm on the face chart)
FULL_TRUST = 0.3           # blurred plain-skin weight from which a side counts as fully seen
SIDE_LIGHT = (0.10, 0.15)  # side_light_strength from which the correction starts, and is full (NOTES.md)


def _half_gap(albedo: torch.Tensor, weight: torch.Tensor, sup: UVSupport, visible: torch.Tensor,
              reliance: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """-> (half the broad log-colour gap to the mirror (W, W, 3), its trust (W, W, 1) in [0, 1],
    each texel's share of the gap to take out (W, W, 1): a half, or with `reliance` the texel's
    over both sides') at WORK_SIZE; arguments as symmetric_light_factor."""
    W = WORK_SIZE
    w = area_shrink(weight[..., None], W)
    shown = area_shrink(visible.float()[..., None], W) > 0
    a = area_shrink(albedo * weight[..., None], W) / w.clamp(min=1e-6)
    low = weighted_blur(torch.log(a.clamp(min=1e-3)), w[..., 0], SYMMETRY_SIGMA)   # broad everywhere
    seen = gaussian_blur(w, SYMMETRY_SIGMA)
    rel = torch.full_like(seen, 0.5) if reliance is None else gaussian_blur(area_shrink(reliance[..., None], W),
                                                                             SYMMETRY_SIGMA)
    mirror = sup.mirrored(torch.cat([low, seen, rel], -1))
    has = sup.has_mirror_at(W).float()
    # a texel the photo did not see keeps 1: the blur reaches it from neighbouring charts
    trust = (torch.minimum(seen, mirror[..., 3:4]) / FULL_TRUST).clamp(0, 1) * has[..., None] * shown
    both = rel + mirror[..., 4:5]
    share = torch.where(both > 1e-3, rel / both.clamp(min=1e-3), torch.full_like(rel, 0.5))
    return (low - mirror[..., :3]) / 2, trust, share


def side_light_strength(half_gap: torch.Tensor, trust: torch.Tensor) -> float:
    """How strongly one side of the face is lit more than the other: the trusted mean of
    |half gap| in log luminance (0 for an evenly lit face)."""
    g = half_gap.mean(-1, keepdim=True).abs()
    t = (trust > 0.5).float()
    return float((g * t).sum() / t.sum().clamp(min=1.0))


def symmetric_light_factor(albedo: torch.Tensor, weight: torch.Tensor, sup: UVSupport,
                           visible: torch.Tensor, reliance: torch.Tensor | None = None) -> torch.Tensor | None:
    """albedo (S, S, 3) linear, one photo divided by its shading; weight (S, S) in [0, 1]: how
    well the photo saw each texel of plain skin (0 off it, and where it shows no skin); visible
    (S, S): the texels the photo saw at all. -> (S, S, 3) factor to multiply the albedo by (1
    where a texel or its mirror was not seen), or None for a photo not lit more from one side.
    Applied in full only to a photo lit clearly more from one side (SIDE_LIGHT, see
    side_light_strength): on evenly lit faces the gap is the person's own (a moustache's ends,
    a parting) and stays.
    reliance (S, S) in [0, 1]: how much each texel's shading leans on the fitted normals (a hard
    key's share of it, key_light.py), given when the photo's light is known to come from one
    side: the factor then applies in full, and of a pair the texel that leans more takes more of
    the gap (a texel in the key's shadow, lit by the ambient alone, is the surer of the two)."""
    S = albedo.shape[0]
    half_gap, trust, share = _half_gap(albedo, weight, sup, visible, reliance)
    lo, hi = SIDE_LIGHT
    gain = 1.0 if reliance is not None else \
        min(max((side_light_strength(half_gap, trust) - lo) / (hi - lo), 0.0), 1.0)
    if gain == 0.0:
        return None
    factor = torch.exp(-2 * half_gap * share * trust * gain)
    return Fn.interpolate(factor.permute(2, 0, 1)[None], size=(S, S), mode="bilinear",
                          align_corners=False)[0].permute(1, 2, 0)


LIGHT_PRIOR = 1e-3           # pull of the refitted light towards the fitted one, per texel's weight
LIGHT_CHROMA = 10.0          # pull of its directional bands to the ambient's colour, per texel's weight


def refit_light(albedo: torch.Tensor, colour: torch.Tensor, normals: torch.Tensor, weight: torch.Tensor,
                light: torch.Tensor) -> torch.Tensor:
    """The SH light (9, 3) under which `albedo` draws `colour` best at the weighted texels:
    min sum w (albedo Y(n) L - colour)^2 + LIGHT_PRIOR sum w |L - light|^2
    + LIGHT_CHROMA sum w |the colour of L's bands 1-8 off the colour of `light`'s ambient|^2
    (as render.shading.light_implausibility's chroma: a real scene's light is one colour, and the
    symmetric factor's broad colour would otherwise come back as coloured light).
    albedo, colour (S, S, 3) linear; normals (S, S, 3) unit, camera frame; weight (S, S)."""
    sel = weight > 0
    if int(sel.sum()) < 100:
        return light
    w = weight[sel][:, None].double()
    Y = sh_basis(normals[sel]).double()                          # (n, 9)
    L0 = light.double()
    wsum = float(w.sum())
    lhs = torch.zeros(27, 27, dtype=torch.float64)
    rhs = torch.zeros(27, dtype=torch.float64)
    for c in range(3):                                           # unknowns: x[c * 9 + k] = L[k, c]
        A = Y * albedo[sel][:, c:c + 1].double()
        blk = slice(9 * c, 9 * c + 9)
        lhs[blk, blk] = A.T @ (A * w) + LIGHT_PRIOR * wsum * torch.eye(9, dtype=torch.float64)
        rhs[blk] = (A.T @ (colour[sel][:, c:c + 1].double() * w))[:, 0] + LIGHT_PRIOR * wsum * L0[:, c]
    tint = light_tint(L0)                                        # (3,), mean 1
    P = torch.eye(3, dtype=torch.float64) - tint[:, None] / 3    # a band's colour off the tint
    scale = float(L0[0].mean()) if float(L0[0].mean()) > 1e-6 else 1.0
    PtP = LIGHT_CHROMA * wsum * (P.T @ P) / scale ** 2
    for k in range(1, 9):
        idx = torch.tensor([k, 9 + k, 18 + k])
        lhs[idx[:, None], idx[None, :]] += PtP
    return torch.linalg.solve(lhs, rhs).reshape(3, 9).T.float()
