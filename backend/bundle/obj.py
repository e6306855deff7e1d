"""Wavefront OBJ + MTL with per-corner UVs and one material per part (skin, eyes, teeth, tongue)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def write_obj(path: Path, vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray, uv_faces: np.ndarray,
              face_part: np.ndarray, part_names: list[str], mtl_name: str, textures: dict[str, str]) -> None:
    """vertices (V, 3) metres (FLAME frame: y up, face +z), faces (F, 3) 0-based, uv (T, 2),
    uv_faces (F, 3). Writes `path` and `mtl_name` beside it; texture file names go in the MTL."""
    path = Path(path)
    chunks = ["# Headsmith avatar mesh (metres, y up, face toward +z)\n", f"mtllib {mtl_name}\n",
              _rows("v %.6f %.6f %.6f\n", vertices), _rows("vt %.6f %.6f\n", uv)]
    corners = np.stack([faces + 1, uv_faces + 1], -1).reshape(len(faces), 6)   # a/ta b/tb c/tc
    for p, name in enumerate(part_names):
        sel = np.nonzero(face_part == p)[0]
        if len(sel) == 0:
            continue
        chunks += [f"o {name}\nusemtl {name}\n", _rows("f %d/%d %d/%d %d/%d\n", corners[sel])]
    path.write_text("".join(chunks))
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


def _rows(fmt: str, table: np.ndarray) -> str:
    """One formatted line per row of a (N, K) table, formatted in one call (a mesh has ~10^4)."""
    return (fmt * len(table)) % tuple(np.asarray(table).ravel().tolist())


def read_obj_vertices(path: Path) -> np.ndarray:
    return np.array([[float(x) for x in l.split()[1:4]] for l in Path(path).read_text().splitlines()
                     if l.startswith("v ")])
