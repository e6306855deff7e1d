"""One-sided occluders: a hand on a cheek, a lock of hair over one temple, a phone.

The colour test (occlusion.py) drops what is far from the skin's colour; a hand is skin, and
below the nose a darker, more saturated colour stays because it may be a beard. What tells them
apart is symmetry: beards, brows and skin tone are nearly the same on both sides of a face, a
hand or a strand is on one. So where both a texel and its mirror were seen well, and the texel's
colour is far from its mirror's while the mirror is the nearer of the two to the person's skin,
the texel shows something in front of the face. Blobs too small to be a hand or a strand (a mole,
a freckle) stay. The texels it drops are filled from their mirror (unwrap.py), which was seen as
skin.

Runs on the de-lit albedo (after delight.py), so that a light from one side is not taken for an
occluder.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as Fn

from ..uvspace.atlas import UVSupport
from .fill import area_shrink, gaussian_blur, weighted_blur

WORK_SIZE = 256
SMOOTH_SIGMA = 1.0         # texels at WORK_SIZE: colour noise and a misfit of a texel or two
MIRROR_KEEP, MIRROR_DROP = 4.0, 6.0    # colour distance to the mirror, in reference deviations
ODD_MARGIN = 2.0           # the texel must be this much farther from the skin than its mirror is
MIN_BLOB = 12              # texels at WORK_SIZE (~1.7 cm^2 on the face): smaller blobs stay
EDGE_SIGMA = 1.5           # texels at WORK_SIZE: the soft edge
SEEN = 0.5                 # blurred weight from which a texel counts as seen


def _large_blobs(mask: np.ndarray) -> np.ndarray:
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    big = np.zeros(n, bool)
    big[1:] = stats[1:, cv2.CC_STAT_AREA] >= MIN_BLOB
    return big[labels]


def one_sided_occluders(features: torch.Tensor, weight: torch.Tensor, tested: torch.Tensor, sup: UVSupport,
                        centre: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """features (S, S, 3) each texel's log brightness and log chromaticities; weight (S, S) how
    well the photo saw it as skin; tested (S, S) bool: where to look (skin whose mirror is skin);
    centre, scale (3,) the reference skin's median features and robust spread. -> (S, S) in
    [0, 1]: 1 on texels that show a one-sided occluder."""
    S, W = weight.shape[0], WORK_SIZE
    w = area_shrink(weight[..., None], W)[..., 0]
    f = area_shrink(features * weight[..., None], W) / w[..., None].clamp(min=1e-6)
    f = weighted_blur(f, w, SMOOTH_SIGMA)
    seen = weighted_blur(w[..., None], torch.ones_like(w), SMOOTH_SIGMA)[..., 0]
    mirror = sup.mirrored(torch.cat([f, seen[..., None]], -1))
    t = area_shrink(tested.float()[..., None], W)[..., 0] > 0.5
    has = sup.has_mirror_at(W)
    both = t & has & (seen > SEEN) & (mirror[..., 3] > SEEN)
    to_mirror = ((f - mirror[..., :3]) / scale).norm(dim=-1)
    odd = ((f - centre) / scale).norm(dim=-1) - ((mirror[..., :3] - centre) / scale).norm(dim=-1)
    strength = ((to_mirror - MIRROR_KEEP) / (MIRROR_DROP - MIRROR_KEEP)).clamp(0, 1) * both * (odd > ODD_MARGIN)
    strength = strength * torch.as_tensor(_large_blobs((strength > 0).numpy()), dtype=strength.dtype)
    # a soft, round edge (the mirror's colour blends in over it), the blobs' cores kept whole
    # (within the tested skin: the blur in UV space also reaches other charts)
    strength = torch.maximum(strength, gaussian_blur(strength[..., None], EDGE_SIGMA)[..., 0] * 2).clamp(max=1) * t
    return Fn.interpolate(strength[None, None], size=(S, S), mode="bilinear", align_corners=False)[0, 0]
