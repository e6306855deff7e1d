"""The coarse encoder's training (training/train_coarse.py) on a synthetic folder of people with
known parameters, and the messages for data it cannot use."""
import json
import subprocess
import sys

import numpy as np
import pytest

from headsmith_training.face_folders import DataError, scan_people

TINY = {"size": 96, "n_shape": 20, "width": 16, "people_per_batch": 4, "images_per_person": 2, "steps": 200,
        "lr": 0.002, "photo_size": 48, "checkpoint_every": 100, "seed": 0,
        "weights": {"landmark": 2.0, "eye": 1.0, "lip": 0.5, "shape_consistency": 1.0, "shape_prior": 0.0005,
                    "expression_prior": 0.002, "jaw_prior": 0.01, "photometric": 30.0, "supervised": 0.0}}


def test_tiny_training_learns_pose_and_jaw(people, tmp_path, run_cli):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(TINY))
    code, out = run_cli(["coarse", "--data", str(people), "--config", str(cfg), "--run", str(tmp_path / "run"),
                      "--export", str(tmp_path / "export")])
    assert code == 0, out.err
    rec = json.loads(out.out[out.out.index("{"):])
    fig = rec["training_photos"]
    hist = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(hist) == TINY["steps"]
    assert np.mean([h[1] for h in hist[-20:]]) < 0.6 * np.mean([h[1] for h in hist[:5]])     # the losses fall
    # closer to the truth than guessing the mean, where landmarks speak: head turn and jaw
    assert fig["rmse_rotation_deg"] < 0.8 * fig["rmse_rotation_deg_of_mean_guess"], fig
    assert fig["rmse_jaw"] < 0.9 * fig["rmse_jaw_of_mean_guess"], fig
    assert rec["data"]["photos"] >= 18          # of 24 (the detector misses a small render now and then)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "export" / "coarse_encoder.onnx"), providers=["CPUExecutionProvider"])
    raw = sess.run(None, {"image": np.zeros((2, 3, 96, 96), np.float32)})[0]
    assert raw.shape == (2, sum(json.loads((tmp_path / "export" / "coarse_encoder.json").read_text())["outputs"].values()))


def test_bad_photos_are_skipped_and_reported(people, tmp_path, run_cli):
    import shutil

    root = tmp_path / "data"
    shutil.copytree(people, root)
    (root / "person_000" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    import cv2

    cv2.imwrite(str(root / "person_001" / "wall.png"), np.full((128, 128, 3), 90, np.uint8))
    (root / "person_lonely").mkdir()
    shutil.copy(people / "person_002" / "000.png", root / "person_lonely" / "000.png")
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(dict(TINY, steps=2)))
    code, out = run_cli(["coarse", "--data", str(root), "--config", str(cfg), "--run", str(tmp_path / "run")])
    assert code == 0, out.err
    report = json.loads((tmp_path / "run" / "faces.json").read_text())
    why = {s["path"]: s["why"] for s in report["skipped"]}
    assert {"person_000/broken.jpg", "person_001/wall.png"} <= set(why)
    assert why["person_001/wall.png"] == "no face found" and "cannot" in why["person_000/broken.jpg"]
    assert "person_lonely" in report["people_dropped_for_too_few_photos"]
    cached = np.load(tmp_path / "run" / "faces.npz")["paths"]
    assert len(cached) == report["photos"] and not set(cached) & set(why)
    assert "skipped person_000/broken.jpg" in out.out


@pytest.mark.parametrize("layout, message", [
    ({}, "no photos found"),
    ({"a": 1, "b": 1}, "no person has 2 or more photos"),
])
def test_unusable_folders_say_what_to_do(tmp_path, layout, message, people, run_cli):
    import shutil

    for person, n in layout.items():
        (tmp_path / person).mkdir()
        for k in range(n):
            shutil.copy(people / "person_000" / f"{k:03d}.png", tmp_path / person / f"{k}.png")
    with pytest.raises(DataError, match=message):
        scan_people(tmp_path, 2)[0]
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(TINY))
    code, out = run_cli(["coarse", "--data", str(tmp_path), "--config", str(cfg), "--run", str(tmp_path / "run")])
    assert code == 2 and message in out.err


