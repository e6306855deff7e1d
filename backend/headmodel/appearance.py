"""Plain per-part vertex colours for previews and for the renders the landmark builder feeds to
dlib: skin, white sclera with a dark iris facing forward, teeth, tongue. Linear RGB in [0, 1].
`paint_irises` paints the eyes into a UV texture instead, with a sharp limbus (vertex colours
blur it over a whole low-poly triangle): the synthetic gaze renders use it."""
from __future__ import annotations

import math

import numpy as np
import torch

SKIN = (0.80, 0.58, 0.47)
SCLERA = (0.92, 0.92, 0.90)
IRIS = (0.22, 0.13, 0.08)
TEETH = (0.93, 0.90, 0.80)
TONGUE = (0.75, 0.35, 0.35)


def part_colors(model, rest_vertices: torch.Tensor | None = None, skin=SKIN) -> torch.Tensor:
    """(1, V, 3) colours. The iris is where the rest eyeball faces +z (within ~35 degrees)."""
    v = model.v_template if rest_vertices is None else rest_vertices[0]
    col = torch.tensor(skin, dtype=v.dtype, device=v.device).expand(v.shape[0], 3).clone()
    names = model.part_names
    for eye in ("eye.L", "eye.R"):
        sel = model.vertex_part == names.index(eye)
        p = v[sel]
        d = torch.nn.functional.normalize(p - p.mean(0), dim=-1)
        c = torch.where((d[:, 2] > 0.82)[:, None], torch.tensor(IRIS, dtype=v.dtype, device=v.device),
                        torch.tensor(SCLERA, dtype=v.dtype, device=v.device))
        col[sel] = c
    for name, rgb in (("teeth.upper", TEETH), ("teeth.lower", TEETH), ("tongue", TONGUE)):
        col[model.vertex_part == names.index(name)] = torch.tensor(rgb, dtype=v.dtype, device=v.device)
    return col[None]


IRIS_HALF_ANGLE_DEG = 29.0   # a 5.85 mm iris radius on a 12 mm eyeball


def paint_irises(model, texture: np.ndarray, iris=IRIS, sclera=SCLERA) -> np.ndarray:
    """texture: (S, S, 3) linear RGB in the model's UV layout (row 0 at v = 1). Returns a copy
    whose eyeball texels are sclera, with an iris disk around each eyeball's forward (+z) axis in
    the rest template: the point `HeadModel.iris_embedding` tracks is the disk's centre."""
    from ..render.uv import rasterize_uv, world_to_uv

    S = texture.shape[0]
    lay = model.uv_layout
    raster = rasterize_uv(lay.uv.float(), lay.faces, model.faces, S)
    pos = world_to_uv(raster, model.v_template[None].float())[0].numpy()          # (S, S, 3) metres
    face = raster.fragments.face_index[0].numpy()                                  # (S, S), -1 empty
    covered = face >= 0
    fpart = model.face_part.cpu().numpy()
    out = texture.copy()
    cos_iris = math.cos(math.radians(IRIS_HALF_ANGLE_DEG))
    for eye, c in zip(("eye.R", "eye.L"), model.eyeball_centres()):
        sel = covered & (fpart[np.clip(face, 0, None)] == model.part_names.index(eye))
        d = pos[sel] - c
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        out[sel] = np.where((d[:, 2] > cos_iris)[:, None], np.asarray(iris), np.asarray(sclera))
    return out
