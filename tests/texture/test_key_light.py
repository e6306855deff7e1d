"""A hard key light read from the face's symmetry: on the neutral head with a symmetric blotchy
skin, lit by an ambient plus a key from the side with its own shadows, the key's direction and
strength come back and explain the photo better than the best SH light; under an SH light the
SH stays."""
import math

import pytest
import torch

from headsmith.render import default_light, sh_shading
from headsmith.render.shadow import light_visibility
from headsmith.texture.delight import refit_light
from headsmith.texture.key_light import fit_key_light, key_shading
from headsmith.texture.occlusion import skin_zones
from headsmith.uvspace import surface_maps, uv_support

S = 512
KEY = torch.tensor([-math.sin(math.radians(55)) * math.cos(math.radians(20)), math.sin(math.radians(20)),
                    math.cos(math.radians(55)) * math.cos(math.radians(20))])
RATIO = 7.0


@pytest.fixture(scope="module")
def face(openhead):
    sup = uv_support(openhead, S)
    v = openhead.v_template.float()
    P, N = (m[0] for m in surface_maps(sup.raster, v[None], openhead.faces))
    x, y = P[..., 0], P[..., 1]
    albedo = torch.tensor([0.55, 0.38, 0.3]) * (1 + 0.15 * torch.sin(60 * x.abs()) * torch.cos(45 * y))[..., None]
    plain = skin_zones(openhead, S).plain & (sup.part == 0) & (N[..., 2] > 0.2)   # what a frontal photo sees
    return dict(sup=sup, v=v, faces=openhead.faces, P=P, N=N, albedo=albedo, weight=plain.float())


def _key_lit(face):
    valid = face["weight"] > 0
    n, p = face["N"][valid], face["P"][valid]
    lit = (n @ KEY).clamp(min=0) * light_visibility(face["v"], face["faces"], p, n, KEY, size=1024)
    shading = torch.ones(S, S, 3)
    shading[valid] = 0.2 * (1 + RATIO * lit)[:, None].expand(-1, 3)
    return face["albedo"] * shading


def test_the_key_and_its_strength_come_back(face):
    colour = _key_lit(face)
    sh = refit_light(face["albedo"], colour, face["N"], face["weight"], default_light()[0])   # the best SH
    key = fit_key_light(colour, face["weight"], face["N"], face["P"], sh, face["sup"], face["v"], face["faces"])
    angle = math.degrees(math.acos(float(key.direction @ KEY)))
    assert angle < 8.0, key.direction
    assert abs(math.log(key.ratio / RATIO)) < math.log(1.5), key.ratio
    assert key.wins, (key.misfit, key.sh_misfit)
    # and the albedo it gives is the skin's, its shadows out
    valid = face["weight"] > 0

    def albedo_error(shading):
        r = torch.log((colour[valid] / shading[valid].clamp(min=1e-3)).clamp(min=1e-3) / face["albedo"][valid])
        return float((r - r.median(0).values).abs().mean())
    by_key = albedo_error(key_shading(key, face["N"], face["P"], valid, face["v"], face["faces"], sh)[0])
    by_sh = albedo_error(sh_shading(face["N"][None], sh[None])[0])
    assert by_key < 0.5 * by_sh, (by_key, by_sh)


def test_under_an_sh_light_the_sh_stays(face):
    colour = face["albedo"] * sh_shading(face["N"][None], default_light())[0]
    key = fit_key_light(colour, face["weight"], face["N"], face["P"], default_light()[0], face["sup"], face["v"],
                        face["faces"])
    assert key is None or not key.wins, (key.misfit, key.sh_misfit, key.ratio)


def test_too_little_seen_gives_no_key(face):
    weight = face["weight"] * (face["P"][..., 0] > 0.02)    # one side only: no pairs
    assert fit_key_light(_key_lit(face), weight, face["N"], face["P"], default_light()[0], face["sup"],
                         face["v"], face["faces"]) is None


def test_the_key_goes_into_the_bundle_where_it_comes_from(face):
    """The bundle records the key (parameters.photos[i].key_light, schema-checked) and says so
    in its provenance notes, with where it comes from in degrees."""
    from types import SimpleNamespace

    from headsmith.bundle.schema import _errors, bundle_schema
    from headsmith.pipeline.stages import _key_light_meta, _key_light_notes
    from headsmith.texture.key_light import KeyLight

    key = KeyLight(KEY, RATIO, 0.05, 0.1)
    az, el = key.azimuth_elevation_deg
    assert abs(az + 55) < 1e-3 and abs(el - 20) < 1e-3
    meta = _key_light_meta(key)
    schema = bundle_schema()
    entry = schema["$defs"]["photo"]["properties"]["key_light"]
    assert list(_errors(meta, entry, "key_light", schema)) == []
    assert list(_errors({"direction": "left"}, entry, "key_light", schema))      # not a key light
    notes = _key_light_notes(SimpleNamespace(texture=SimpleNamespace(key_lights=[None, key])))
    assert len(notes) == 1 and notes[0].startswith("photo 2:") and "55 degrees to the image's left" in notes[0]
