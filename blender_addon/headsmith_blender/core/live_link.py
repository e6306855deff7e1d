"""Apple's Live Link Face takes (CSV), read and written without bpy (numpy only).

The layout (FACTS): `Timecode` (HH:MM:SS:FF.fff: a frame FF counted at the app's timecode rate,
plus a fraction of a frame), `BlendShapeCount`, the 52 ARKit curves in PascalCase (`EyeBlinkLeft`
... `TongueOut`, values 0..1), then `HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch,
LeftEyeRoll, RightEyeYaw, RightEyePitch, RightEyeRoll` in radians (optional: older exports have
none). Rows are usually 60 per second.

A take is checked whole before anything uses it: wrong or missing columns, an unparsable or
backwards timecode, a value that is not a finite number, or a file too large each raise
LiveLinkError naming the line and column, so an importer changes nothing on bad input.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# the 52 ARKit curves in the app's column order (camelCase: the rig's shape key names)
ARKIT_CURVES = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
    "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight", "jawForward", "jawRight", "jawLeft", "jawOpen", "mouthClose", "mouthFunnel",
    "mouthPucker", "mouthRight", "mouthLeft", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft", "mouthPressRight",
    "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight", "browDownLeft",
    "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff", "cheekSquintLeft",
    "cheekSquintRight", "noseSneerLeft", "noseSneerRight", "tongueOut",
)
ROTATIONS = {"head": ("HeadYaw", "HeadPitch", "HeadRoll"),
             "left_eye": ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll"),
             "right_eye": ("RightEyeYaw", "RightEyePitch", "RightEyeRoll")}
TIMECODE_RATES = (24, 25, 30, 48, 50, 60, 120)
MAX_BYTES = 256 * 1024 * 1024     # ~1.5 M rows, 7 hours at 60 fps: past it a file is not a take
_TIMECODE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2}):(\d{1,3})(?:\.(\d{1,6}))?$")


class LiveLinkError(ValueError):
    """The file is not a usable Live Link Face take; the message says where and why."""


@dataclass
class LiveLinkTake:
    """One take: N rows. times (N,) seconds from the first row; curves name -> (N,) in [0, 1];
    head / left_eye / right_eye (N, 3) yaw, pitch, roll in radians (zeros when the file has none)."""

    times: np.ndarray
    curves: dict[str, np.ndarray]
    head: np.ndarray
    left_eye: np.ndarray
    right_eye: np.ndarray
    timecode_rate: int
    has_rotations: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.times)

    @property
    def rate(self) -> float:
        """Rows per second (the median spacing; the timecode rate for a one-row take)."""
        if self.rows < 2:
            return float(self.timecode_rate)
        return float(1.0 / np.median(np.diff(self.times)))


def _pascal(name: str) -> str:
    return name[0].upper() + name[1:]


def _timecode_frames(text: str, line: int) -> tuple[int, float]:
    """'HH:MM:SS:FF.fff' -> (whole seconds, frames incl. the fraction)."""
    m = _TIMECODE.match(text.strip())
    if m is None:
        raise LiveLinkError(f"line {line}: timecode {text!r} is not HH:MM:SS:FF.fff")
    h, mi, s, ff = (int(g) for g in m.groups()[:4])
    if mi > 59 or s > 59:
        raise LiveLinkError(f"line {line}: timecode {text!r} has minutes or seconds past 59")
    frac = float("0." + m.group(5)) if m.group(5) else 0.0
    return h * 3600 + mi * 60 + s, ff + frac


def _columns(header: list[str]) -> dict[str, int]:
    """Column index of Timecode, the 52 curves (by camelCase name) and the rotations present."""
    index = {name.strip().lower(): i for i, name in enumerate(header)}
    missing = [n for n in ("Timecode", *map(_pascal, ARKIT_CURVES)) if n.lower() not in index]
    if missing:
        raise LiveLinkError(f"line 1: not a Live Link Face CSV: missing column(s) {', '.join(missing[:6])}"
                            + (f" and {len(missing) - 6} more" if len(missing) > 6 else ""))
    cols = {"Timecode": index["timecode"]}
    cols.update({n: index[n.lower()] for n in ARKIT_CURVES})
    rot = [c for cs in ROTATIONS.values() for c in cs]
    present = [c for c in rot if c.lower() in index]
    if present and len(present) != len(rot):
        raise LiveLinkError(f"line 1: some rotation columns are missing: {', '.join(c for c in rot if c not in present)}")
    cols.update({c: index[c.lower()] for c in present})
    return cols


def read_live_link(path: Path | str, timecode_rate: int | None = None, max_bytes: int = MAX_BYTES) -> LiveLinkTake:
    """Read and check a whole take. timecode_rate: the app's timecode frame rate when known (else
    inferred from the frame numbers: `_timecode_rate`)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise LiveLinkError(f"{path}: cannot read it ({e.strerror or e})") from e
    if size > max_bytes:
        raise LiveLinkError(f"{path} is {size / 2**20:.0f} MB; a Live Link Face take is at most "
                            f"{max_bytes / 2**20:.0f} MB (split the take)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise LiveLinkError(f"{path}: not a readable text file ({e})") from e
    return parse_live_link(text, timecode_rate, name=str(path))


def parse_live_link(text: str, timecode_rate: int | None = None, name: str = "take") -> LiveLinkTake:
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise LiveLinkError(f"{name} is empty")
    cols = _columns(rows[0])
    body = rows[1:]
    if not body:
        raise LiveLinkError(f"{name} has a header but no rows")
    width = max(cols.values()) + 1
    secs, frames = np.zeros(len(body)), np.zeros(len(body))
    values = np.zeros((len(body), len(cols) - 1))
    names = [c for c in cols if c != "Timecode"]
    for i, r in enumerate(body):
        line = i + 2
        if len(r) < width:
            raise LiveLinkError(f"line {line}: {len(r)} values, the header has {len(rows[0])}")
        secs[i], frames[i] = _timecode_frames(r[cols["Timecode"]], line)
        for j, c in enumerate(names):
            try:
                v = float(r[cols[c]])
            except ValueError:
                raise LiveLinkError(f"line {line}, column {_pascal(c)}: {r[cols[c]]!r} is not a number") from None
            if not math.isfinite(v):
                raise LiveLinkError(f"line {line}, column {_pascal(c)}: {r[cols[c]]!r} is not a finite number")
            values[i, j] = v
    return _take(secs, frames, values, names, timecode_rate)


APP_DEFAULT_RATE = 60


def _timecode_rate(secs: np.ndarray, frames: np.ndarray) -> int | None:
    """The timecode's frame rate: a second that the next one follows ran to its last frame, so the
    smallest standard rate above the largest frame number of such seconds; a take inside one
    second cannot tell 48 from 60: the app's default (60), unless its frame numbers go past it."""
    complete = np.isin(secs, secs + 1)            # rows whose second has a successor in the take
    top = frames[complete].max() if complete.any() else frames.max()
    floor = 0 if complete.any() else APP_DEFAULT_RATE
    return next((r for r in TIMECODE_RATES if r >= floor and top < r and frames.max() < r), None)


def _take(secs: np.ndarray, frames: np.ndarray, values: np.ndarray, names: list[str],
          timecode_rate: int | None) -> LiveLinkTake:
    rate = timecode_rate or _timecode_rate(secs, frames)
    if rate is None or frames.max() >= rate:
        raise LiveLinkError(f"frame numbers in the timecodes reach {int(frames.max())}: not one of the "
                            f"timecode rates {TIMECODE_RATES}")
    t = secs + frames / rate
    back = np.nonzero(np.diff(t) <= 0)[0]
    if len(back):
        raise LiveLinkError(f"line {back[0] + 3}: the timecode does not advance past line {back[0] + 2}")
    col = {n: values[:, j] for j, n in enumerate(names)}
    curves = {n: np.clip(col[n], 0.0, 1.0) for n in ARKIT_CURVES}
    notes = []
    clipped = sum(int(((col[n] < 0) | (col[n] > 1)).sum()) for n in ARKIT_CURVES)
    if clipped:
        notes.append(f"{clipped} curve values outside 0..1 were clipped")
    has_rot = "HeadYaw" in col
    rot = {k: np.stack([col[c] for c in cs], 1) if has_rot else np.zeros((len(t), 3)) for k, cs in ROTATIONS.items()}
    return LiveLinkTake(t - t[0], curves, rot["head"], rot["left_eye"], rot["right_eye"], rate, has_rot, notes)


def format_timecode(seconds: float, rate: int) -> str:
    """Seconds -> 'HH:MM:SS:FF.fff' at the timecode rate (thousandths of a frame)."""
    milli = int(round(seconds * rate * 1000))
    frames, sub = divmod(milli, 1000)
    whole, ff = divmod(frames, rate)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}:{ff:02d}.{sub:03d}"


def write_live_link(path: Path | str, take: LiveLinkTake, start_seconds: float = 0.0) -> Path:
    """The take as the app writes it (all 61 columns), e.g. for a tracked video."""
    header = ["Timecode", "BlendShapeCount", *map(_pascal, ARKIT_CURVES), *(c for cs in ROTATIONS.values() for c in cs)]
    lines = [",".join(header)]
    for i, t in enumerate(take.times):
        vals = [take.curves[n][i] for n in ARKIT_CURVES] + list(take.head[i]) + list(take.left_eye[i]) + \
            list(take.right_eye[i])
        lines.append(",".join([format_timecode(start_seconds + float(t), take.timecode_rate), "61",
                               *(f"{v:.6f}" for v in vals)]))
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path
