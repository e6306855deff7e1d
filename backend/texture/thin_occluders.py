"""Thin dark things in front of the skin: glasses frames and loose hair strands.

The skin-colour test (occlusion.py) leaves the brows', eyes' and lips' margins alone, since their
colours are not skin, and a strand's or a frame's anti-aliased edge is often within its bounds, so
frames stayed in the albedo around the eyes and strands over the brows. What sets them apart is
their shape: much darker than the skin on both sides, narrower than a brow, and long. So, on the
de-lit log luminance of one photo in UV space, a black-hat (the closing by a disc of
LINE_WIDTH_MAX, minus the map) finds dark marks narrower than that disc; those darker than
LINE_CONTRAST and longer than LINE_LENGTH_MIN are dropped (moles and freckles are short and stay;
wrinkle shading is much fainter). The lashes along the eyelids' edges are the long thin dark
features of a face with the brows and the lips' line, so those are left alone (a frame or a strand
crossing them stays there). The texels dropped are filled like every
other unseen texel (skin_synthesis.py).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from .occlusion import SkinZones

LINE_WIDTH_MAX = 24 / 1024     # of the texture's side: the closing disc (~8 mm on a face; a brow is wider)
LINE_CONTRAST = 0.45           # log luminance below the closing: a frame or a strand (deep wrinkles ~0.2)
LINE_LENGTH_MIN = 32 / 1024    # of the side: shorter dark marks (moles, freckles) are the person's
LINE_GROW = 2 / 1024           # of the side: the anti-aliased edge dropped with the line


def thin_dark_lines(albedo: torch.Tensor, weight: torch.Tensor, zones: SkinZones) -> torch.Tensor:
    """albedo (S, S, 3) linear de-lit colours of one photo; weight (S, S) how well it sees each
    texel -> (S, S) bool: the texels of long, thin, dark marks over the seen skin."""
    S = albedo.shape[0]
    seen = (weight > 0.05).numpy()
    lum = np.log(np.clip((albedo.numpy() * [0.2126, 0.7152, 0.0722]).sum(-1), 1e-3, None)).astype(np.float32)
    where = seen & (zones.skin & ~zones.brows & ~zones.lips & ~zones.lid_margins).numpy()
    if where.sum() < 100:
        return torch.zeros(S, S, dtype=torch.bool)
    lum[~where] = float(np.median(lum[where]))       # unseen texels and chart edges make no dark lines
    d = max(3, int(round(LINE_WIDTH_MAX * S)) | 1)
    blackhat = cv2.morphologyEx(lum, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d)))
    cand = ((blackhat > LINE_CONTRAST) & where).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cand, connectivity=8)
    long = np.zeros(n, bool)
    long[1:] = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) >= LINE_LENGTH_MIN * S
    lines = long[labels].astype(np.uint8)
    g = max(1, round(LINE_GROW * S))
    return torch.as_tensor(cv2.dilate(lines, np.ones((2 * g + 1,) * 2, np.uint8)) > 0)
