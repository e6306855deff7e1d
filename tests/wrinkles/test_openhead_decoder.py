"""The shipped OpenHead detail decoder (assets/detail, trained by training/): issue 4's wrinkle
properties on its output, for the person code photos start from (PERSON_PRIOR) and a deep-lined
person; issue 21's groups (each reads in its own region, lines the anatomical way); the bake is
the decoder itself; ONNX equals torch; small input changes give small output changes."""
import numpy as np
import pytest
import torch

from headsmith.wrinkles.anatomy import GROUPS
from headsmith.wrinkles.bake import bake_key_blend
from headsmith.wrinkles.decoder import OnnxWrinkleDecoder, TorchWrinkleDecoder
from headsmith.wrinkles.group_metrics import GroupMeter
from headsmith.wrinkles.maps import random_expressions
from headsmith.detail.person import PERSON_PRIOR
from headsmith.wrinkles.texture_decoder import OPENHEAD_DECODER_ONNX, load_openhead_decoder
from headsmith_training.wrinkle_generator import person_code
from tests.wrinkle_properties import BROWS_UP, UVFace, check_brows_up, check_squint, check_symmetric


@pytest.fixture(scope="module")
def net(openhead):
    n = load_openhead_decoder(n_expression=openhead.n_expression)
    assert n is not None, "assets/detail/openhead_detail.pt is missing: headsmith-train detail --export assets/detail"
    return n


@pytest.fixture(scope="module")
def meter(openhead, net):
    return GroupMeter(openhead, net.size)


@pytest.fixture(scope="module")
def face(openhead, net):
    return UVFace.of(openhead, net.size)


def _code(*p):
    return torch.tensor(person_code(*p[:4], p[4:]))[None]


PRIOR = _code(*PERSON_PRIOR)
DEEP = _code(0.9, 0.9, 0.1, 0.5, 0.85, 0.05, 0.05, 0.05)


def _maps(model, net, code):
    def f(expr, jaw=None):
        e = model.expression_vector(expr)
        with torch.no_grad():
            return net(torch.cat([torch.zeros(1, 3) if jaw is None else jaw, e, code], 1))[:, 0]
    return f


@pytest.mark.parametrize("code", [PRIOR, DEEP], ids=["prior", "deep"])
def test_wrinkle_properties(openhead, net, face, code):
    maps = _maps(openhead, net, code)
    assert maps({}).abs().max() < 4e-4          # neutral: pores only, no expression lines
    check_brows_up(face, maps, orientation_ratio=1.5)    # dominant: >= 60 % of the gradient energy
    check_squint(face, maps)
    check_symmetric(face, maps, tolerance=0.2)


def test_person_code_controls_depth(openhead, net, face):
    fore = face.region("forehead")
    depth = lambda c: float((_maps(openhead, net, c)(BROWS_UP) - _maps(openhead, net, c)({}))[0][fore].abs().mean())  # noqa: E731
    assert depth(DEEP) > 1.5 * depth(_code(0.1, 0.1, 0.1, 0.5, 0.85, 0.05, 0.05, 0.05))


def test_small_changes_of_the_inputs_give_small_changes(openhead, net):
    maps = _maps(openhead, net, PRIOR)
    base = {"browInnerUp": 0.5, "mouthSmileLeft": 0.4, "eyeSquintRight": 0.3}
    d0 = maps(base)
    for eps in (0.01, 0.02):
        d = maps({k: v + eps for k, v in base.items()})
        assert (d - d0).abs().max() < 50e-6 * eps / 0.01       # < 50 um per 0.01 of weight
    jaw = torch.tensor([[0.2, 0.0, 0.0]])
    dj = maps(base, jaw + torch.tensor([[0.01, 0, 0]])) - maps(base, jaw)
    assert dj.abs().max() < 50e-6


