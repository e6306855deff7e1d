"""How well each wrinkle group reads, measured on a decoder's dynamic part (D(pose) - D(rest)):
its RMS in its own anatomical region against the RMS in every other region, and the direction
its lines run where the direction is anatomical (forehead lines horizontal, glabellar lines
vertical, crow's feet radial about the outer eye corner).

Regions are `anatomy.region_uv_masks` texels with mask >= 0.5. Orientation is the share of the
dynamic part's surface-gradient energy across the expected line direction: 1 when every line
runs the expected way, 0.5 for no preferred direction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .anatomy import GROUPS, REGIONS, FaceLandmarks, region_uv_masks
from .decoder import WrinkleDecoder

CROWS_RADIUS = 0.025   # metres about the outer canthus where crow's feet are measured


@dataclass(frozen=True)
class GroupReading:
    group: str
    rms_um: dict[str, float]     # region -> RMS of the dynamic part there (micrometres)
    own_um: float                # in the group's own region
    other_um: float              # the largest RMS in any other region
    orientation: float | None    # share of gradient energy across the expected lines, or None

    @property
    def ratio(self) -> float:
        return self.own_um / max(self.other_um, 1e-9)


class GroupMeter:
    """The model's regions and surface in UV at the decoder's size, computed once."""

    def __init__(self, model, size: int):
        from ..uvspace import surface_maps, uv_support

        self.model, self.size = model, size
        _, masks = region_uv_masks(model, size)
        self.regions = {r: (masks[i] >= 0.5).numpy() for i, r in enumerate(REGIONS)}
        raster = uv_support(model, size).raster
        self.P, self.N = surface_maps(raster, model.v_template[None].cpu(), model.faces.cpu())
        self.mask = raster.mask
        self.face = FaceLandmarks.of(model)

    def read(self, decoder: WrinkleDecoder, code: np.ndarray, group: str) -> GroupReading:
        e = self.model.expression_vector(GROUPS[group].pose).numpy().astype(np.float32)
        z = np.zeros((1, 3), np.float32)
        c = np.asarray(code, np.float32).reshape(1, -1)
        dyn = decoder.decode(c, e, z)[0] - decoder.decode(c, np.zeros_like(e), z)[0]
        rms = {r: float(np.sqrt(np.mean(dyn[m] ** 2)) * 1e6) for r, m in self.regions.items()}
        own = GROUPS[group].region
        return GroupReading(group, rms, rms[own], max(v for r, v in rms.items() if r != own),
                            self.orientation(group, dyn))

    def orientation(self, group: str, dyn: np.ndarray) -> float | None:
        from ..render.uv import surface_gradient

        g = surface_gradient(self.P, self.N, torch.from_numpy(dyn)[None].float(), self.mask)[0]   # (S, S, 3)
        if group == "brows_up":      # horizontal lines: height varies up-down
            across, sel = torch.tensor([0.0, 1.0, 0.0]).expand_as(g), self.regions["forehead"]
        elif group == "brows_down":  # vertical lines: height varies left-right
            across, sel = torch.tensor([1.0, 0.0, 0.0]).expand_as(g), self.regions["glabella"]
        elif group == "squint":      # radial lines about the outer canthus: height varies around it
            across, sel = self._around_canthi()
        else:
            return None
        sel = torch.from_numpy(sel) & self.mask
        a = (g[sel] * across[sel]).sum(-1).pow(2).sum()
        return float(a / g[sel].pow(2).sum().clamp(min=1e-30))

    def _around_canthi(self) -> tuple[torch.Tensor, np.ndarray]:
        """(S, S, 3) the unit direction around the nearer outer canthus on the surface (the normal
        crossed with the surface's radial direction from the skin point in front of the canthus),
        and the eyes-region texels within CROWS_RADIUS of it on its outer side."""
        P, N = self.P[0], torch.nn.functional.normalize(self.N[0], dim=-1)
        best, around = None, torch.zeros_like(P)
        for s, sign in (("L", 1.0), ("R", -1.0)):
            c = self.face.outer_canthus(s)
            off = (P[..., :2] - c[:2]).norm(dim=-1) + 1e3 * (~self.mask | (P[..., 2] < c[2] - 0.03))
            centre = P.reshape(-1, 3)[off.argmin()]
            r = P - centre
            d = r.norm(dim=-1)
            r = r - (r * N).sum(-1, keepdim=True) * N            # radial, in the tangent plane
            t = torch.nn.functional.normalize(torch.cross(N, r, dim=-1), dim=-1, eps=1e-12)
            here = (d < CROWS_RADIUS) & (sign * P[..., 0] > sign * centre[0])
            around[here] = t[here]
            best = here if best is None else best | here
        return around, best.numpy() & self.regions["eyes"]
