"""A video and an avatar -> a Live Link Face take file: the whole tracking job, one home for what
`headsmith track` and the service's /track jobs run (and what they check first)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from .tracker import Progress, Track, TrackError, track_frames


@dataclass
class TrackedTake:
    """A finished job: the track, the take file written, the video's frame rate (frames per
    second) and the tracking time (seconds, reading and fitting)."""

    track: Track
    path: Path
    fps: float
    seconds: float

    def summary(self) -> str:
        n, found = len(self.track.found), int(self.track.found.sum())
        return (f"tracked {n} frames at {self.fps:.2f} fps in {self.seconds:.1f} s "
                f"({n / self.seconds:.1f} frames per second); a face in {found}"
                + (f", {n - found} bridged from their neighbours" if found < n else ""))


def avatar_shape(avatar: Path | str) -> list[float]:
    """The identity (OpenHead shape coefficients) of an avatar folder or bundle; TrackError for a
    folder that is neither, or a head tracking does not support."""
    from ..avatar import AvatarError
    from ..avatar.make import bundle_of

    try:
        bundle = bundle_of(avatar)
    except AvatarError as e:
        raise TrackError(str(e))
    try:
        meta = json.loads((bundle / "bundle.json").read_text())
        name, shape = meta["model"]["name"], meta["parameters"]["shape"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TrackError(f"{bundle}/bundle.json is not a readable bundle ({e}); reconstruct the avatar again")
    if name != "openhead":
        raise TrackError(f"{bundle} is a {name} head; tracking supports OpenHead heads")
    return shape


def track_video(video: Path | str, avatar: Path | str, out: Path | str, quality: str = "fast",
                progress: Progress | None = None) -> TrackedTake:
    """Track `video` with the identity of `avatar` and write the take to `out` (atomically).
    TrackError for a bad video, avatar or quality: nothing is written then."""
    from ..detect import make_detector
    from ..headmodel import OpenHead
    from ..wrinkles.bake import jaw_open_equivalent
    from .take import write_take
    from .video import read_video

    shape = avatar_shape(avatar)
    frames, fps, count = read_video(video)
    model = OpenHead()
    t = time.perf_counter()
    track = track_frames(model, frames, shape, make_detector("mediapipe"), fps, quality, progress, count)
    seconds = time.perf_counter() - t
    return TrackedTake(track, write_take(track, out, jaw_open_equivalent(model)), fps, seconds)