def test_help_documents_every_command():
    out = subprocess.run([sys.executable, "-m", "headsmith_training.cli", "--help"], capture_output=True, text=True)
    for cmd in ("detail", "init", "coarse", "detail-encoder", "make-synthetic", "landmark-renders", "landmarks"):
        assert cmd in out.stdout
        sub = subprocess.run([sys.executable, "-m", "headsmith_training.cli", cmd, "--help"], capture_output=True, text=True)
        assert sub.returncode == 0 and "--" in sub.stdout


def test_decas_encoder_starts_where_deca_predicts(flame_standin):
    """DECA's E_flame as the coarse encoder: decoded by the trainer, its raw groups give back DECA's
    own shape, expression, head rotation, jaw opening, camera and light."""
    import torch

    from headsmith.headmodel import load_head_model
    from headsmith.wrinkles.deca_checkpoint import load_deca_checkpoint
    from headsmith_training.train_coarse import DecaCoarseEncoder, parameters

    model = load_head_model("flame", {"flame_path": flame_standin["flame_path"],
                                      "flame_mediapipe": flame_standin["flame_mediapipe"]})
    enc = DecaCoarseEncoder(flame_standin["deca_path"], 100, model.n_expression).eval()
    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        deca = load_deca_checkpoint(flame_standin["deca_path"]).E_flame.eval()(x)
        p = parameters(enc(x), model.n_expression, list(range(model.n_expression)), model.expression_range)
    shape, expr, pose, cam, light = deca[:, :100], deca[:, 150:200], deca[:, 200:206], deca[:, 206:209], deca[:, 209:]
    assert torch.allclose(p["shape"], shape, atol=1e-5)
    n = min(50, model.n_expression)
    inside = expr[:, :n].abs() < 2.9                  # (beyond that, the decoding's +-3 bound)
    assert torch.allclose(p["expression"][:, :n][inside], expr[:, :n][inside], atol=1e-3)
    assert torch.allclose(p["global_rot"], pose[:, :3], atol=1e-5)
    assert torch.allclose(p["jaw"][:, 0], pose[:, 3].clamp(min=1e-4), atol=1e-4)
    assert torch.allclose(p["camera"], torch.cat([cam[:, :1].clamp(min=1e-3), cam[:, 1:]], 1), atol=1e-4)
    assert torch.allclose(p["light"], light.reshape(2, 9, 3), atol=1e-4)


def test_flame_users_fine_tune_decas_encoder(people, flame_standin, tmp_path, run_cli):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(dict(TINY, steps=3)))
    args = ["coarse", "--data", str(people), "--config", str(cfg), "--run", str(tmp_path / "run"), "--head", "flame",
            "--flame", flame_standin["flame_path"], "--flame-mediapipe", flame_standin["flame_mediapipe"]]
    code, out = run_cli(args + ["--deca", flame_standin["deca_path"], "--export", str(tmp_path / "export")])
    assert code == 0, out.err
    rec = json.loads(out.out[out.out.index("{"):])
    assert rec["head_model"] == "flame" and rec["steps_done"] == 3 and np.isfinite(rec["first_loss"])
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "export" / "coarse_encoder.onnx"), providers=["CPUExecutionProvider"])
    sizes = json.loads((tmp_path / "export" / "coarse_encoder.json").read_text())["outputs"]
    assert sess.run(None, {"image": np.zeros((1, 3, 96, 96), np.float32)})[0].shape == (1, sum(sizes.values()))
    code, out = run_cli(args[:-4] + ["--deca", flame_standin["deca_path"]])       # FLAME's files missing
    assert code == 2 and "--head flame needs --flame" in out.err
