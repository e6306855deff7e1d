"""bundle.schema.json is the one definition of bundle.json: real bundles meet it, damaged ones
are refused with the field named, by headsmith.bundle.schema and by the jsonschema package alike."""
import copy
import json

import jsonschema
import pytest

from headsmith.bundle import BundleError, check_bundle_meta, check_wrinkles_sidecar, read_bundle, read_detail_residual
from headsmith.bundle import schema as schema_mod

DAMAGE = {   # what is done to a good bundle.json -> the field the error must name
    "bundle.json is a list": (lambda m: [m], "whole file"),
    "detail is a string": (lambda m: {**m, "detail": "abc"}, "detail"),
    "a camera of 2 numbers": (lambda m: _at(m, ["parameters", "photos", 0, "camera"], [1.0, 2.0]), "camera"),
    "no photos": (lambda m: _at(m, ["parameters", "photos"], []), "photos"),
    "residual outside the bundle": (lambda m: _at(m, ["detail", "residual"], "../../../../etc/passwd"), "residual"),
    "a file given as a path": (lambda m: _at(m, ["files", "albedo"], "/etc/passwd"), "files.albedo"),
    "an unknown model": (lambda m: _at(m, ["model", "name"], "smplx"), "model.name"),
    "a light of strings": (lambda m: _at(m, ["parameters", "photos", 0, "light", 0], ["a", "b", "c"]), "light[0][0]"),
    "no textures": (lambda m: {k: v for k, v in m.items() if k != "textures"}, "textures"),
    "an extra FLAME file key": (lambda m: _at(m, ["model", "files", "evil"], "x.pkl"), "model.files.evil"),
}


def _at(meta, path, value):
    out = copy.deepcopy(meta)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(schema_mod.SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_real_bundles_meet_the_schema(validator, avatar_bundle, flame_bundle):
    for folder in (avatar_bundle, flame_bundle):
        meta = read_bundle(folder)                       # the project's own check
        assert list(validator.iter_errors(meta)) == []   # the standard's
    assert read_bundle(flame_bundle)["model"]["files"]["flame_path"].endswith("generic_model.pkl")


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_bundles_are_refused_naming_the_field(validator, avatar_bundle, case):
    damage, field = DAMAGE[case]
    meta = damage(json.loads((avatar_bundle / "bundle.json").read_text()))
    assert list(validator.iter_errors(meta)), case
    with pytest.raises(BundleError, match="does not match its schema") as e:
        check_bundle_meta(meta)
    assert field in str(e.value), str(e.value)


def test_read_bundle_refuses_what_it_cannot_use(avatar_bundle, tmp_path):
    import shutil

    b = tmp_path / "b"
    shutil.copytree(avatar_bundle, b)
    meta = json.loads((b / "bundle.json").read_text())
    (b / "bundle.json").write_text(json.dumps(_at(meta, ["detail", "residual"], "../../../../etc/passwd")))
    with pytest.raises(BundleError, match="detail.residual"):
        read_detail_residual(b, read_bundle(b))
    (b / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="no readable bundle.json"):
        read_bundle(b)
    with pytest.raises(BundleError, match="no readable bundle.json"):
        read_bundle(tmp_path / "missing")


def test_the_checker_refuses_keywords_it_does_not_check(tmp_path, monkeypatch):
    """The schema file cannot promise more than headsmith.bundle.schema checks."""
    schema = json.loads(schema_mod.SCHEMA_FILE.read_text())
    schema["properties"]["model"]["minProperties"] = 3
    f = tmp_path / "bundle.schema.json"
    f.write_text(json.dumps(schema))
    monkeypatch.setattr(schema_mod, "SCHEMA_FILE", f)
    schema_mod.bundle_schema.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="minProperties"):
            schema_mod.bundle_schema()
    finally:
        monkeypatch.undo()
        schema_mod.bundle_schema.cache_clear()


def test_the_add_ons_reader_needs_only_what_the_schema_requires():
    """The add-on (stdlib + bpy, no backend) reads bundle.json itself: every field it reads
    unconditionally must be one the schema requires."""
    s = schema_mod.bundle_schema()
    assert {"schema_version", "files", "textures"} <= set(s["required"])
    assert {"albedo", "normal", "displacement"} <= set(s["properties"]["files"]["required"])
    assert "scale_m" in s["properties"]["textures"]["properties"]["displacement"]["required"]


def _standard(schema_file):
    schema = json.loads(schema_file.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_wrinkle_sidecar_meets_its_schema(avatar_bundle, flame_bundle):
    std = _standard(schema_mod.WRINKLES_SCHEMA_FILE)
    for folder in (flame_bundle, avatar_bundle):
        side = json.loads((folder / "wrinkles" / "wrinkles.json").read_text())
        assert list(std.iter_errors(side)) == []
        check_wrinkles_sidecar(side)
    # damaged copies of the OpenHead sidecar
    for damage, field in ((lambda s: {k: v for k, v in s.items() if k != "weight_max"}, "weight_max"),
                          (lambda s: _at(s, ["masks", "forehead.L"], "../x.png"), "masks.forehead.L"),
                          (lambda s: _at(s, ["coefficients", "forehead.L", "brows_up", "bias"], "0"), "bias")):
        bad = damage(side)
        assert list(std.iter_errors(bad))
        with pytest.raises(BundleError, match="does not match its schema") as e:
            check_wrinkles_sidecar(bad)
        assert field in str(e.value), str(e.value)


def test_the_add_ons_sidecar_reader_needs_only_what_the_schema_requires():
    required = set(schema_mod.wrinkles_schema()["required"])
    assert {"keys", "regions", "normal_maps", "masks", "coefficients", "weight_max"} <= required
