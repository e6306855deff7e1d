"""De-lighting by symmetry: a light field that brightens one side of the face is taken out of
an unwrapped albedo; the skin's own small asymmetric marks stay."""
import torch

from headsmith.render import world_to_uv
from headsmith.texture.delight import symmetric_light_factor
from headsmith.texture.occlusion import skin_zones
from headsmith.uvspace import uv_support

S = 512


def _face_albedo(openhead):
    """Symmetric skin (a tone with blotches that are functions of |x|) on the face, a small dark
    mole on the subject's left cheek, and a key light from the left: brightness exp(6 x)."""
    sup = uv_support(openhead, S)
    xyz = world_to_uv(sup.raster, openhead.v_template.float()[None])[0]          # (S, S, 3) metres
    x, y = xyz[..., 0], xyz[..., 1]
    tone = torch.tensor([0.55, 0.38, 0.3])
    blotch = 1 + 0.15 * torch.sin(60 * x.abs()) * torch.cos(45 * y)
    albedo = tone * blotch[..., None]
    mole = ((x - 0.04) ** 2 + (y + 0.03) ** 2).sqrt() < 0.003
    albedo = torch.where(mole[..., None], albedo * 0.4, albedo)
    light = torch.exp(6 * x)[..., None]            # x = +-0.07 m: 1.5x and 0.66x
    zones = skin_zones(openhead, S)
    plain = zones.plain & (sup.part == 0)
    return sup, albedo, (albedo * light).clamp(0, 1), plain.float(), mole, xyz


def test_light_from_one_side_is_taken_out(openhead):
    sup, albedo, lit, weight, mole, xyz = _face_albedo(openhead)
    x = xyz[..., 0]
    out = lit * symmetric_light_factor(lit, weight, sup, weight > 0)
    face = (weight > 0) & (x.abs() > 0.01) & (x.abs() < 0.06) & ~mole
    # one scale (albedo and light trade it), then the log error on the face
    def err(a):
        r = torch.log(a[face] / albedo[face])
        return float((r - r.median(0).values).abs().mean())
    assert err(out) < 0.3 * err(lit), (err(lit), err(out))
    left, right = face & (x > 0), face & (x < 0)
    lum = out.mean(-1)
    assert abs(float(lum[left].median() / lum[right].median()) - 1) < 0.05


def test_unseen_mirror_and_small_marks_are_left(openhead):
    sup, albedo, lit, weight, mole, xyz = _face_albedo(openhead)
    x = xyz[..., 0]
    part = weight * (x > -0.03)                       # the right cheek was not seen
    harsh = (albedo * torch.exp(12 * x)[..., None]).clamp(0, 1)
    f = symmetric_light_factor(harsh, part, sup, part > 0)
    assert torch.allclose(f[(weight > 0) & (x < -0.04)], torch.ones(1), atol=0.02)   # nothing seen there
    assert float((f[(weight > 0) & (x > 0.02) & (x < 0.03)] - 1).abs().max()) > 0.05    # the rest moved
    out = lit * symmetric_light_factor(lit, weight, sup, weight > 0)
    d = ((x - 0.04) ** 2 + (xyz[..., 1] + 0.03) ** 2).sqrt()
    around = (d > 0.004) & (d < 0.008) & (weight > 0) & (xyz[..., 2] > 0)
    assert float(out[mole].mean() / out[around].mean()) < 0.5    # 0.4 painted: it stays as dark


def test_an_evenly_lit_face_keeps_its_own_asymmetry(openhead):
    """A broad darker patch on one cheek (a birthmark, a beard's edge) under an even light is the
    person's: no correction (side_light_strength below SIDE_LIGHT)."""
    sup, albedo, lit, weight, mole, xyz = _face_albedo(openhead)
    x, y = xyz[..., 0], xyz[..., 1]
    patch = torch.exp(-((x - 0.045) ** 2 + (y + 0.02) ** 2) / 0.012 ** 2)[..., None]
    own = albedo * (1 - 0.35 * patch)
    assert symmetric_light_factor(own, weight, sup, weight > 0) is None


def test_the_side_that_leans_on_the_normals_takes_the_gap(openhead):
    """With a hard key known (its share of each texel's shading given), the factor applies even
    to a light too weak to pass SIDE_LIGHT, and only the lit side moves: the side in the key's
    shadow, lit by the ambient alone, is the surer of the two."""
    sup, albedo, _, weight, mole, xyz = _face_albedo(openhead)
    x = xyz[..., 0]
    lit = albedo * (1 + 0.15 * (x > 0).float())[..., None]              # +0.14 log on the left side
    assert symmetric_light_factor(lit, weight, sup, weight > 0) is None  # a weak side light
    reliance = (x > 0).float()
    f = symmetric_light_factor(lit, weight, sup, weight > 0, reliance)
    face = (weight > 0) & (x.abs() > 0.02) & (x.abs() < 0.06) & ~mole
    assert float((f[face & (x < 0)] - 1).abs().quantile(0.95)) < 0.005         # the shadowed side stays
    left = (lit * f)[face & (x > 0)].mean(-1).median() / lit[face & (x < 0)].mean(-1).median()
    assert abs(float(left) - 1) < 0.03, float(left)                          # the lit side met it


def _drawn_by(side_light: list):
    """Colours drawn by the default light plus `side_light` (3, 3) in bands 1-3 over random
    normals and albedos: -> (albedo, colour, normals, the true light (9, 3))."""
    from headsmith.render import default_light, sh_shading

    g = torch.Generator().manual_seed(0)
    n = torch.nn.functional.normalize(torch.randn(64, 64, 3, generator=g) + torch.tensor([0, 0, 1.5]), dim=-1)
    albedo = 0.2 + 0.6 * torch.rand(64, 64, 3, generator=g)
    true = default_light()[0]
    true[1:4] += torch.tensor(side_light)
    return albedo, albedo * sh_shading(n[None], true[None])[0], n, true


def test_refit_light_recovers_the_light_that_drew_the_colours():
    """A white side light: the refit from another light finds it (the priors' pull is small)."""
    from headsmith.render import default_light
    from headsmith.texture.delight import refit_light

    albedo, colour, n, true = _drawn_by([[0.8] * 3, [-0.3] * 3, [0.25] * 3])
    fitted = refit_light(albedo, colour, n, torch.ones(64, 64), default_light()[0])
    assert (fitted - true).abs().max() < 0.05 * true.abs().max()
    assert (default_light()[0] - true).abs().max() > 0.5       # it had somewhere to go


def test_refit_light_keeps_its_directional_part_in_the_ambient_colour():
    """Colours whose left/right tint a coloured side light explains: the refit takes the light's
    strength but not its colour (render.shading.light_implausibility's chroma stays near 0)."""
    from headsmith.render import default_light
    from headsmith.render.shading import light_implausibility, sphere_directions
    from headsmith.texture.delight import refit_light

    albedo, colour, n, true = _drawn_by([[0.9, 0.3, 0.0], [-0.3] * 3, [0.25] * 3])
    fitted = refit_light(albedo, colour, n, torch.ones(64, 64), default_light()[0])
    chroma = float(light_implausibility(fitted[None], sphere_directions())[1])
    chroma_true = float(light_implausibility(true[None], sphere_directions())[1])
    assert chroma < 0.05 * chroma_true
    assert abs(float(fitted[1].mean() - true[1].mean())) < 0.1     # the side light's strength stays