def test_onnx_matches_torch(openhead, net):
    rng = np.random.default_rng(0)
    code = np.repeat(PRIOR.numpy(), 3, 0)
    e = rng.uniform(0, 1, (3, openhead.n_expression)).astype(np.float32) * (rng.random((3, 52)) < 0.1)
    jaw = np.array([[0, 0, 0], [0.2, 0, 0], [0.1, 0.02, 0]], np.float32)
    a = TorchWrinkleDecoder(net, openhead.n_expression).decode(code, e, jaw)
    b = OnnxWrinkleDecoder(OPENHEAD_DECODER_ONNX, openhead.n_expression).decode(code, e, jaw)
    assert a.shape == (3, net.size, net.size) and np.abs(a - b).max() < 2e-6


def test_a_frozen_decoder_gathers_its_textures_once_and_follows_their_changes(openhead):
    n = load_openhead_decoder(n_expression=openhead.n_expression)   # its own copy: textures change below
    latent = torch.randn(2, n.latent_dim, generator=torch.Generator().manual_seed(0)) * 0.3
    gathered = n(latent).detach()             # textures that learn: gathered on every call
    assert n._mirrored_cache is None
    for p in n.parameters():
        p.requires_grad_(False)
    z = latent.clone().requires_grad_(True)
    out = n(z)
    assert n._mirrored_cache is not None and torch.equal(out.detach(), gathered)
    out.sum().backward()
    assert z.grad.abs().sum() > 0             # a person-code fit still gets its gradient
    with torch.no_grad():
        n.textures.mul_(2)
        cached = n(latent)
    n.textures.requires_grad_(True)
    assert not torch.allclose(cached, gathered) and torch.equal(cached, n(latent).detach())


@pytest.mark.parametrize("group", list(GROUPS))
def test_each_group_reads_in_its_own_region(openhead, net, meter, group):
    """Issue 21: >= 60 um RMS in its own region, >= 3x any other region's, lines the anatomical
    way (forehead horizontal, glabella vertical, crow's feet radial)."""
    r = meter.read(TorchWrinkleDecoder(net, openhead.n_expression), PRIOR[0].numpy(), group)
    assert r.own_um >= 60 and r.ratio >= 3, r
    assert r.orientation is None or r.orientation >= 0.6, r


def test_the_bake_is_the_decoder(openhead, net):
    """The baked blend (what Blender and engines play) equals re-decoding for any expression,
    and the ONNX file carries the same structure as the torch weights."""
    code = PRIOR[0].numpy()
    tdec = TorchWrinkleDecoder(net, openhead.n_expression)
    blend = tdec.key_blend(code)
    baked = bake_key_blend(blend, list(openhead.expression_names))
    E, J = random_expressions(openhead, 40, seed=5)
    live = tdec.decode(np.repeat(code[None], len(E), 0), E, J)
    dyn = np.sqrt(((live - baked.neutral) ** 2).mean())
    assert np.sqrt(((baked.blend(E, J[:, 0]) - live) ** 2).mean()) < 1e-4 * dyn
    onnx = OnnxWrinkleDecoder(OPENHEAD_DECODER_ONNX, openhead.n_expression).key_blend(code)
    assert onnx.key_names == blend.key_names and np.allclose(onnx.coef, blend.coef)
    assert np.abs(onnx.key_maps - blend.key_maps).max() < 1e-8 and np.array_equal(onnx.region_masks, blend.region_masks)


def test_the_jaw_open_shape_key_opens_the_jaw_wrinkles_as_the_bone_does(openhead, net):
    from headsmith.wrinkles.bake import jaw_open_equivalent

    eq = jaw_open_equivalent(openhead)
    maps = _maps(openhead, net, PRIOR)
    by_key = maps({"jawOpen": 1.0}) - maps({})
    by_bone = maps({}, torch.tensor([[eq, 0.0, 0.0]])) - maps({})
    assert by_bone.abs().max() > 2e-5
    assert torch.allclose(by_key, by_bone, atol=1e-9)
