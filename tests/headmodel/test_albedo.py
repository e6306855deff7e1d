"""The user's FLAME albedo model: both file formats, channel order, scale, and clear errors."""
import numpy as np
import pytest
import torch

from headsmith.headmodel import ModelFileError
from headsmith.headmodel.albedo import AlbedoModel
from headsmith.imageio.color import srgb_to_linear
from tests.headmodel.albedo_standin import albedo_space, write_albedo_standin


@pytest.mark.parametrize("kind", ["FLAME", "BFM"])
def test_both_formats_give_the_same_rgb_linear_texture(tmp_path, kind):
    path = write_albedo_standin(tmp_path / f"{kind}.npz", kind, size=64, n=6)
    m = AlbedoModel(path, n_components=4)
    assert m.kind == kind and m.size == 64 and m.n_components == 4
    mean, comps = albedo_space(64, 6)
    code = torch.tensor([[1.5, -2.0, 0.5, 1.0]])
    want = srgb_to_linear(torch.tensor(np.clip(mean + np.tensordot(code[0].numpy(), comps[:4], 1), 0, 1),
                                       dtype=torch.float32)).permute(2, 0, 1)
    got = m(code)[0]
    assert got.shape == (3, 64, 64)
    assert torch.allclose(got, want, atol=1e-5)      # RGB order (the file is BGR), 0..1, linear
    # a shorter code is zero-padded, a longer one cut to the model's components
    assert torch.allclose(m(code[:, :2]), m(torch.cat([code[:, :2], torch.zeros(1, 2)], 1)))
    assert torch.allclose(m(torch.cat([code, torch.ones(1, 3)], 1)), m(code))


def test_resampled_model_keeps_its_colours(tmp_path):
    path = write_albedo_standin(tmp_path / "t.npz", "FLAME", size=128, n=3)
    full, half = AlbedoModel(path), AlbedoModel(path, size=64)
    assert half.size == 64 and half.basis.shape == (3, 3, 64, 64)
    assert torch.allclose(half.mean.mean((1, 2)), full.mean.mean((1, 2)), atol=1e-3)


def test_missing_or_wrong_files_say_what_to_give(tmp_path):
    with pytest.raises(ModelFileError, match="--flame-albedo"):
        AlbedoModel(tmp_path / "nope.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ModelFileError, match="MU and PC"):
        AlbedoModel(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a readable"):
        AlbedoModel(tmp_path / "junk.npz")
    np.savez(tmp_path / "odd.npz", mean=np.zeros(10), tex_dir=np.zeros((10, 2)))
    with pytest.raises(ModelFileError, match="square"):
        AlbedoModel(tmp_path / "odd.npz")
