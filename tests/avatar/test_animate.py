"""`headsmith animate`: a Live Link Face take keyed onto a bundle's head in a bpy subprocess ->
OUT/TAKE.blend, OUT/TAKE.glb with the animation and the preview sheet; a bad take exits 2 and
writes nothing."""
import json
import struct

from headsmith.cli import main
from headsmith_blender.core.live_link import write_live_link
from tests.blender_addon.core.test_live_link import make_take


def test_animate_command(tmp_path, avatar_bundle, capsys):
    take = write_live_link(tmp_path / "take01.csv", make_take(rows=45))
    out = tmp_path / "anim"
    assert main(["animate", str(avatar_bundle), "--live-link", str(take), "-o", str(out), "--preview", "2"]) == 0
    said = capsys.readouterr().out
    assert "keyed 45 rows (60.0 per second) on frames 1-45" in said and "52 shape keys, 3 bones" in said
    b = (out / "take01.glb").read_bytes()
    j = json.loads(b[20:20 + struct.unpack("<I", b[12:16])[0]])
    assert j["animations"] and (out / "take01.blend").is_file() and (out / "take01.wrinkles.json").is_file()
    # the preview: the first and last frames side by side
    import cv2

    pic = cv2.imread(str(out / "take01.png"))
    assert pic.shape[1] == 2 * 384 and not list(out.glob(".*renders*"))


def test_animate_refuses_a_bad_take(tmp_path, avatar_bundle, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("Timecode,BlendShapeCount,EyeBlinkLeft\n00:00:00:00.000,1,0.5\n")
    out = tmp_path / "anim"
    assert main(["animate", str(avatar_bundle), "--live-link", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "not a Live Link Face CSV: missing column(s)" in err and not out.exists()
    assert main(["animate", str(tmp_path), "--live-link", str(bad), "-o", str(out)]) == 2
    assert "neither an avatar folder" in capsys.readouterr().err


def test_animate_from_a_video(tmp_path, avatar_bundle, performance, capsys):
    """`animate --video`: the video is tracked with the avatar's identity, its take kept in OUT and
    keyed onto the rig in the same run; a bad video exits 2 before OUT is made."""
    video, _, truth = performance
    out = tmp_path / "anim"
    assert main(["animate", str(avatar_bundle), "--video", str(tmp_path / "none.mp4"), "-o", str(out)]) == 2
    assert "no such video file" in capsys.readouterr().err and not out.exists()
    assert main(["animate", str(avatar_bundle), "--video", str(video), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    n = len(truth["segment"])
    assert f"tracked {n} frames" in said and f"keyed {n} rows (30.0 per second) on frames 1-{n}" in said
    assert {p.name for p in out.iterdir()} >= {"performance.csv", "performance.blend", "performance.glb"}
