"""A track as a Live Link Face take (the Blender extension's CSV, one home for the format): the
fitted ARKit weights by name, the jaw bone's opening as the jawOpen curve, head and eye rotations."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .tracker import Track


def write_take(track: Track, path: Path | str, jaw_open_equivalent: float) -> Path:
    """jaw_open_equivalent: the jaw-bone opening (radians) that equals jawOpen = 1 on this head
    (wrinkles.bake.jaw_open_equivalent); the fit opens the mouth with the bone."""
    from headsmith_blender.core.live_link import ARKIT_CURVES, TIMECODE_RATES, LiveLinkTake, write_live_link

    from ..atomic import atomic_file

    n = len(track.found)
    curves = {}
    for name in ARKIT_CURVES:
        if name in track.expression_names:
            curves[name] = np.clip(track.expression[:, track.expression_names.index(name)], 0, 1)
        else:
            curves[name] = np.zeros(n)
    curves["jawOpen"] = np.clip(track.jaw[:, 0] / jaw_open_equivalent, 0, 1)
    rate = next((r for r in TIMECODE_RATES if r >= round(track.fps)), TIMECODE_RATES[-1])
    take = LiveLinkTake(np.arange(n) / track.fps, curves, track.head, track.left_eye, track.right_eye, rate)
    path = Path(path)
    with atomic_file(path, suffix=".csv") as tmp:
        write_live_link(tmp, take)
    return path
