"""`headsmith avatar` end to end: photo -> bundle + wrinkle maps -> rig in a bpy subprocess ->
.blend, .glb (+ wrinkle sidecar), .fbx and avatar.png, whose brows-up forehead shows the furrows
and whose last row holds a close-up of every wrinkle key."""
import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from headsmith_blender.scene.preview import POSES, THREE_QUARTER_LABEL

PICTURE_LABELS = list(POSES) + [THREE_QUARTER_LABEL]

VALIDATOR = Path(__file__).resolve().parents[2] / "tools" / "gltf_validator" / "validate.js"


def forehead_detail(pic: np.ndarray, label: str) -> float:
    """Furrow-scale relief of the forehead close-up of one pose in avatar.png: the mean of a
    band-pass (Gaussians of 2 and 6 px): what per-pixel sampling noise the denoiser leaves at 16
    samples would count as detail through a finer filter."""
    w = pic.shape[1] // len(PICTURE_LABELS)
    i = PICTURE_LABELS.index(label)
    crop = cv2.cvtColor(pic[w:w + w // 2, i * w:(i + 1) * w], cv2.COLOR_RGB2GRAY).astype(np.float32)
    crop = crop[int(0.15 * crop.shape[0]):int(0.7 * crop.shape[0]), int(0.2 * w):int(0.8 * w)]
    return float(np.abs(cv2.GaussianBlur(crop, (0, 0), 2) - cv2.GaussianBlur(crop, (0, 0), 6)).mean())


@pytest.mark.slow
def test_avatar_command(tmp_path, astronaut_path, capsys):
    from headsmith.cli import main

    out = tmp_path / "avatar"
    assert main(["avatar", str(astronaut_path), "-o", str(out), "--quality", "fast", "--samples", "16"]) == 0
    text = capsys.readouterr().out
    assert "52 shape keys" in text and "root, neck, head, jaw, eye.L, eye.R" in text
    for f in ("avatar.blend", "avatar.glb", "avatar.fbx", "avatar.png", "avatar.wrinkles.json",
              "bundle/bundle.json", "bundle/rig.npz", "bundle/wrinkles/wrinkles.json", "bundle/wrinkles.png"):
        assert (out / f).is_file(), f
    side = json.loads((out / "avatar.wrinkles.json").read_text())
    assert (out / side["folder"] / side["masks"]["forehead.L"]).is_file()
    pic = cv2.cvtColor(cv2.imread(str(out / "avatar.png")), cv2.COLOR_BGR2RGB)
    keys, per_row = side["keys"], len(PICTURE_LABELS)
    rows = -(-len(keys) // per_row)
    assert pic.shape[1] == per_row * 512 and pic.shape[0] == 512 + 256 + rows * 512
    assert set(side["key_poses"]) == set(keys)
    for j in range(len(keys)):                 # every key's close-up is a lit piece of skin
        r, c = divmod(j, per_row)
        tile = pic[768 + r * 512:768 + (r + 1) * 512, c * 512:(c + 1) * 512]
        assert (tile[40:].max(2) > 60).mean() > 0.5, keys[j]
    # the last render is the neutral head turned: its silhouette is not left/right symmetric
    def head(label):
        i = PICTURE_LABELS.index(label)
        tile = pic[40:512, i * 512:(i + 1) * 512].astype(int)
        return np.abs(tile - tile[-5, 5]).sum(2) > 15

    def symmetry(m):
        return (m & m[:, ::-1]).sum() / (m | m[:, ::-1]).sum()

    front, turned = head("neutral"), head(THREE_QUARTER_LABEL)
    assert symmetry(front) > 0.97 and symmetry(turned) < 0.93 and 0.5 < turned.sum() / front.sum() < 1.5
    assert not (out / ".avatar_renders.npz").exists()
    assert forehead_detail(pic, "brows up") > 1.15 * forehead_detail(pic, "neutral")
    if not shutil.which("node"):
        pytest.skip("Node.js not found: everything but the Khronos validation of avatar.glb was checked")
    p = subprocess.run(["node", str(VALIDATOR), str(out / "avatar.glb")], capture_output=True, text=True)
    assert json.loads(p.stdout)["issues"]["numErrors"] == 0
