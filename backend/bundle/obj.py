"""Wavefront OBJ + MTL with per-corner UVs and one material per part (skin, eyes, teeth, tongue)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_obj(path: Path, vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, uv_faces: np.ndarray,
              face_part: np.ndarray, part_names: list[str], mtl_name: str, textures: dict[str, str]) -> None:
    """vertices (V, 3) metres (FLAME frame: y up, face +z), faces (F, 3) 0-based, uv (T, 2),
    uv_faces (F, 3). Writes `path` and `mtl_name` beside it; texture file names go in the MTL."""
    path = Path(path)
    lines = ["# Headsmith avatar mesh (metres, y up, face toward +z)", f"mtllib {mtl_name}"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += [f"vt {u:.6f} {v:.6f}" for u, v in uv]
    for p, name in enumerate(part_names):
        sel = np.nonzero(face_part == p)[0]
        if len(sel) == 0:
            continue
        lines += [f"o {name}", f"usemtl {name}"]
        for f in sel:
            a, b, c = faces[f] + 1
            ta, tb, tc = uv_faces[f] + 1
            lines.append(f"f {a}/{ta} {b}/{tb} {c}/{tc}")
    path.write_text("\n".join(lines) + "\n")
    mtl = []
    for name in part_names:
        mtl += [f"newmtl {name}", "Ka 0 0 0", "Kd 1 1 1", "Ks 0.05 0.05 0.05", "Ns 20", "illum 2"]
        if "albedo" in textures:
            mtl.append(f"map_Kd {textures['albedo']}")
        if "normal" in textures and name == "skin":
            mtl.append(f"norm {textures['normal']}")
        if "displacement" in textures and name == "skin":
            mtl.append(f"disp {textures['displacement']}")
        mtl.append("")
    (path.parent / mtl_name).write_text("\n".join(mtl))


def read_obj_vertices(path: Path) -> np.ndarray:
    return np.array([[float(x) for x in l.split()[1:4]] for l in Path(path).read_text().splitlines()
                     if l.startswith("v ")])
