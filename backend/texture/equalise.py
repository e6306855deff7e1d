"""Several photos of one person, taken with another exposure or white balance: before their de-lit
albedos merge, each is brought to the colour of the photos before it.

The fit's lights do not take such a difference up: a real scene's light is held to one colour
(render/shading.light_implausibility), so a photo shot warmer or brighter leaves its de-lit albedo
warmer or brighter, and the merge averages the photos' colours by how squarely each saw a texel:
a shift of the whole head, and a tint that changes across it where one photo takes over from
another. Here each photo after the first gets one gain per channel: the median, over the texels
it and the photos before it both saw well, of the ratio of their merged albedo to its own. The first photo keeps its colour: it sets the head's.

UV maps (S, S, ...), row 0 at v = 1; colours linear.
"""
from __future__ import annotations

import torch

BOTH_SEEN = 0.5          # a texel is compared where both sides' weights are at least this
MIN_SHARED = 1 / 500     # ... over at least this share of the map's texels; else the gain stays 1
UNCLIPPED = 0.98         # texels with a channel at or above this in either albedo are not compared
GAIN_RANGE = (0.25, 4.0)  # gains are held within this range (two stops of exposure either way)


def _median_log_ratio(ref: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """(n, 3) each -> (3,) the median of log(ref / own) per channel."""
    return (torch.log(ref.clamp(min=1e-3)) - torch.log(own.clamp(min=1e-3))).median(0).values


def photo_gains(albedos: list[torch.Tensor], weights: list[torch.Tensor]) -> torch.Tensor:
    """albedos: per photo (S, S, 3) its de-lit albedo, linear; weights: per photo (S, S) in [0, 1],
    how well it saw each texel (as the merge weighs it). -> (B, 3) the gain per photo and channel
    that brings it to the photos before it (the first photo's is 1)."""
    gains = [torch.ones(3)]
    acc = albedos[0] * weights[0][..., None] ** 2
    wsum = weights[0] ** 2
    need = max(1, int(MIN_SHARED * weights[0].numel()))
    for alb, w in zip(albedos[1:], weights[1:]):
        ref = acc / wsum.clamp(min=1e-8)[..., None]
        both = (wsum.sqrt() >= BOTH_SEEN) & (w >= BOTH_SEEN)
        both &= (ref.amax(-1) < UNCLIPPED) & (alb.amax(-1) < UNCLIPPED)
        gain = torch.ones(3)
        if int(both.sum()) >= need:
            gain = torch.exp(_median_log_ratio(ref[both], alb[both])).clamp(*GAIN_RANGE)
        gains.append(gain)
        acc = acc + alb * gain * w[..., None] ** 2
        wsum = wsum + w ** 2
    return torch.stack(gains)
