"""The fit's stage helpers (backend/fit/stages.py)."""
from types import SimpleNamespace

import torch

from headsmith.fit.stages import clamp_expression


def test_expressions_are_kept_in_the_models_range():
    """ARKit weights stay in 0..1; FLAME's components may be negative (within +-3 standard deviations)."""
    for rng, expected in (((0.0, 1.0), [0.0, 0.4, 1.0]), ((-3.0, 3.0), [-1.5, 0.4, 3.0])):
        st = SimpleNamespace(model=SimpleNamespace(expression_range=rng), expression=torch.tensor([[-1.5, 0.4, 3.5]]),
                             jaw=torch.tensor([[0.9, 0.0, 0.0]]))
        clamp_expression(st)
        assert torch.allclose(st.expression[0], torch.tensor(expected))
        assert abs(float(st.jaw[0, 0]) - 0.6) < 1e-6


def test_the_photometric_light_stays_one_a_scene_casts(openhead):
    """A dressed head (lips, brows, ruddy cheeks, a hair cap) under the default white light: left
    free, the SH light explains the paint with coloured, partly dark light (as on real photos:
    teal under a chin); with the light priors it stays white and lights every normal."""
    import math

    import numpy as np

    from headsmith.fit import FitSettings, Observation, fit_coarse
    from headsmith.headmodel import HeadPose
    from headsmith.headmodel.appearance import SKIN, paint_face
    from headsmith.imageio.color import linear_to_srgb, to_uint8
    from headsmith.render import MeshRenderer, OrthographicCamera, default_light
    from headsmith.render.shading import light_implausibility, sphere_directions

    pose = HeadPose.zeros(1)
    pose.global_rot[0] = torch.tensor([0.05, math.radians(15.0), 0.0])
    cam = OrthographicCamera(torch.tensor([[6.5, 0.0, 0.025]]))
    out = openhead(pose=pose)
    tex = paint_face(openhead, np.full((512, 512, 3), SKIN, np.float32), np.random.default_rng(1))
    lay = openhead.uv_layout
    with torch.no_grad():
        r = MeshRenderer(openhead.faces, lay.uv, lay.faces).render(
            out.vertices, cam, (256, 256), light=default_light(), background=0.3,
            texture=torch.tensor(tex, dtype=torch.float32).permute(2, 0, 1)[None])
    obs = [Observation(to_uint8(linear_to_srgb(r.image[0])), cam.project(out.landmarks3d, 256, 256)[0, :, :2].numpy())]
    found = {}
    for name, kw in (("free", dict(w_light_dark=0.0, w_light_chroma=0.0)), ("priors", {})):
        fit = fit_coarse(openhead, obs, FitSettings(quality="default", **kw))
        found[name] = [float(x) for x in light_implausibility(fit.light, sphere_directions())]
    assert found["free"][1] > 0.015                          # coloured (0.028 measured)
    assert found["priors"][1] < 0.3 * found["free"][1]       # 0.0036
    assert found["priors"][0] < 1e-5 < found["free"][0]      # 1.6e-7 and 0.004


def test_the_photometric_term_reads_a_fresh_share_of_the_skin_each_step():
    """Its pixels and their photo colours stay paired, no pixel twice; successive steps read
    independent draws (they share about PHOTO_PIXEL_SHARE of their pixels), and the same seed
    reads the same ones (a fit is repeatable)."""
    from headsmith.fit.stages import PHOTO_PIXEL_SHARE, _pixel_sample
    from headsmith.render import Fragments

    pixels = torch.arange(1000) * 3
    skin = Fragments(torch.full((1, 64, 64), -1), None, None, pixels, torch.zeros(1000, dtype=torch.long))
    target = torch.stack([pixels.float()] * 3, -1)
    gen = torch.Generator().manual_seed(0)
    first, t1 = _pixel_sample(skin, target, gen)
    second, _ = _pixel_sample(skin, target, gen)
    assert len(first.pixels) == int(1000 * PHOTO_PIXEL_SHARE) == len(set(first.pixels.tolist()))
    assert torch.equal(t1[:, 0], first.pixels.float()) and torch.equal(first.pixel_batch, torch.zeros_like(first.pixels))
    shared = len(set(first.pixels.tolist()) & set(second.pixels.tolist())) / len(first.pixels)
    assert abs(shared - PHOTO_PIXEL_SHARE) < 0.1
    again, _ = _pixel_sample(skin, target, torch.Generator().manual_seed(0))
    assert torch.equal(again.pixels, first.pixels)
