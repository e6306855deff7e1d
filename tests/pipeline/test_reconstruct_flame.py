"""The FLAME path end to end on the stand-in files (real formats, OpenHead's geometry): the photo
fits, the bundle records the user's files and DECA's detail code, the rig has FLAME's joints and
expression components, and the wrinkle maps bake with component keys."""

import json

import cv2
import numpy as np
import pytest
import torch

from headsmith.bundle import read_bundle
from headsmith.bundle.io import decode_displacement
from headsmith.cli import main
from headsmith.wrinkles.sources import wrinkle_parts
from headsmith.headmodel.albedo import AlbedoModel
from headsmith.headmodel.flame import FLAME
from headsmith.imageio.color import linear_to_srgb
from headsmith.render import vertex_normals
from headsmith.render.uv import world_to_uv
from headsmith.uvspace import uv_support
from tests.conftest import FLAME_OPTIONS
from tests.headmodel.albedo_standin import write_albedo_standin


def test_flame_bundle_records_files_and_fits(flame_bundle, flame_standin):
    meta = read_bundle(flame_bundle)
    assert meta["model"]["name"] == "flame" and meta["model"]["n_expression"] == 50
    files = meta["model"]["files"]
    assert set(files) == {"flame_path", "flame_landmarks", "flame_uv", "flame_masks", "flame_mediapipe"}
    assert files["flame_path"] == flame_standin["flame_path"]
    photo = meta["parameters"]["photos"][0]
    assert len(photo["expression"]) == 50
    assert photo["landmark_error_iod"] < 0.035
    assert meta["detail"]["decoder"] == "deca" and len(meta["detail"]["code"]) == 128
    assert meta["detail"]["decoder_path"] == flame_standin["deca_path"]


def test_static_map_is_deca_decoder_at_neutral(flame_bundle):
    """The bundle's displacement is D_detail(code, neutral, jaw closed) on the UV charts."""
    meta = read_bundle(flame_bundle)
    model, decoder = wrinkle_parts(meta)
    code = np.asarray(meta["detail"]["code"], np.float32)[None]
    want = decoder.decode(code, np.zeros((1, 50), np.float32), np.zeros((1, 3), np.float32))[0]
    png = cv2.imread(str(flame_bundle / "displacement.png"), cv2.IMREAD_UNCHANGED)
    got = decode_displacement(png, meta["textures"]["displacement"]["scale_m"])
    charts = uv_support(model, got.shape[0]).raster.mask.numpy()
    assert np.abs(want).max() > 1e-4                       # the synthetic decoder is not silent
    q = 2 * meta["textures"]["displacement"]["scale_m"] / 65535
    assert np.abs(got - want)[charts].max() < q + 1e-7
    assert np.abs(got[~charts]).max() < q + 1e-7


def test_rig_has_flame_joints_and_components(flame_bundle):
    with np.load(flame_bundle / "rig.npz") as z:
        rig = {k: z[k] for k in z.files}
    assert list(rig["joint_names"]) == ["root", "neck", "jaw", "eye.L", "eye.R"]
    assert list(rig["parents"]) == [-1, 0, 1, 1, 1]
    assert [str(n) for n in rig["expression_names"]] == [f"exp{i:03d}" for i in range(50)]
    assert tuple(rig["expression_range"]) == (-3.0, 3.0)
    assert rig["expression_deltas"].shape == (50, len(rig["vertices"]), 3)
    assert np.abs(rig["expression_deltas"][0]).max() > 1e-3


def test_wrinkle_maps_bake_with_component_keys(flame_bundle):
    side = json.loads((flame_bundle / "wrinkles" / "wrinkles.json").read_text())
    assert side["keys"] == [f"exp{i:03d}{s}" for i in range(5) for s in "+-"] + ["jaw_open"]
    # DECA's masks have no cheeks or chin: the rest of the face is its own region
    assert {"forehead.L", "eyes.R", "mouth", "face.other"} <= set(side["regions"])
    assert "cheeks.L" not in side["regions"]
    # a + key is driven by its own component only
    for region in side["coefficients"].values():
        for key, coef in region.items():
            if key != "jaw_open":
                assert set(coef) <= {key[:-1], "jaw_open_rad", "bias"}
    err = side["blend_error_100_random_expressions"]
    assert np.isfinite(err["mean_um"]) and err["signal_mean_um"] > 0
    for name in side["normal_maps"].values():
        assert (flame_bundle / "wrinkles" / name).is_file()


