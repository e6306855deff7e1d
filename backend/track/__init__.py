"""Video tracking with a known identity: per-frame expression, jaw, head pose and gaze
(tracker.track_frames), read from a video file (video.read_video), written as a Live Link Face take."""
from .tracker import Track, TrackError, track_frames

__all__ = ["Track", "TrackError", "track_frames"]
