"""Pure data side of the extension (no bpy): read an avatar bundle, convert frames, and turn the
wrinkle sidecar into driver expressions. Imported by the Blender-touching modules and by tests.

Frames: the bundle is in the head model's frame (metres, right-handed, y up, face toward +z);
Blender is z up with the front view looking along +y, so a face looks toward -y:
    blender (x, y, z) = model (x, -z, y)
`to_blender` is the one place this conversion happens.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MATERIAL_SLOTS = {        # material slot name -> head model part names it holds
    "Skin": ("skin",),
    "Eyes": ("eye.L", "eye.R"),
    "Teeth": ("teeth.upper", "teeth.lower"),
    "Tongue": ("tongue",),
}


class BundleError(ValueError):
    """The folder is not a usable avatar bundle; the message says what to do."""


def to_blender(p: np.ndarray) -> np.ndarray:
    """(..., 3) model frame -> Blender frame (see module docstring)."""
    p = np.asarray(p, np.float32)
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], -1)


@dataclass
class Wrinkles:
    """The baked wrinkle maps of a bundle (BUNDLE/wrinkles/)."""

    folder: Path
    keys: list[str]
    regions: list[str]
    normal_maps: dict            # key -> file name
    masks: dict                  # region -> file name
    coefficients: dict           # region -> key -> {shape key: coef, "jaw_open_rad": c, "bias": b}
    sidecar: dict
    weight_max: float            # the bake's clamp of every region weight (the sidecar's weight_max)


@dataclass
class AvatarData:
    folder: Path
    name: str
    meta: dict
    rig: dict                    # bundle/rig.py arrays, model frame
    albedo: Path
    normal: Path
    displacement: Path
    displacement_scale: float
    wrinkles: Wrinkles | None = None
    detail_code: list = field(default_factory=list)
    roughness: Path | None = None   # occlusion-roughness-metallic map (bundles before it have none)

    def slot_of_faces(self) -> tuple[list[str], np.ndarray]:
        """(slot names, (F,) slot index per face) from the rig's face parts."""
        parts = [str(p) for p in self.rig["part_names"]]
        names = list(MATERIAL_SLOTS)
        lut = np.zeros(len(parts), np.int32)
        for i, p in enumerate(parts):
            lut[i] = next((k for k, n in enumerate(names) if p in MATERIAL_SLOTS[n]), 0)
        return names, lut[self.rig["face_part"]]


def read_avatar(folder: Path | str) -> AvatarData:
    folder = Path(folder)
    meta_path = folder / "bundle.json"
    if not meta_path.is_file():
        raise BundleError(f"{folder} is not a Headsmith avatar bundle (no bundle.json)")
    meta = json.loads(meta_path.read_text())
    if meta.get("schema_version") != 1:
        raise BundleError(f"{folder}: bundle schema {meta.get('schema_version')} is not 1; re-run the reconstruction")
    files = meta.get("files", {})
    if "rig" not in files or not (folder / files["rig"]).is_file():
        raise BundleError(f"{folder} has no rig.npz; re-run the reconstruction with this version of Headsmith")
    with np.load(folder / files["rig"], allow_pickle=False) as z:
        rig = {k: z[k] for k in z.files}
    wr = None
    side_path = folder / "wrinkles" / "wrinkles.json"
    if side_path.is_file():
        side = json.loads(side_path.read_text())
        if "weight_max" not in side:
            raise BundleError(f"{side_path} comes from an older Headsmith (no weight_max); bake it again with "
                              "headsmith wrinkles")
        wr = Wrinkles(side_path.parent, side["keys"], side["regions"], side["normal_maps"], side["masks"],
                      side["coefficients"], side, float(side["weight_max"]))
    disp = meta.get("textures", {}).get("displacement", {})
    return AvatarData(folder, folder.name, meta, rig, folder / files["albedo"], folder / files["normal"],
                      folder / files["displacement"], float(disp.get("scale_m", 0.01)), wr,
                      meta.get("detail", {}).get("code", []),
                      folder / files["roughness"] if "roughness" in files else None)


@dataclass
class DriverSpec:
    """One wrinkle-weight driver: clamp(sum coef_i * var_i + bias, 0, weight_max) as a simple
    expression (Blender evaluates it without Python, so it works in `blender -b` renders)."""

    region: str
    key: str
    shape_keys: list[str]        # variable s<i> reads shape key i's value
    shape_coefs: list[float]
    jaw_coef: float              # variable jaw reads the jaw bone's local X rotation (radians)
    bias: float
    weight_max: float            # the bake's clamp (Wrinkles.weight_max)

    @property
    def expression(self) -> str:
        terms = [f"{c:.6g}*s{i}" for i, c in enumerate(self.shape_coefs)]
        if self.jaw_coef:
            terms.append(f"{self.jaw_coef:.6g}*jaw")
        terms.append(f"{self.bias:.6g}")
        body = "+".join(terms).replace("+-", "-")
        return f"clamp({body},0,{self.weight_max:g})"

    def evaluate(self, shape_values: dict, jaw: float) -> float:
        """The same formula in Python (tests, and the glTF sidecar's consumers)."""
        x = sum(c * shape_values.get(n, 0.0) for n, c in zip(self.shape_keys, self.shape_coefs))
        return float(min(max(x + self.jaw_coef * jaw + self.bias, 0.0), self.weight_max))


def driver_specs(wrinkles: Wrinkles) -> list[DriverSpec]:
    out = []
    for region, per_key in wrinkles.coefficients.items():
        for key, coefs in per_key.items():
            names = [n for n in coefs if n not in ("jaw_open_rad", "bias")]
            spec = DriverSpec(region, key, names, [float(coefs[n]) for n in names],
                              float(coefs.get("jaw_open_rad", 0.0)), float(coefs.get("bias", 0.0)),
                              wrinkles.weight_max)
            if len(spec.expression) > 250:
                raise BundleError(f"wrinkle driver {region}/{key} is too long for a Blender driver")
            out.append(spec)
    return out
