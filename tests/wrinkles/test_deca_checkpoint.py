"""A synthetic deca_model.tar with DECA's exact key names and shapes (written here from the
published layout, independently of the project's modules) loads; any deviation fails loudly."""
import pickle
from fractions import Fraction

import pytest
import torch

from headsmith.wrinkles.deca_checkpoint import CheckpointError, load_deca_checkpoint


def _bn(prefix, c, out):
    out[f"{prefix}.weight"] = torch.rand(c) + 0.5
    out[f"{prefix}.bias"] = torch.randn(c) * 0.1
    out[f"{prefix}.running_mean"] = torch.randn(c) * 0.1
    out[f"{prefix}.running_var"] = torch.rand(c) + 0.5
    out[f"{prefix}.num_batches_tracked"] = torch.tensor(1000)


def resnet50_encoder_keys(out_dim):
    """torchvision ResNet-50 names under 'encoder.', no fc; head 'layers.0' and 'layers.2'."""
    sd = {"encoder.conv1.weight": torch.randn(64, 3, 7, 7) * 0.05}
    _bn("encoder.bn1", 64, sd)
    cin = 64
    for li, (planes, blocks) in enumerate(((64, 3), (128, 4), (256, 6), (512, 3)), start=1):
        for b in range(blocks):
            p = f"encoder.layer{li}.{b}"
            sd[f"{p}.conv1.weight"] = torch.randn(planes, cin, 1, 1) * 0.05
            _bn(f"{p}.bn1", planes, sd)
            sd[f"{p}.conv2.weight"] = torch.randn(planes, planes, 3, 3) * 0.02
            _bn(f"{p}.bn2", planes, sd)
            sd[f"{p}.conv3.weight"] = torch.randn(planes * 4, planes, 1, 1) * 0.05
            _bn(f"{p}.bn3", planes * 4, sd)
            if b == 0:
                sd[f"{p}.downsample.0.weight"] = torch.randn(planes * 4, cin, 1, 1) * 0.05
                _bn(f"{p}.downsample.1", planes * 4, sd)
            cin = planes * 4
    sd["layers.0.weight"] = torch.randn(1024, 2048) * 0.01
    sd["layers.0.bias"] = torch.zeros(1024)
    sd["layers.2.weight"] = torch.randn(out_dim, 1024) * 0.01
    sd["layers.2.bias"] = torch.zeros(out_dim)
    return sd


def detail_decoder_keys():
    """D_detail: l1.0 Linear(181, 8192); conv_blocks: 0 BN(128); convs at 2, 6, 10, 14, 18 with
    BN(eps 0.8) after each at 3, 7, 11, 15, 19; the output conv at 21."""
    sd = {"l1.0.weight": torch.randn(128 * 64, 181) * 0.02, "l1.0.bias": torch.zeros(128 * 64)}
    _bn("conv_blocks.0", 128, sd)
    for conv, (cin, cout) in zip((2, 6, 10, 14, 18), ((128, 128), (128, 64), (64, 64), (64, 32), (32, 16))):
        sd[f"conv_blocks.{conv}.weight"] = torch.randn(cout, cin, 3, 3) * 0.05
        sd[f"conv_blocks.{conv}.bias"] = torch.zeros(cout)
        _bn(f"conv_blocks.{conv + 1}", cout, sd)
    sd["conv_blocks.21.weight"] = torch.randn(1, 16, 3, 3) * 0.05
    sd["conv_blocks.21.bias"] = torch.zeros(1)
    return sd


def make_checkpoint(path, mutate=None):
    torch.manual_seed(0)
    ckpt = {"E_flame": resnet50_encoder_keys(236), "E_detail": resnet50_encoder_keys(128),
            "D_detail": detail_decoder_keys()}
    if mutate:
        mutate(ckpt)
    torch.save(ckpt, path)
    return ckpt


def test_synthetic_deca_checkpoint_loads(tmp_path):
    p = tmp_path / "deca_model.tar"
    ckpt = make_checkpoint(p)
    nets = load_deca_checkpoint(p)
    assert torch.equal(nets.D_detail.l1[0].weight, ckpt["D_detail"]["l1.0.weight"])
    assert nets.D_detail.conv_blocks[3].eps == 0.8
    z = torch.randn(2, 181)
    d = nets.D_detail(z)
    assert d.shape == (2, 1, 256, 256) and d.abs().max() <= 0.01
    img = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        assert nets.E_flame(img).shape == (1, 236) and nets.E_detail(img).shape == (1, 128)


@pytest.mark.parametrize("kind", ["renamed", "missing", "extra", "shape"])
def test_deviations_fail_with_a_clear_message(tmp_path, kind):
    def mutate(c):
        d = c["D_detail"]
        if kind == "renamed":
            d["conv_blocks.22.weight"] = d.pop("conv_blocks.21.weight")
        elif kind == "missing":
            del c["E_detail"]["encoder.layer3.5.bn2.running_var"]
        elif kind == "extra":
            c["E_flame"]["encoder.fc.weight"] = torch.zeros(1000, 2048)
        else:
            d["l1.0.weight"] = torch.zeros(128 * 64, 236)
    p = tmp_path / "deca_model.tar"
    make_checkpoint(p, mutate)
    with pytest.raises(CheckpointError) as e:
        load_deca_checkpoint(p)
    msg = str(e.value)
    expect = {"renamed": "conv_blocks.21.weight", "missing": "layer3.5.bn2.running_var",
              "extra": "encoder.fc.weight", "shape": "l1.0.weight"}[kind]
    assert expect in msg and "DECA" in msg


def test_not_a_checkpoint(tmp_path):
    p = tmp_path / "deca_model.tar"
    with open(p, "wb") as f:
        pickle.dump({"E_flame": Fraction(1, 3)}, f)   # an arbitrary class: refused by weights_only
    with pytest.raises(CheckpointError, match="weights-only"):
        load_deca_checkpoint(p)
    with pytest.raises(CheckpointError, match="not found"):
        load_deca_checkpoint(tmp_path / "absent.tar")
    torch.save({"model": {}}, p)
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_deca_checkpoint(p)
