"""A head model's UV atlas at one resolution: the UV raster (which face and barycentrics cover each
texel) and the maps derived from it once per (model, size): each texel's mirror point, its part,
the mouth interior, the eye sockets, the right side. Texture, detail, wrinkles and training all
read it from here.

UV maps are (S, S, ...), row 0 at v = 1 (render/uv.py); uv in [0, 1] with v up.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as Fn

from ..headmodel import HeadModel
from ..render import interpolate, rasterize_uv, vertex_normals, world_to_uv
from ..render.rasterize import Fragments


@dataclass
class UVSupport:
    """Per-topology UV data at one resolution (compute once)."""

    size: int
    raster: object                 # UVRaster
    mirror_uv: torch.Tensor        # (S, S, 2) uv of the mirrored surface point, own uv if none
    has_mirror: torch.Tensor       # (S, S) bool
    part: torch.Tensor             # (S, S) int part id of the texel's face, -1 outside charts
    mouth_interior: torch.Tensor   # (S, S) bool: skin texels of the mouth cavity
    right_side: torch.Tensor       # (S, S) bool: texels whose neutral surface point has x < 0
    eye_sockets: torch.Tensor      # (S, S) bool: skin texels an eyeball hides from every side
                                   # (the socket behind it, the lids' inner side): no photo and
                                   # no render shows them

    @property
    def skin(self) -> torch.Tensor:
        """(S, S) bool: the skin a photo or a render can show (not the mouth's inside or the
        eye sockets)."""
        return (self.part == 0) & ~self.mouth_interior & ~self.eye_sockets

    @property
    def mirror_grid(self) -> torch.Tensor:
        """(1, S, S, 2) grid_sample coordinates of each texel's mirror point."""
        return _grid(self.mirror_uv)

    def mirrored(self, maps: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
        """maps (W, W, C) in this layout at any resolution W -> (W, W, C): each texel's value
        read at its mirror point (grid_sample `mode`; borders replicated)."""
        W = maps.shape[0]
        grid = Fn.interpolate(self.mirror_grid.permute(0, 3, 1, 2), size=(W, W), mode="nearest").permute(0, 2, 3, 1)
        out = Fn.grid_sample(maps.permute(2, 0, 1)[None], grid, mode=mode, padding_mode="border", align_corners=False)
        return out[0].permute(1, 2, 0)

    def has_mirror_at(self, size: int) -> torch.Tensor:
        """(size, size) bool: has_mirror at another resolution (nearest)."""
        return Fn.interpolate(self.has_mirror[None, None].float(), size=(size, size), mode="nearest")[0, 0] > 0.5

    @property
    def left_grid(self) -> torch.Tensor:
        """(1, S, S, 2) grid_sample coordinates that make a map left/right symmetric: texels on
        the right side (x < 0) read their mirror point on the left, the others themselves."""
        px = (torch.arange(self.size) + 0.5) / self.size
        own = torch.stack([px[None].expand(self.size, -1), 1 - px[:, None].expand(-1, self.size)], -1)
        use = (self.right_side & self.has_mirror)[..., None]
        return _grid(torch.where(use, self.mirror_uv, own))


def _grid(uv: torch.Tensor) -> torch.Tensor:
    """(S, S, 2) uv in [0, 1] (v up) -> (1, S, S, 2) grid_sample coordinates (y down)."""
    return torch.stack([uv[..., 0] * 2 - 1, 1 - uv[..., 1] * 2], -1)[None]


def _mirror_corner_uv(model: HeadModel) -> tuple[torch.Tensor, torch.Tensor]:
    """For each face, the uv of its mirror face's corners in its own corner order: (F, 3, 2),
    and (F,) whether the face has a mirror face (whose vertices are the mirrors of its own)."""
    faces = model.faces.cpu().numpy()
    uvf = model.uv_layout.faces.cpu().numpy()
    uv = model.uv_layout.uv.cpu().numpy()
    sym = model.symmetry.cpu().numpy()
    V = np.int64(sym.shape[0])

    def key(f):  # one int64 per face, independent of its corner order
        s = np.sort(f.astype(np.int64), axis=1)
        return (s[:, 0] * V + s[:, 1]) * V + s[:, 2]

    own = key(faces)
    order = np.argsort(own)
    mirrored = sym[faces]                                            # (F, 3) the mirror vertices
    pos = np.clip(np.searchsorted(own[order], key(mirrored)), 0, len(faces) - 1)
    j = order[pos]
    ok = own[j] == key(mirrored)
    # corner k of face i maps to the corner of face j that holds sym[faces[i, k]]
    corner = (faces[j][:, None, :] == mirrored[:, :, None]).argmax(-1)   # (F, 3)
    out = np.where(ok[:, None, None], uv[uvf[j[:, None], corner]], uv[uvf])
    return torch.as_tensor(out, dtype=torch.float32), torch.as_tensor(ok)


SOCKET_REACH = 1.5    # eyeball radii from its centre: how far the lids' inner side reaches
SOCKET_FACING = 0.5   # cosine: a surface facing into the eyeball at least this much is hidden by it

_SUPPORTS: OrderedDict = OrderedDict()   # (topology_key, size) -> UVSupport, least recent first
CACHED_SUPPORTS = 6


def topology_key(model: HeadModel) -> str:
    """A digest of everything uv_support reads from a model, so that each load of the same model
    files (every reconstruction loads its model anew; the service's worker runs many) shares one
    UVSupport instead of rasterizing the atlas again (~0.2 s at 1024 on this CPU)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr(model.region_names).encode())
    for t in (model.uv_layout.uv, model.uv_layout.faces, model.faces, model.symmetry, model.face_part,
              model.vertex_part, model.vertex_regions, model.v_template):
        a = t.detach().cpu().contiguous().numpy()
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def uv_support(model: HeadModel, size: int) -> UVSupport:
    """The UV raster and the maps derived from it, cached per (model topology, size). Every module
    that needs a model's UV raster takes it from here instead of rasterizing again; callers treat
    the returned tensors as read-only."""
    key = (topology_key(model), size)
    if key in _SUPPORTS:
        _SUPPORTS.move_to_end(key)
        return _SUPPORTS[key]
    _SUPPORTS[key] = _build_support(model, size)
    while len(_SUPPORTS) > CACHED_SUPPORTS:
        _SUPPORTS.popitem(last=False)
    return _SUPPORTS[key]


def _build_support(model: HeadModel, size: int) -> UVSupport:
    lay = model.uv_layout
    uv = lay.uv.float().cpu()
    raster = rasterize_uv(uv, lay.faces.cpu(), model.faces.cpu(), size)
    fr = raster.fragments
    corner_uv, ok = _mirror_corner_uv(model)
    fidx = fr.face_index[0]
    valid = fidx >= 0
    f = fidx.clamp(min=0)
    b = fr.bary[0]
    m_uv = (b[..., None] * corner_uv[f]).sum(-2)
    own = (b[..., None] * uv[lay.faces.cpu()[f]]).sum(-2)
    has = valid & ok[f]
    mirror = torch.where(has[..., None], m_uv, own)
    part = torch.where(valid, model.face_part.cpu()[f], torch.full_like(f, -1))
    names = model.region_names
    mouth = torch.zeros_like(valid)
    if "mouth" in names:
        mouth_v = model.vertex_regions[names.index("mouth")].cpu() > 0
        front = model.v_template.cpu()[:, 2] > model.v_template.cpu()[:, 2].max() - 0.03
        interior = mouth_v & ~front & (model.vertex_part.cpu() == 0)
        mi = interpolate(Fragments(fr.face_index, fr.bary, fr.depth), model.faces.cpu(),
                         interior[None, :, None].float())[0, ..., 0] > 0.5
        mouth = mi & valid
    rest = world_to_uv(raster, model.v_template.cpu().float()[None])[0]     # (S, S, 3) metres
    return UVSupport(size, raster, mirror, has, part, mouth, (rest[..., 0] < 0) & valid,
                     _hidden_by_eyeballs(model, raster, rest) & (part == 0))


def _hidden_by_eyeballs(model: HeadModel, raster, rest: torch.Tensor) -> torch.Tensor:
    """rest (S, S, 3) neutral surface points, metres -> (S, S) bool: the texels an eyeball hides
    from every direction: inside its sphere (the socket behind it), or within SOCKET_REACH radii
    of its centre with the surface facing into it (the lids' inner side, which rests on it). The
    radius: the eyeball's rest vertices' median distance to the fitted centre. All False for a
    model without eyeballs."""
    hidden = torch.zeros(rest.shape[:2], dtype=torch.bool)
    if not {"eye.L", "eye.R"} <= set(model.part_names):
        return hidden
    v0 = model.v_template.detach().cpu().float()[None]
    normal = Fn.normalize(world_to_uv(raster, vertex_normals(v0, model.faces.cpu()))[0].double(), dim=-1)
    v = v0[0].double().numpy()
    vpart = model.vertex_part.cpu().numpy()
    for eye, c in zip(("eye.R", "eye.L"), model.eyeball_centres()):
        radius = np.median(np.linalg.norm(v[vpart == model.part_names.index(eye)] - c, axis=1))
        out = rest.double() - torch.as_tensor(c)                 # centre -> surface point
        dist = out.norm(dim=-1)
        facing_in = (normal * out).sum(-1) < -SOCKET_FACING * dist
        hidden |= (dist < radius) | (facing_in & (dist < SOCKET_REACH * radius))
    return hidden
