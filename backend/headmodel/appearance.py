"""Plain per-part vertex colours for previews and for the renders the landmark builder feeds to
dlib: skin, white sclera with a dark iris facing forward, teeth, tongue. Linear RGB in [0, 1]."""
from __future__ import annotations

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
