"""The wrinkle properties of issue 4, as checks shared by the generator's tests and the trained
decoder's tests: each takes `maps(expression dict) -> (1, S, S)` metres on OpenHead's UV layout."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as Fn

from headsmith.render import interpolate, surface_gradient

BROWS_UP = {"browInnerUp": 1.0, "browOuterUpLeft": 1.0, "browOuterUpRight": 1.0}
SQUINT = {"eyeSquintLeft": 1.0, "eyeSquintRight": 1.0}
SYMMETRIC_MIX = {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "browInnerUp": 0.6,
                 "browOuterUpLeft": 0.6, "browOuterUpRight": 0.6}


@dataclass
class UVFace:
    """OpenHead's neutral surface in UV at size S: positions, normals, region masks, mirror."""

    model: object
    size: int
    raster: object
    P: torch.Tensor
    N: torch.Tensor
    support: object

    @staticmethod
    def of(model, size: int) -> "UVFace":
        from headsmith.uvspace import surface_maps, uv_support

        sup = uv_support(model, size)
        v = model.v_template[None]
        P, N = surface_maps(sup.raster, v, model.faces)
        return UVFace(model, size, sup.raster, P, N, sup)

    def region(self, name: str) -> torch.Tensor:
        m = self.model
        r = m.vertex_regions[m.region_names.index(name)][None, :, None]
        return interpolate(self.raster.fragments, m.faces, r)[0, ..., 0] > 0.5


def check_brows_up(face: UVFace, maps: Callable, energy_ratio: float = 5.0, orientation_ratio: float = 2.0) -> None:
    fore = face.region("forehead")
    neutral, up = maps({}), maps(BROWS_UP)
    energy = lambda d: float((d[0][fore] ** 2).sum())  # noqa: E731
    assert energy(up) >= energy_ratio * energy(neutral), (energy(up), energy(neutral))
    g = surface_gradient(face.P, face.N, up - neutral, face.raster.mask)[0][fore]
    # furrows running left-right vary up-down: the gradient is mostly along y
    gy, gx = float((g[:, 1] ** 2).sum()), float((g[:, 0] ** 2).sum())
    assert gy > orientation_ratio * gx, (gy, gx)


def check_squint(face: UVFace, maps: Callable, min_depth: float = 1e-4) -> None:
    L = face.model().landmarks3d[0].detach()
    corners = torch.stack([L[36], L[45]])
    S = face.size
    d = torch.cdist(face.P[0].reshape(-1, 3), corners).min(1).values.reshape(S, S)
    mask = face.raster.mask
    near = (d < 0.02) & mask & (face.P[0, ..., 0].abs() > L[45, 0] - 0.002)
    sq = maps(SQUINT) - maps({})
    far = mask & (d > 0.04)
    assert sq[0][near].abs().mean() > 4 * sq[0][far].abs().mean()
    assert sq[0][near].min() < -min_depth


def check_symmetric(face: UVFace, maps: Callable, tolerance: float = 0.1) -> None:
    grid = face.support.mirror_grid
    static = maps({})
    d = maps(SYMMETRIC_MIX)
    mirror = lambda x: Fn.grid_sample(x[:, None], grid, mode="bilinear", align_corners=False)[0, 0]  # noqa: E731
    sel = face.support.has_mirror & face.region("face")
    dyn, dyn_m = (d - static)[0][sel], (mirror(d) - mirror(static))[sel]
    assert (dyn - dyn_m).abs().mean() < tolerance * dyn.abs().mean()