@pytest.mark.parametrize("missing", ["deca_path", "flame_path"])
def test_missing_flame_or_deca_file_is_a_clear_error(tmp_path, capsys, astronaut_path, flame_standin, missing):
    args = ["reconstruct", str(astronaut_path), "-o", str(tmp_path / "out"), "--quality", "fast", "--model", "flame"]
    for key, opt in FLAME_OPTIONS.items():
        args += [opt, str(tmp_path / "nowhere.bin") if key == missing else flame_standin[key]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "nowhere.bin" in err and ("deca_model.tar" in err or "FLAME" in err)
    assert not (tmp_path / "out").exists()


def test_deca_with_openhead_is_refused(tmp_path, capsys, astronaut_path, flame_standin):
    assert main(["reconstruct", str(astronaut_path), "-o", str(tmp_path / "out"), "--deca",
                 flame_standin["deca_path"]]) == 2
    assert "--model flame" in capsys.readouterr().err


def test_flame_albedo_model_is_fitted_and_recorded(tmp_path, astronaut_path, flame_standin):
    """--flame-albedo: the model's coefficients are fitted at default quality and recorded, and
    the albedo texture is the photo where seen, the fitted model elsewhere (not one flat tone)."""
    albedo = write_albedo_standin(tmp_path / "FLAME_albedo_from_BFM.npz", "BFM", size=256, n=20)
    out = tmp_path / "out"
    args = ["reconstruct", str(astronaut_path), "-o", str(out), "--model", "flame", "--flame-albedo", str(albedo)]
    for key in ("flame_path", "flame_landmarks", "flame_uv", "flame_masks"):
        args += [FLAME_OPTIONS[key], flame_standin[key]]
    assert main(args) == 0
    meta = read_bundle(out)
    am = meta["albedo_model"]
    assert am["kind"] == "BFM" and am["file"] == str(albedo.resolve()) and len(am["code"]) == 20
    assert np.abs(am["code"]).max() > 0.05                      # fitted, not left at the mean
    # skin far from anything the photo shows is the fitted model's colour field
    flame = FLAME(flame_standin["flame_path"], flame_standin["flame_landmarks"], flame_standin["flame_uv"],
                  flame_standin["flame_masks"])
    tex = cv2.imread(str(out / "albedo.png"))[..., ::-1] / 255.0
    S = tex.shape[0]
    with torch.no_grad():
        want = torch.nn.functional.interpolate(AlbedoModel(albedo)(torch.tensor([am["code"]], dtype=torch.float32)),
                                               size=(S, S), mode="bilinear", align_corners=False)[0]
    want = linear_to_srgb(want.permute(1, 2, 0)).numpy()
    sup = uv_support(flame, S)
    skin = sup.skin.numpy()
    # the back of the head: texels whose surface faces away from the camera (-z) in the rest pose
    n = world_to_uv(sup.raster, vertex_normals(flame.v_template[None].float(), flame.faces))[0].numpy()
    back = skin & (n[..., 2] < -0.5)
    assert back.sum() > 1000
    assert np.abs(tex[back] - want[back]).mean() < 0.03


def test_flame_albedo_needs_flame_and_a_real_file(tmp_path, capsys, astronaut_path, flame_standin):
    assert main(["reconstruct", str(astronaut_path), "-o", str(tmp_path / "out"),
                 "--flame-albedo", str(tmp_path / "x.npz")]) == 2
    assert "--model flame" in capsys.readouterr().err
    args = ["reconstruct", str(astronaut_path), "-o", str(tmp_path / "out"), "--model", "flame",
            "--flame-albedo", str(tmp_path / "nowhere.npz")]
    for key in ("flame_path", "flame_landmarks", "flame_uv"):
        args += [FLAME_OPTIONS[key], flame_standin[key]]
    assert main(args) == 2
    assert "nowhere.npz" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_flame_with_its_mediapipe_embedding_fits_dense_points(tmp_path, astronaut_path, flame_standin):
    """With --flame-mediapipe the FLAME fit uses MediaPipe's points it embeds; without it, the
    dense detector falls back to dlib's 68 points and the bundle says so."""
    base = ["reconstruct", str(astronaut_path), "--quality", "fast", "--model", "flame", "--landmarks", "mediapipe"]
    for key in ("flame_path", "flame_landmarks", "flame_uv"):
        base += [FLAME_OPTIONS[key], flame_standin[key]]
    assert main(base + ["-o", str(tmp_path / "dense"), "--flame-mediapipe", flame_standin["flame_mediapipe"]]) == 0
    meta = read_bundle(tmp_path / "dense")
    assert meta["landmarks"]["detector"] == "mediapipe" and meta["landmarks"]["point_set"] == "mediapipe478"
    assert meta["landmarks"]["weights"] == "google"     # the user's embedding places Google's points
    with np.load(flame_standin["flame_mediapipe"]) as z:
        assert meta["landmarks"]["fitted_index"] == z["landmark_indices"].tolist()
    photo = meta["parameters"]["photos"][0]
    assert len(photo["landmarks_detected"]) == 478 and photo["landmark_error_iod"] < 0.035
    assert meta["model"]["files"]["flame_mediapipe"] == flame_standin["flame_mediapipe"]
    assert main(base + ["-o", str(tmp_path / "sparse")]) == 0
    meta = read_bundle(tmp_path / "sparse")
    assert meta["landmarks"]["point_set"] == "ibug68" and meta["landmarks"]["detector"] == "dlib"
    assert any("--flame-mediapipe" in n for n in meta["provenance"]["notes"])
