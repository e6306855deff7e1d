"""Several photos of one person, taken with another exposure or white balance: before their de-lit
albedos merge, each is brought to one colour.

The fit cannot tell a photo's white balance from the skin's colour: the light of each photo and
the one albedo they share only meet in their product, so with a warmer second photo the fit
splits the difference (the first photo's light comes out cool, the second's warm, the albedo in
between), and a photo's de-lit albedo carries whatever tint its light did not. The rule here: the
first photo sets the colour, as shot. Its light is taken as white (the tint of its ambient goes
into its albedo; a photo alone then comes out in its own colours too, where the fit's light had
left a tint: benchmarks/NOTES.md), and each photo after it gets one gain per channel: the median,
over the texels it and the photos before it both saw well, of the ratio of their merged albedo to
its own.
"""
from __future__ import annotations

import torch

from ..render.shading import light_tint

BOTH_SEEN = 0.5          # a texel is compared where both sides' weights are at least this
MIN_SHARED = 1 / 500     # ... over at least this share of the map's texels; else the gain stays 1
UNCLIPPED = 0.98         # texels with a channel at or above this in either albedo are not compared
GAIN_RANGE = (0.25, 4.0)  # gains are held within this range (two stops of exposure either way)


def _median_log_ratio(ref: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """(n, 3) each -> (3,) the median of log(ref / own) per channel."""
    return (torch.log(ref.clamp(min=1e-3)) - torch.log(own.clamp(min=1e-3))).median(0).values


def photo_gains(albedos: list[torch.Tensor], weights: list[torch.Tensor], first_light: torch.Tensor) -> torch.Tensor:
    """albedos: per photo (S, S, 3) its de-lit albedo, linear; weights: per photo (S, S) in [0, 1],
    how well it saw each texel (as the merge weighs it); first_light (9, 3): the SH light the first
    photo was de-lit under. -> (B, 3) the gain per photo and channel: the first photo's light tint
    (its albedo as under white light), then each photo's to the photos before it."""
    gains = [light_tint(first_light)]
    acc = albedos[0] * gains[0] * weights[0][..., None] ** 2
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
