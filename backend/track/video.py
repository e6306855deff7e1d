"""Frames of a video file (OpenCV's reader), streamed: a long take never sits in memory whole."""
from __future__ import annotations

from pathlib import Path

from .tracker import TrackError

MAX_FRAMES = 72_000      # 20 minutes at 60 fps: past it, split the take


def _open(path: Path, max_frames: int):
    """-> (an open cv2.VideoCapture, its first frame (BGR), frames per second, frame count)."""
    import cv2

    if not path.is_file():
        raise TrackError(f"{path}: no such video file")
    cap = cv2.VideoCapture(str(path))
    ok, first = cap.read() if cap.isOpened() else (False, None)
    if not ok:
        cap.release()
        raise TrackError(f"{path}: not a video OpenCV can read (try an .mp4 (H.264) or .avi file)")
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    if count > max_frames:
        cap.release()
        raise TrackError(f"{path} has {count} frames; at most {max_frames} are tracked at once (split the take)")
    return cap, first, fps, count


def probe_video(path: Path | str, max_frames: int = MAX_FRAMES) -> tuple[float, int]:
    """-> (frames per second, frame count) of a video that read_video would take; TrackError as
    read_video raises it."""
    cap, _, fps, count = _open(Path(path), max_frames)
    cap.release()
    return fps, count


def read_video(path: Path | str, max_frames: int = MAX_FRAMES):
    """-> (frames: an iterator of (H, W, 3) uint8 RGB, frames per second, frame count as the file
    states it). TrackError for a file that is missing, not a video, or too long."""
    import cv2

    cap, first, fps, count = _open(Path(path), max_frames)

    def frames():
        try:
            frame, n = first, 0
            while frame is not None and n < max_frames:
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                n += 1
                ok, frame = cap.read()
                if not ok:
                    break
        finally:
            cap.release()

    return frames(), fps, count
