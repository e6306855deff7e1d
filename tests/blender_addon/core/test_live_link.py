"""Live Link Face takes without bpy: the app's CSV layout read back exactly, and every kind of bad
file refused with the line and column named."""
import numpy as np
import pytest

from headsmith_blender.core.live_link import (ARKIT_CURVES, LiveLinkError, LiveLinkTake, format_timecode,
                                              parse_live_link, read_live_link, write_live_link)


def make_take(rows: int = 90, rate: int = 60) -> LiveLinkTake:
    """browInnerUp 0, then 1 on rows 30..59, then 0; the head turning; a jaw opening ramp."""
    t = np.arange(rows) / rate
    curves = {n: np.zeros(rows) for n in ARKIT_CURVES}
    curves["browInnerUp"][30:60] = 1.0
    curves["jawOpen"] = np.linspace(0, 0.8, rows)
    head = np.stack([0.3 * np.sin(2 * np.pi * t), 0.1 * np.ones(rows), -0.05 * np.ones(rows)], 1)
    eye = np.stack([0.2 * np.ones(rows), -0.1 * np.ones(rows), np.zeros(rows)], 1)
    return LiveLinkTake(t, curves, head, eye, eye.copy(), rate)


def test_written_take_reads_back(tmp_path):
    take = make_take()
    path = write_live_link(tmp_path / "take.csv", take, start_seconds=3600 * 14 + 0.5)
    header = path.read_text().splitlines()[0].split(",")
    assert header[:3] == ["Timecode", "BlendShapeCount", "EyeBlinkLeft"] and header[-1] == "RightEyeRoll"
    assert len(header) == 2 + 52 + 9
    got = read_live_link(path)
    assert got.rows == 90 and got.timecode_rate == 60 and got.rate == pytest.approx(60, rel=1e-3)
    assert np.allclose(got.times, take.times, atol=1e-5)
    for n in ARKIT_CURVES:
        assert np.allclose(got.curves[n], take.curves[n], atol=1e-6), n
    assert np.allclose(got.head, take.head, atol=1e-6) and got.has_rotations


def test_timecodes_of_the_app():
    assert format_timecode(1 / 60 * 61, 60) == "00:00:01:01.000"
    assert format_timecode(14 * 3600 + 3 * 60 + 52 + 28.207 / 60, 60) == "14:03:52:28.207"
    # the rate comes from the frame numbers: over a whole second, a 30 fps timecode tops out at 29
    head = "Timecode,BlendShapeCount," + ",".join(n[0].upper() + n[1:] for n in ARKIT_CURVES) + "\n"
    row = ",52," + ",".join(["0.1"] * 52) + "\n"
    text = head + "".join(f"00:00:{10 + i // 30:02d}:{i % 30:02d}.000" + row for i in range(29, 62))
    take = parse_live_link(text)
    assert take.timecode_rate == 30 and not take.has_rotations and np.allclose(take.times, np.arange(33) / 30)
    # a take shorter than a second cannot tell 30 from 60: the app's default, 60
    assert parse_live_link(head + "".join(f"00:00:10:{f:02d}.000" + row for f in (27, 28, 29))).timecode_rate == 60


@pytest.mark.parametrize("edit, message", [
    (lambda h, rows: (h.replace("BrowInnerUp", "BrowInnerUpp"), rows), "missing column(s) BrowInnerUp"),
    (lambda h, rows: (h, [rows[0].replace("00:", "0x:", 1)] + rows[1:]), "line 2: timecode"),
    (lambda h, rows: (h, rows[:5] + [rows[5].replace("0.000000", "nan", 1)] + rows[6:]), "line 7, column"),
    (lambda h, rows: (h, rows[:3] + [rows[1]] + rows[4:]), "line 5: the timecode does not advance"),
    (lambda h, rows: (h, rows[:2] + [rows[2].rsplit(",", 4)[0]] + rows[3:]), "line 4: 59 values"),
    (lambda h, rows: (h, rows[:2] + [rows[2].replace("0.000000", "zero", 1)] + rows[3:]), "is not a number"),
])
def test_bad_takes_are_refused(tmp_path, edit, message):
    lines = write_live_link(tmp_path / "good.csv", make_take(10)).read_text().splitlines()
    header, rows = edit(lines[0], lines[1:])
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([header, *rows]) + "\n")
    with pytest.raises(LiveLinkError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_live_link(bad)


def test_huge_or_empty_files_are_refused(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(2 * 1024 ** 3)           # a 2 GB sparse file: refused on its size, never read
    with pytest.raises(LiveLinkError, match="2048 MB"):
        read_live_link(big)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(LiveLinkError, match="empty"):
        read_live_link(tmp_path / "empty.csv")
    with pytest.raises(LiveLinkError, match="cannot read"):
        read_live_link(tmp_path / "missing.csv")


def test_out_of_range_curves_are_clipped_and_said(tmp_path):
    take = make_take(5)
    take.curves["mouthSmileLeft"][:] = 1.3
    got = read_live_link(write_live_link(tmp_path / "t.csv", take))
    assert got.curves["mouthSmileLeft"].max() == 1.0 and "5 curve values outside 0..1" in got.notes[0]
