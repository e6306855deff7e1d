"""Unseen skin completed from the seen skin: the same grain, the same tone at the boundary, and
the reference tone far from it; measured with texture.metrics."""
import numpy as np
import torch

from headsmith.imageio.color import linear_to_srgb
from headsmith.texture.fill import push_pull_fill
from headsmith.texture.metrics import boundary_delta_e, grain_ratio, tone_delta_e
from headsmith.texture.skin_synthesis import _overlap_add, complete_skin, synthesise_texture

S = 512


def test_overlapping_patches_add_up_as_fold_adds_them():
    """The four-pass overlap-add equals torch's fold of the same patches at half-patch stride,
    for an even and an odd count of patches per side."""
    torch.manual_seed(3)
    for n, p in ((6, 8), (7, 4)):
        patches = torch.randn(n, n, p, p, 3)
        cols = patches.permute(0, 1, 4, 2, 3).reshape(n * n, 3 * p * p).T[None]
        side = (n - 1) * p // 2 + p
        ref = torch.nn.functional.fold(cols, (side, side), p, stride=p // 2)[0]
        assert torch.allclose(_overlap_add(patches, p // 2), ref, atol=1e-6)


def test_synthesised_texture_keeps_the_source_statistics():
    rng = np.random.default_rng(0)
    source = torch.zeros(S, S, dtype=torch.bool)
    source[40:140, 30:130] = True
    texture = torch.zeros(S, S, 3)
    texture[source] = torch.as_tensor(rng.normal(0, 0.08, (int(source.sum()), 3)), dtype=torch.float32)
    out = synthesise_texture(texture, source, rng)
    assert out.shape == texture.shape
    assert abs(float(out.std()) / 0.08 - 1) < 0.2      # the grain's strength everywhere
    assert abs(float(out.mean())) < 0.01
    # nothing from outside the source: a source of zeros gives zeros
    assert float(synthesise_texture(torch.zeros(S, S, 3), source, rng).abs().max()) == 0.0
    # too little source for a patch: no grain rather than a repeated texel
    tiny = torch.zeros(S, S, dtype=torch.bool)
    tiny[10:14, 10:14] = True
    assert float(synthesise_texture(texture, tiny, rng).abs().max()) == 0.0


def _half_seen_skin(rng):
    """Skin seen on the left half (a tone that brightens to the right, plus grain), nothing on
    the right; the reference skin is a patch of the left half."""
    x = torch.linspace(0, 1, S)[None, :, None].expand(S, S, 1)
    tone = torch.tensor([0.50, 0.34, 0.27]) * (0.8 + 0.4 * x)
    grain = torch.as_tensor(rng.normal(0, 0.06, (S, S, 1)), dtype=torch.float32).exp()
    albedo = (tone * grain).clamp(0, 1)
    coverage = torch.zeros(S, S)
    coverage[:, : S // 2] = 1.0
    reference = torch.zeros(S, S, dtype=torch.bool)
    reference[60:200, 20:100] = True
    valid = torch.ones(S, S, dtype=torch.bool)
    return albedo * coverage[..., None], coverage, reference, valid


def _srgb(t):
    return linear_to_srgb(t).numpy()


def test_completed_skin_meets_the_photo_without_a_step_and_with_its_grain():
    rng = np.random.default_rng(1)
    albedo, coverage, reference, valid = _half_seen_skin(rng)
    skin = complete_skin(albedo, coverage, valid, reference, valid, valid, rng)
    out = albedo * coverage[..., None] + skin * (1 - coverage[..., None])
    cov, mask = coverage.numpy(), valid.numpy()
    assert boundary_delta_e(_srgb(out), cov, mask) <= 3
    assert grain_ratio(_srgb(out), cov, mask) >= 0.5
    # far from what was seen: the reference skin's tone
    far = np.zeros((S, S), bool)
    far[:, -20:] = True
    assert tone_delta_e(_srgb(out), far, reference.numpy()) <= 5


def test_a_smooth_fill_has_no_grain():
    """The measure itself: the plain push-pull completion (before skin synthesis) is flat."""
    rng = np.random.default_rng(1)
    albedo, coverage, _, valid = _half_seen_skin(rng)
    filled = push_pull_fill(albedo, coverage)
    out = albedo * coverage[..., None] + filled * (1 - coverage[..., None])
    assert grain_ratio(_srgb(out), coverage.numpy(), valid.numpy()) < 0.25


def test_stubble_strength_grain_is_not_spread_at_full_strength():
    """Cheeks with a coarse grain (stubble, a beard's shadow) would make a dirty scalp: the copied
    grain is capped at GRAIN_MAX_RMS (log units)."""
    from headsmith.texture.skin_synthesis import GRAIN_MAX_RMS, split_log_skin

    rng = np.random.default_rng(2)
    albedo, coverage, reference, valid = _half_seen_skin(rng)
    coarse = torch.as_tensor(rng.normal(0, 0.25, (S, S, 1)), dtype=torch.float32).exp()
    albedo = (albedo * coarse).clamp(0, 1) * coverage[..., None]
    skin = complete_skin(albedo, coverage, valid, reference, valid, valid, rng)
    _, made = split_log_skin(skin, torch.ones(S, S))
    far = made[:, S // 2 + 40:].mean(-1)
    assert float(far.pow(2).mean().sqrt()) < 1.15 * GRAIN_MAX_RMS
    _, seen = split_log_skin(albedo, coverage)
    assert float(seen[reference].mean(-1).pow(2).mean().sqrt()) > 2 * GRAIN_MAX_RMS   # the source was coarse


def test_holes_are_the_unseen_regions_seen_skin_surrounds():
    from headsmith.texture.skin_synthesis import enclosed_holes

    unseen = torch.zeros(S, S, dtype=torch.bool)
    unseen[:, S // 2:] = True              # the far side: open to the chart's edge
    unseen[100:120, 100:140] = True        # a nostril inside the seen skin
    layout = torch.ones(S, S, dtype=torch.bool)
    layout[295:335, 95:135] = False         # an ear: its own chart, unseen, off the layout around it
    layout[300:330, 100:130] = True
    unseen[300:330, 100:130] = True
    holes = enclosed_holes(unseen & layout, ~unseen & layout).numpy()
    assert holes[100:120, 100:140].all()
    assert not holes[:, S // 2:].any() and not holes[300:330, 100:130].any()


def test_a_hole_is_filled_from_its_own_edge():
    """A hole inside the seen skin with a dark rim (a nostril, a lash line, a dropped frame): the
    fill meets the rim's colour, not the skin tone from farther away, so the hole shows no pale
    patch (before: the plain skin's tone, Delta E 6-12 on the real photos' inner edges)."""
    rng = np.random.default_rng(4)
    albedo, coverage, reference, valid = _half_seen_skin(rng)
    yy, xx = torch.meshgrid(torch.arange(S), torch.arange(S), indexing="ij")
    r = ((yy - 150.0) ** 2 + (xx - 120.0) ** 2).sqrt()
    albedo = torch.where(((r >= 12) & (r < 20))[..., None], albedo * 0.35, albedo)   # the dark rim
    coverage = torch.where(r < 12, torch.zeros(()), coverage)
    albedo = albedo * coverage[..., None]
    plain = valid & (r >= 20)              # the rim is a feature, not plain skin
    skin = complete_skin(albedo, coverage, plain, reference, valid, valid, rng)
    out = albedo * coverage[..., None] + skin * (1 - coverage[..., None])
    near = (r < 40).numpy()
    assert boundary_delta_e(_srgb(out), coverage.numpy(), near) <= 3


def test_grain_beside_the_seen_skin_follows_its_strength_there():
    """The skin beside the boundary is grainier than the reference cheeks: the completed skin
    beside it goes on with that texture (copied from close by), the far skin takes the reference's."""
    from headsmith.texture.skin_synthesis import split_log_skin

    rng = np.random.default_rng(5)
    albedo, coverage, reference, valid = _half_seen_skin(rng)
    extra = torch.as_tensor(rng.normal(0, 0.10, (S, S, 1)), dtype=torch.float32).exp()
    beside = torch.zeros(S, S, dtype=torch.bool)
    beside[:, 150:] = True                                  # the seen band next to the boundary
    albedo = torch.where(beside[..., None], (albedo * extra).clamp(0, 1), albedo) * coverage[..., None]
    skin = complete_skin(albedo, coverage, valid, reference, valid, valid, rng)
    out = albedo * coverage[..., None] + skin * (1 - coverage[..., None])
    assert grain_ratio(_srgb(out), coverage.numpy(), valid.numpy()) >= 0.5
    _, made = split_log_skin(skin, torch.ones(S, S))
    rms = lambda cols: float(made[:, cols].mean(-1).pow(2).mean().sqrt())   # noqa: E731
    assert rms(slice(S // 2 + 2, S // 2 + 10)) > 1.5 * rms(slice(S - 30, S))


def test_a_beard_goes_on_under_the_jaw_but_not_into_the_lips():
    """A coarse texture beside the boundary (a beard, far coarser than the cheeks the reference
    grain is copied from) goes on into the completed skin beside it, at its own strength (the
    reference's grain, scaled, reached at most 2x its strength before: 0.11 of the 0.31 here);
    a hole among the features beside it (the lips) takes the reference's tamed grain, not hairs."""
    from headsmith.texture.skin_synthesis import split_log_skin

    rng = np.random.default_rng(6)
    albedo, coverage, reference, valid = _half_seen_skin(rng)
    beard = torch.zeros(S, S, dtype=torch.bool)
    beard[:, 150:] = True
    coarse = torch.as_tensor(rng.normal(0, 0.25, (S, S, 1)), dtype=torch.float32).exp()
    albedo = torch.where(beard[..., None], (albedo * coarse).clamp(0, 1), albedo)
    plain = valid.clone()
    plain[290:350, 150:250] = False        # the lips: a feature
    coverage[300:340, 170:230] = 0.0        # a hole in them, beside the beard
    skin = complete_skin(albedo * coverage[..., None], coverage, plain, reference, valid, valid, rng)
    _, made = split_log_skin(skin, torch.ones(S, S))
    _, seen = split_log_skin(albedo, coverage)
    rms = lambda t: float(t.mean(-1).pow(2).mean().sqrt())   # noqa: E731
    beside = rms(made[:, S // 2 + 2:S // 2 + 12])
    assert beside > 0.5 * rms(seen[:, 200:S // 2 - 10])
    assert rms(made[305:335, 180:220]) < 1.25 * rms(made[:, -30:])   # as far away (with hairs: 1.6x)


def test_local_patches_come_from_the_source_nearest_their_place():
    """Two source regions, a fine grain on the left and a coarse one on the right: the local
    synthesis beside each has that side's strength (a random pick would give both the mixture)."""
    from headsmith.texture.skin_synthesis import synthesise_local_texture

    rng = np.random.default_rng(7)
    source = torch.zeros(S, S, dtype=torch.bool)
    source[:, :150] = True
    source[:, S - 150:] = True
    strength = torch.where(torch.arange(S) < S // 2, 0.02, 0.2)[None, :, None]
    texture = torch.as_tensor(rng.normal(0, 1, (S, S, 3)), dtype=torch.float32) * strength * source[..., None]
    out = synthesise_local_texture(texture, source, rng)
    rms = lambda t: float(t.pow(2).mean().sqrt())   # noqa: E731
    assert rms(out[:, 155:175]) < 0.04 and rms(out[:, S - 175:S - 155]) > 0.15


def test_local_patches_copied_only_where_wanted_give_the_same_field_there():
    from headsmith.texture.skin_synthesis import synthesise_local_texture

    rng = np.random.default_rng(8)
    source = torch.zeros(S, S, dtype=torch.bool)
    source[100:300, 50:250] = True
    texture = torch.as_tensor(rng.normal(0, 1, (S, S, 3)), dtype=torch.float32) * source[..., None]
    wanted = torch.zeros(S, S, dtype=torch.bool)
    wanted[280:330, 240:400] = True
    full = synthesise_local_texture(texture, source, np.random.default_rng(1))
    part = synthesise_local_texture(texture, source, np.random.default_rng(1), wanted)
    assert torch.equal(full[wanted], part[wanted])
    assert float(part[:, :100].abs().max()) == 0.0     # far from what is wanted: nothing copied
