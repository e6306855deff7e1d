"""The extension's bpy-free side (headsmith_blender.core.bundle): frames, driver formulas, bundle errors."""
import json

import numpy as np
import pytest

from headsmith_blender.core.bundle import BundleError, DriverSpec, driver_specs, read_avatar, to_blender


def test_frame_conversion_is_a_rotation_to_z_up():
    p = np.array([[1.0, 2.0, 3.0]])
    assert np.allclose(to_blender(p), [[1.0, -3.0, 2.0]])
    # right-handed: the determinant of the linear map is +1
    M = to_blender(np.eye(3))
    assert np.isclose(np.linalg.det(M), 1.0)
    # the model's face direction (+z) becomes Blender's front (-y), up (+y) becomes +z
    assert np.allclose(to_blender(np.array([0, 0, 1.0])), [0, -1, 0])
    assert np.allclose(to_blender(np.array([0, 1.0, 0])), [0, 0, 1])


def test_driver_expression_matches_its_formula():
    spec = DriverSpec("forehead.L", "brows_up", ["browInnerUp", "browOuterUpLeft"], [0.8, -0.25], 0.5, -0.05, 1.5)
    e = spec.expression
    assert e.startswith("clamp(") and len(e) < 256 and "-0.25*s1" in e
    vals = {"browInnerUp": 0.7, "browOuterUpLeft": 0.4}
    s0, s1, jaw = 0.7, 0.4, 0.1
    expected = eval(e, {"clamp": lambda x, lo, hi: min(max(x, lo), hi), "s0": s0, "s1": s1, "jaw": jaw})
    assert spec.evaluate(vals, jaw) == pytest.approx(expected)
    assert spec.evaluate({"browInnerUp": 5.0}, 0.0) == 1.5        # clamped like the driver
    assert spec.evaluate({}, 0.0) == 0.0


def test_driver_specs_from_sidecar(tmp_path):
    from headsmith_blender.core.bundle import Wrinkles

    coefs = {"forehead.L": {"brows_up": {"browInnerUp": 0.9, "jaw_open_rad": 0.0, "bias": 0.01}}}
    wr = Wrinkles(tmp_path, ["brows_up"], ["forehead.L"], {}, {}, coefs, {}, 1.5)
    (spec,) = driver_specs(wr)
    assert spec.shape_keys == ["browInnerUp"] and spec.jaw_coef == 0.0 and "jaw" not in spec.expression


def test_not_a_bundle_is_a_clear_error(tmp_path):
    with pytest.raises(BundleError, match="no bundle.json"):
        read_avatar(tmp_path)
    (tmp_path / "bundle.json").write_text(json.dumps({"schema_version": 1, "files": {}}))
    with pytest.raises(BundleError, match="no rig.npz"):
        read_avatar(tmp_path)
    (tmp_path / "bundle.json").write_text(json.dumps({"schema_version": 7}))
    with pytest.raises(BundleError, match="schema"):
        read_avatar(tmp_path)


def test_a_sidecar_without_its_clamp_is_refused(tmp_path):
    """The drivers' clamp comes from the sidecar's weight_max; a sidecar baked before it existed
    is refused with what to do, not read with a guessed clamp."""
    files = {"rig": "rig.npz", "albedo": "albedo.png", "normal": "normal.png", "displacement": "displacement.png"}
    (tmp_path / "bundle.json").write_text(json.dumps({"schema_version": 1, "files": files}))
    np.savez(tmp_path / "rig.npz", part_names=np.array(["skin"]))
    (tmp_path / "wrinkles").mkdir()
    side = {"weight_max": 1.5, "keys": ["brows_up"], "regions": ["forehead.L"], "normal_maps": {}, "masks": {},
            "coefficients": {"forehead.L": {"brows_up": {"browInnerUp": 0.9, "jaw_open_rad": 0.0, "bias": 0.0}}}}
    (tmp_path / "wrinkles" / "wrinkles.json").write_text(json.dumps(side))
    (spec,) = driver_specs(read_avatar(tmp_path).wrinkles)
    assert spec.evaluate({"browInnerUp": 5.0}, 0.0) == 1.5 and spec.expression.endswith(",0,1.5)")
    del side["weight_max"]
    (tmp_path / "wrinkles" / "wrinkles.json").write_text(json.dumps(side))
    with pytest.raises(BundleError, match="headsmith wrinkles"):
        read_avatar(tmp_path)
