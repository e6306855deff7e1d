"""The rig arrays of an avatar (`rig.npz` in the bundle): everything the Blender rig builder needs
to make a skinned, shape-keyed head without torch or the head model.

Arrays (metres, the head model's frame: right-handed, y up, face toward +z):
    vertices (V, 3) float32       neutral fitted identity, rest pose, no expression
    faces (F, 3) int32            counter-clockwise seen from outside
    uv (U, 2) float32, uv_faces (F, 3) int32   seam-split UVs (u right, v up)
    face_part (F,) int32, part_names (P,)      material slot of each face (skin, eye.L, ...)
    expression_names (E,), expression_deltas (E, V, 3) float32   one shape key per expression
    expression_range (2,) float32  slider range: 0..1 for ARKit weights, -3..3 for FLAME's components
    joint_names (J,), parents (J,) int32 (-1 = root), joints (J, 3) float32 rest joint positions
    skin_weights (V, J) float32   linear blend skinning weights, rows sum to 1
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

RIG_FILE = "rig.npz"


def rig_arrays(model, shape: torch.Tensor) -> dict:
    """shape (1, n_shape) fitted identity -> the arrays above. Expression deltas are taken as the
    model's response to each unit coefficient, so this works for any linear expression basis."""
    with torch.no_grad():
        shape = shape.detach().float().cpu().reshape(1, -1)
        E = model.n_expression
        rest, joints = model.rest_shape(shape, torch.zeros(1, E))
        unit, _ = model.rest_shape(shape.expand(E, -1), torch.eye(E))
        lay = model.uv_layout
        return {
            "vertices": rest[0].numpy().astype(np.float32),
            "faces": model.faces.cpu().numpy().astype(np.int32),
            "uv": lay.uv.cpu().numpy().astype(np.float32),
            "uv_faces": lay.faces.cpu().numpy().astype(np.int32),
            "face_part": model.face_part.cpu().numpy().astype(np.int32),
            "part_names": np.array(model.part_names),
            "expression_names": np.array(model.expression_names),
            "expression_deltas": (unit - rest).numpy().astype(np.float32),
            "expression_range": np.array(model.expression_range, np.float32),
            "joint_names": np.array(model.joint_names),
            "parents": np.array(model.parents, np.int32),
            "joints": joints[0].numpy().astype(np.float32),
            "skin_weights": model.skin_weights.cpu().numpy().astype(np.float32),
        }


def write_rig(path: Path, arrays: dict) -> None:
    """An .npz (np.load reads it) deflated at level 1 rather than numpy's 6: a little larger, much
    faster to write (figures: benchmarks/NOTES.md)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, value in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(value), allow_pickle=False)
