"""Write and read the avatar bundle atomically.

Layout (schema version 1), all paths relative to the bundle folder:

    bundle.json        (its one definition: bundle.schema.json, checked by schema.py on every
                       write and read) schema_version, model {name, n_shape, n_expression, expression_names,
                       files: for FLAME the absolute paths of the user's FLAME/DECA files},
                       parameters {shape [n_shape], per photo: expression, pose (axis-angle
                       radians: global, neck, jaw, eye_left, eye_right), camera (s, tx, ty),
                       light (9 x 3 SH, linear)}, albedo_mean, files, textures
                       {albedo: sRGB, normal: tangent space OpenGL (+Y = +v),
                       displacement: 16-bit, metres = (value / 65535 - 0.5) * 2 * scale},
                       landmarks {detected, fitted: per photo, 68 x 2 photo pixels},
                       irises_detected / irises_fitted per photo: [image-left eye, image-right
                       eye] centres in photo pixels (detected: null for an eye not seen; the
                       eye poses are fitted to the seen ones), key_light per photo (the hard
                       key light it was de-lit under, or null),
                       provenance {headsmith version, settings, timings seconds, inputs}
    mesh.obj, mesh.mtl neutral head (fitted identity, no expression, rest pose) with UVs
    albedo.png         sRGB, 8-bit, UV layout (row 0 at v = 1)
    displacement.png   16-bit grey, see above: the static (neutral-expression) detail
    detail_residual.png  16-bit, same encoding: the part of the static detail the decoder's person
                       code does not explain (present when the OpenHead detail decoder was used;
                       then bundle.json has detail {decoder, code, residual}: re-decode
                       F_d(code, expression, jaw) + residual for any expression). FLAME heads made
                       with DECA's checkpoint have detail {decoder: "deca", decoder_path, code}
                       and no residual.
    normal.png         8-bit RGB tangent-space normal map
    coverage.png       8-bit grey, UV layout: the photos' share of each albedo texel (255: all
                       photo; 0: completed from the person's seen skin, or a prior for eyes and mouth)
    roughness.png      8-bit RGB, UV layout, 256: glTF's packed occlusion-roughness-metallic map
                       (R 255, G the skin's roughness by face region, B 0)
    rig.npz            skinning, joints and one shape key per expression (see bundle/rig.py)
    report.png         the picture to look at first
    wrinkles/          (when the head has a detail decoder) the baked wrinkle maps: wrinkles.json
                       (the shape-key -> map-weight formula, coefficients, keys, regions, files
                       and the measured blend error), wrinkle_<key>_normal.png (8-bit RGB tangent
                       space, 1024) and mask_<region>.png (8-bit grey, 1024)
    wrinkles.png       the wrinkle maps decoded live and blended from the bakes, side by side

A bundle is written into a temporary sibling folder and swapped in by renames, so an existing
bundle at the same path survives any failure before the swap.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_folder, encode_png, write_png_atomic
from .schema import BundleError, check_bundle_meta, check_wrinkles_sidecar

BUNDLE_SCHEMA_VERSION = 1
WRINKLES_FOLDER = "wrinkles"
WRINKLES_PICTURE = "wrinkles.png"
WRINKLES_SIDECAR = "wrinkles.json"
COVERAGE_FILE = "coverage.png"
ROUGHNESS_FILE = "roughness.png"


@dataclass
class WrinkleFiles:
    """The baked wrinkle maps as they are written into BUNDLE/wrinkles/."""

    normal_maps: dict[str, np.ndarray]   # key -> (T, T, 3) uint8 RGB tangent-space normal map
    masks: dict[str, np.ndarray]         # region -> (T, T) uint8
    sidecar: dict                        # wrinkles.json (formula, coefficients, files, blend error)
    picture: np.ndarray                  # wrinkles.png, (H, W) uint8 grey
    packed: dict[str, np.ndarray] = field(default_factory=dict)   # file -> (T, T, 4) uint8 (sidecar 'packed')


@dataclass
class AvatarBundle:
    meta: dict                                  # the content of bundle.json (without 'files')
    mesh: dict                                  # vertices, faces, uv, uv_faces, face_part, part_names
    albedo: np.ndarray                          # (T, T, 3) uint8 sRGB
    displacement: np.ndarray                    # (S, S) float metres
    normal_map: np.ndarray                      # (T, T, 3) float in [-1, 1]
    report: np.ndarray | None = None            # (H, W, 3) uint8 RGB
    displacement_scale: float = 0.01
    extra_displacements: dict = field(default_factory=dict)   # name -> (S, S) metres, same encoding
    rig: dict | None = None                     # bundle/rig.py arrays
    wrinkles: WrinkleFiles | None = None        # baked in the same run, or None
    coverage: np.ndarray | None = None          # (T, T) float in [0, 1]: the photos' share of each texel
    roughness: np.ndarray | None = None         # (R, R, 3) uint8 occlusion-roughness-metallic


def _png(path: Path, img: np.ndarray) -> None:
    Path(path).write_bytes(encode_png(img))


def _write_pngs(files: list[tuple[Path, np.ndarray]]) -> None:
    """Encode and write the PNGs on two threads (OpenCV's encoder releases the GIL), the
    largest first."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(_png, p, img) for p, img in sorted(files, key=lambda f: -f[1].nbytes)]:
            done.result()


def encode_displacement(metres: np.ndarray, scale_m: float) -> np.ndarray:
    """(S, S) metres -> uint16, see the layout above."""
    return np.clip((metres / (2 * scale_m) + 0.5) * 65535 + 0.5, 0, 65535).astype(np.uint16)


def _write_wrinkle_folder(folder: Path, w: WrinkleFiles, pngs: list | None = None) -> None:
    """The wrinkle folder's files; its PNGs appended to `pngs` to write later, or written now."""
    check_wrinkles_sidecar(w.sidecar)
    folder.mkdir()
    later = [] if pngs is None else pngs
    later += [(folder / f"wrinkle_{name}_normal.png", rgb) for name, rgb in w.normal_maps.items()]
    later += [(folder / f"mask_{name}.png", m) for name, m in w.masks.items()]
    later += [(folder / name, rgba) for name, rgba in w.packed.items()]
    if pngs is None:
        _write_pngs(later)
    (folder / WRINKLES_SIDECAR).write_text(json.dumps(w.sidecar, indent=1))


def write_wrinkles(bundle: Path, w: WrinkleFiles) -> None:
    """(Re)place BUNDLE/wrinkles/ and BUNDLE/wrinkles.png of an existing bundle, each swapped in
    whole: a failed bake leaves the old ones."""
    bundle = Path(bundle)
    with atomic_folder(bundle / WRINKLES_FOLDER) as tmp:
        tmp.rmdir()   # the writer makes the folder itself, as inside write_bundle
        _write_wrinkle_folder(tmp, w)
    write_png_atomic(bundle / WRINKLES_PICTURE, w.picture)


def write_bundle(out: Path, b: AvatarBundle) -> Path:
    """The whole bundle into a temporary sibling folder, swapped in for `out` at the end."""
    from .obj import write_obj

    out = Path(out).resolve()
    with atomic_folder(out) as tmp:
        files = {"mesh": "mesh.obj", "material": "mesh.mtl", "albedo": "albedo.png",
                 "displacement": "displacement.png", "normal": "normal.png"}
        write_obj(tmp / "mesh.obj", b.mesh["vertices"], b.mesh["faces"], b.mesh["uv"], b.mesh["uv_faces"],
                  b.mesh["face_part"], b.mesh["part_names"], "mesh.mtl",
                  {"albedo": "albedo.png", "normal": "normal.png", "displacement": "displacement.png"})
        pngs = [(tmp / "albedo.png", b.albedo)]
        s = b.displacement_scale
        pngs.append((tmp / "displacement.png", encode_displacement(b.displacement, s)))
        pngs.append((tmp / "normal.png", np.clip((b.normal_map + 1) * 0.5 * 255 + 0.5, 0, 255).astype(np.uint8)))
        for name, m in b.extra_displacements.items():
            pngs.append((tmp / f"{name}.png", encode_displacement(m, s)))
            files[name] = f"{name}.png"
        if b.rig is not None:
            from .rig import RIG_FILE, write_rig
            write_rig(tmp / RIG_FILE, b.rig)
            files["rig"] = RIG_FILE
        if b.coverage is not None:
            pngs.append((tmp / COVERAGE_FILE, np.clip(b.coverage * 255 + 0.5, 0, 255).astype(np.uint8)))
            files["coverage"] = COVERAGE_FILE
        if b.roughness is not None:
            pngs.append((tmp / ROUGHNESS_FILE, b.roughness))
            files["roughness"] = ROUGHNESS_FILE
        if b.report is not None:
            pngs.append((tmp / "report.png", b.report))
            files["report"] = "report.png"
        if b.wrinkles is not None:
            _write_wrinkle_folder(tmp / WRINKLES_FOLDER, b.wrinkles, pngs)
            pngs.append((tmp / WRINKLES_PICTURE, b.wrinkles.picture))
        _write_pngs(pngs)
        meta = dict(b.meta)
        meta["schema_version"] = BUNDLE_SCHEMA_VERSION
        meta["files"] = files
        meta.setdefault("textures", {})["displacement"] = {
            "file": "displacement.png", "encoding": "uint16", "scale_m": s,
            "decode": "metres = (value / 65535 - 0.5) * 2 * scale_m"}
        if b.roughness is not None:
            meta["textures"]["roughness"] = {"file": ROUGHNESS_FILE, "size": int(b.roughness.shape[0]),
                                             "channels": "glTF occlusion-roughness-metallic: R 1, G roughness, B 0"}
        check_bundle_meta(meta)   # a writer bug fails here, before any bundle is swapped in
        (tmp / "bundle.json").write_text(json.dumps(meta, indent=1))
    return out


def read_bundle(path: Path) -> dict:
    """bundle.json as a dict, checked against bundle.schema.json (BundleError, a ValueError,
    names the field that is wrong; a file it names is a name inside the bundle, never a path)."""
    try:
        meta = json.loads((Path(path) / "bundle.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(f"{path}: no readable bundle.json ({e}); run headsmith reconstruct") from e
    if isinstance(meta, dict) and meta.get("schema_version") != BUNDLE_SCHEMA_VERSION:
        raise BundleError(f"{path}: bundle schema {meta.get('schema_version')} is not "
                          f"{BUNDLE_SCHEMA_VERSION}; re-run headsmith reconstruct")
    check_bundle_meta(meta, f"{path}/bundle.json")
    return meta


def decode_displacement(png16: np.ndarray, scale_m: float) -> np.ndarray:
    return (png16.astype(np.float64) / 65535 - 0.5) * 2 * scale_m


def read_detail_residual(folder: Path, meta: dict) -> np.ndarray | None:
    """The static residual the decoder does not explain, (S, S) float32 metres, or None when the
    bundle has none (FLAME heads with DECA's decoder)."""
    name = meta.get("detail", {}).get("residual")
    if not name:
        return None
    png = cv2.imread(str(Path(folder) / name), cv2.IMREAD_UNCHANGED)
    if png is None:
        raise BundleError(f"{folder}: {name} is missing or unreadable; re-run headsmith reconstruct")
    return decode_displacement(png, meta["textures"]["displacement"]["scale_m"]).astype(np.float32)
