"""The decoder interface: torch and ONNX Runtime agree, inputs are checked, small input changes
give small output changes, and the hi-res normal map is flat where the map is flat."""
import numpy as np
import pytest
import torch

from headsmith.wrinkles.decoder import (OnnxWrinkleDecoder, TorchWrinkleDecoder, UVGeometry, export_onnx,
                                      normal_map, onnx_providers, sharpen_upsample)
from headsmith.wrinkles.networks import DetailDecoder


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    n = DetailDecoder(latent_dim=3 + 52 + 128).eval()
    for m in n.modules():   # non-trivial running statistics, as a trained net has
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return n


def test_onnx_matches_torch(tmp_path, net):
    path = export_onnx(net, tmp_path / "dec.onnx")
    onnx = OnnxWrinkleDecoder(path, n_expression=52)
    tdec = TorchWrinkleDecoder(net, n_expression=52)
    rng = np.random.default_rng(0)
    code, expr, jaw = rng.normal(size=(3, 128)), rng.random((3, 52)), rng.normal(0, 0.1, (3, 3))
    a, b = onnx.decode(code, expr, jaw), tdec.decode(code, expr, jaw)
    assert a.shape == (3, 256, 256) and np.abs(a - b).max() < 1e-6
    assert onnx_providers()[-1] == "CPUExecutionProvider"


def test_bad_inputs(net):
    dec = TorchWrinkleDecoder(net, n_expression=52)
    ok = (np.zeros((1, 128)), np.zeros((1, 52)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="expression must be"):
        dec.decode(ok[0], np.zeros((1, 50)), ok[2])
    with pytest.raises(ValueError, match="batch"):
        dec.decode(np.zeros((2, 128)), ok[1], ok[2])
    with pytest.raises(ValueError, match="finite"):
        dec.decode(ok[0], np.full((1, 52), np.nan), ok[2])


def test_small_input_changes_give_small_output_changes(net):
    dec = TorchWrinkleDecoder(net, n_expression=52)
    rng = np.random.default_rng(1)
    code, expr, jaw = rng.normal(size=(1, 128)), rng.random((1, 52)), np.zeros((1, 3))
    base = dec.decode(code, expr, jaw)
    for eps in (1e-2, 1e-3):
        moved = dec.decode(code, expr + eps, jaw)
        assert np.abs(moved - base).max() < 50 * eps * 0.01   # metres: bounded sensitivity
    assert np.abs(dec.decode(code, expr + 1e-3, jaw) - base).max() < np.abs(dec.decode(code, expr + 1e-2, jaw) - base).max()


def test_sharp_upsample_and_flat_normals(openhead):
    d = np.zeros((1, 64, 64), np.float32)
    d[0, :, 30:34] = 0.001
    up = sharpen_upsample(d, 256)
    assert up.shape == (1, 256, 256)
    assert up[0, 128, 120:136].max() > 0.00095      # the furrow keeps its depth
    geo = UVGeometry.of(openhead, openhead().vertices, 128)
    nm = normal_map(geo, np.zeros((1, 128, 128), np.float32))
    assert np.allclose(nm[0][geo.mask.numpy()], [0, 0, 1], atol=1e-5)


def test_fast_normal_map_matches_the_reference(openhead):
    from headsmith.render import displacement_to_tangent_normal

    geo = UVGeometry.of(openhead, openhead().vertices, 256)
    rng = np.random.default_rng(3)
    d = sharpen_upsample((rng.normal(size=(1, 64, 64)) * 3e-4).astype(np.float32), 256)
    fast = normal_map(geo, d)
    ref = displacement_to_tangent_normal(geo.position, geo.normal, torch.as_tensor(d), geo.mask).numpy()
    m = geo.mask.numpy()
    assert np.abs(fast[0][m] - ref[0][m]).max() < 2e-3
