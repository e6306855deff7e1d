"""Texture resolution: 2048 texels where the photo has the pixels for them, sampled from a crop
large enough to carry them."""
import cv2
import numpy as np
import skimage.data

from headsmith.imageio import load_photo
from headsmith.pipeline import ReconstructSettings
from headsmith.pipeline.settings import HIGH_RES_FACE_PX
from headsmith.pipeline.stages import detect_faces


def test_texture_size_follows_the_face_and_quality():
    s = ReconstructSettings()
    assert s.texture_px(300) == 1024 and s.crop_px(300) == 512
    assert s.texture_px(HIGH_RES_FACE_PX) == 2048 and s.crop_px(HIGH_RES_FACE_PX) == 1024
    assert ReconstructSettings(quality="fast").texture_px(2000) == 512
    assert ReconstructSettings(quality="high").texture_px(900) == 2048
    assert ReconstructSettings(texture_size=256).texture_px(2000) == 256       # given: kept
    assert ReconstructSettings(crop_size=640).crop_px(0) == 640


def test_a_large_face_is_cropped_for_2048_texels(tmp_path, openhead):
    """The astronaut's face at 8x (about 740 px across) gets a 1024 crop whose landmarks are
    the photo's, scaled; at 1x the crop stays 512."""
    face = skimage.data.astronaut()[0:300, 100:400]
    sizes = {}
    for k in (1, 8):
        p = tmp_path / f"x{k}.png"
        cv2.imwrite(str(p), cv2.cvtColor(cv2.resize(face, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC),
                                         cv2.COLOR_RGB2BGR))
        faces = detect_faces([load_photo(p)], ReconstructSettings(), "cpu", lambda *a: None, openhead)
        sizes[k] = (faces.face_px[0], faces.crops[0].size, faces.crops[0].image.shape[0])
        crop = faces.crops[0]
        assert np.allclose(crop.to_photo(crop.landmarks), faces.detected[0], atol=1e-6)
    assert sizes[1][0] < HIGH_RES_FACE_PX <= sizes[8][0]
    assert sizes[1][1:] == (512, 512) and sizes[8][1:] == (1024, 1024)
    assert ReconstructSettings().texture_px(sizes[8][0]) == 2048


def test_mesh_weights_follow_the_head_model_unless_chosen():
    """OpenHead heads get the mesh tuned to OpenHead's points; FLAME gets Google's, whose points
    the user's embedding file places; a choice is kept; an unknown one is refused."""
    import pytest

    from headsmith.pipeline.settings import ReconstructionError, check_settings

    assert ReconstructSettings().mesh_choice() == "openhead"
    assert ReconstructSettings(model="flame").mesh_choice() == "google"
    assert ReconstructSettings(mesh_weights="google").mesh_choice() == "google"
    with pytest.raises(ReconstructionError, match="mesh_weights"):
        check_settings(ReconstructSettings(mesh_weights="mine"))
