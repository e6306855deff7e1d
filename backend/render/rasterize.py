"""Z-buffer rasterization in plain torch (CPU and CUDA), differentiable through barycentrics.

Which face covers a pixel is a discrete choice made without gradients (a packed depth/face key
reduced with scatter 'amin'); the barycentric coordinates of the pixel centre inside that face are
then recomputed from the screen vertices with autograd on, so gradients flow to vertex positions
and attributes exactly as in pytorch3d at blur radius 0 with one face per pixel. Silhouette edges
carry no gradient.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

_FACE_BITS = 22          # up to 4 M faces per batch element
_DEPTH_LEVELS = 2 ** 40  # depth quantisation for the z-test (relative to the scene's depth range)
_MAX_CANDIDATES = 1 << 23  # bound the memory of one pass over (face, pixel) candidates


@dataclass
class Fragments:
    """Per-pixel rasterization result for a batch of B images of H x W pixels.

    face_index: (B, H, W) int64, index into the faces of the mesh, -1 where empty.
    bary: (B, H, W, 3) barycentric weights of the pixel centre (perspective-correct when the
          camera is), zero where empty; differentiable w.r.t. the screen vertices.
    depth: (B, H, W) depth (same units as the screen z), +inf where empty; differentiable.
          bary and depth are None from `rasterize(..., dense=False)` and `visible_pixels`.
    pixels, pixel_batch, pixel_bary: the covered pixels only (flat index into B*H*W, batch
          index, (N, 3) barycentrics; None from `visible_pixels`), so that interpolation skips
          the background. A caller may keep a subset of them (e.g. the skin) for later
          `rasterize(visibility=...)` calls.
    """

    face_index: torch.Tensor
    bary: torch.Tensor | None
    depth: torch.Tensor | None
    pixels: torch.Tensor | None = None
    pixel_batch: torch.Tensor | None = None
    pixel_bary: torch.Tensor | None = None

    @property
    def mask(self) -> torch.Tensor:
        return self.face_index >= 0


def take_rows(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (R, C), index (...) into R -> (..., C). One `index_select`: its backward is a
    row-wise `index_add` along dim 0, about twice as fast on the CPU as advanced indexing's
    accumulating `index_put` (an optimizer pays it every step, for every gather of corners)."""
    return values.index_select(0, index.reshape(-1)).view(*index.shape, values.shape[-1])


def batch_rows(index: torch.Tensor, batch: int, rows: int) -> torch.Tensor:
    """index (...) into `rows`, shared by the batch -> (batch * index.numel(),) into the
    flattened (batch * rows) rows, batch element after batch element."""
    flat = index.reshape(1, -1)
    if batch > 1:
        flat = flat + torch.arange(batch, device=index.device)[:, None] * rows
    return flat.reshape(-1)


def gather_rows(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """values (B, V, C) per vertex, index (...) into V, shared by the batch -> (B, ..., C)."""
    B, V, C = values.shape
    return take_rows(values.reshape(B * V, C), batch_rows(index, B, V)).view(B, *index.shape, C)


def _edge(ax, ay, bx, by, px, py):
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


@torch.no_grad()
def _zbuffer(screen: torch.Tensor, faces: torch.Tensor, height: int, width: int,
             cull_backfaces: bool, near_clip: bool) -> torch.Tensor:
    """Nearest face per pixel, (B, H, W) int64 with -1 for empty pixels. No gradients."""
    B, F = screen.shape[0], faces.shape[0]
    dev = screen.device
    tri = screen.detach().to(torch.float64)[:, faces]  # (B, F, 3, 3) in float64 for the tests
    x, y, z = tri[..., 0], tri[..., 1], tri[..., 2]
    area = _edge(x[..., 0], y[..., 0], x[..., 1], y[..., 1], x[..., 2], y[..., 2])
    valid = area.abs() > 1e-12
    if cull_backfaces:
        # With v down, a counter-clockwise (front-facing) triangle has a negative signed area here.
        valid &= area < 0
    if near_clip:  # perspective: faces behind the camera are dropped whole
        valid &= (z > 0).all(-1)
    # Pixel centres (i + 0.5) inside the bounding box.
    x0 = torch.ceil(x.amin(-1) - 0.5).clamp(min=0)
    x1 = torch.floor(x.amax(-1) - 0.5).clamp(max=width - 1)
    y0 = torch.ceil(y.amin(-1) - 0.5).clamp(min=0)
    y1 = torch.floor(y.amax(-1) - 0.5).clamp(max=height - 1)

    zmin = z[valid].min() if valid.any() else torch.tensor(0.0, dtype=z.dtype, device=dev)
    zmax = z[valid].max() if valid.any() else torch.tensor(1.0, dtype=z.dtype, device=dev)
    zscale = (_DEPTH_LEVELS - 1) / (zmax - zmin).clamp(min=1e-12)
    valid &= (x1 >= x0) & (y1 >= y0)    # the box holds a pixel centre

    best = torch.full((B * height * width,), torch.iinfo(torch.int64).max, dtype=torch.int64,
                      device=dev)
    flat = lambda t: t.reshape(B * F, *t.shape[2:]).contiguous()  # noqa: E731
    boxes = [flat(t).long() for t in (x0, x1, y0, y1)]
    if dev.type == "cpu" and _compiled_scan() is not None:
        _compiled_scan()(*(flat(t).numpy() for t in (x, y, z, area, valid)), *(t.numpy() for t in boxes),
                         float(zmin), float(zscale), float(_DEPTH_LEVELS), _FACE_BITS, F, height, width,
                         best.numpy())
    else:
        _scan_candidates(flat(x), flat(y), flat(z), flat(area), flat(valid), boxes, zmin, zscale, F,
                         height, width, best)
    face = best & ((1 << _FACE_BITS) - 1)
    face = torch.where(best == torch.iinfo(torch.int64).max, torch.full_like(face, -1), face)
    return face.view(B, height, width)


def _compiled_scan():
    """zscan_cpu.scan_faces, or None where numba is missing (the torch scan then runs)."""
    global _SCAN
    if _SCAN is False:
        try:
            from .zscan_cpu import scan_faces
        except ImportError:
            scan_faces = None
        _SCAN = scan_faces
    return _SCAN


_SCAN = False   # not looked up yet


def _scan_candidates(x, y, z, area, valid, boxes, zmin, zscale, F, height, width, best) -> None:
    """The depth test as tensors (any device): every (face, pixel-in-its-box) candidate, in
    passes of at most _MAX_CANDIDATES; lowers `best` (B*H*W,) to min(depth key << _FACE_BITS | face)."""
    dev = x.device
    x0f, x1f, y0f, y1f = boxes
    bwf = x1f - x0f + 1
    counts = torch.where(valid, bwf * (y1f - y0f + 1), torch.zeros_like(bwf))
    nz = torch.nonzero(counts, as_tuple=False).squeeze(1)
    if nz.numel() == 0:
        return
    csum = torch.cumsum(counts[nz], 0)
    start = 0
    while start < nz.numel():
        base = csum[start - 1] if start > 0 else torch.zeros((), dtype=csum.dtype, device=dev)
        stop = int(torch.searchsorted(csum, base + _MAX_CANDIDATES, right=True))
        stop = max(stop, start + 1)
        ids = nz[start:stop]
        n = counts[ids]
        cand = torch.repeat_interleave(ids, n)
        offs = torch.cumsum(n, 0) - n
        local = torch.arange(cand.numel(), device=dev) - torch.repeat_interleave(offs, n)
        px = x0f[cand] + local % bwf[cand]
        py = y0f[cand] + torch.div(local, bwf[cand], rounding_mode="floor")
        cx = px.to(torch.float64) + 0.5
        cy = py.to(torch.float64) + 0.5
        tx, ty, tz = x[cand], y[cand], z[cand]
        a = area[cand]
        w0 = _edge(tx[:, 1], ty[:, 1], tx[:, 2], ty[:, 2], cx, cy) / a
        w1 = _edge(tx[:, 2], ty[:, 2], tx[:, 0], ty[:, 0], cx, cy) / a
        w2 = 1.0 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        cand, px, py = cand[inside], px[inside], py[inside]
        w0, w1, w2, tz = w0[inside], w1[inside], w2[inside], tz[inside]
        depth = w0 * tz[:, 0] + w1 * tz[:, 1] + w2 * tz[:, 2]
        key = ((depth - zmin) * zscale).clamp(0, _DEPTH_LEVELS - 1).long()
        b = torch.div(cand, F, rounding_mode="floor")
        f = cand - b * F
        key = (key << _FACE_BITS) | f
        pix = (b * height + py) * width + px
        best.scatter_reduce_(0, pix, key, reduce="amin")
        start = stop


def visible_pixels(screen: torch.Tensor, faces: torch.Tensor, height: int, width: int,
                   perspective_correct: bool = False, cull_backfaces: bool = False) -> Fragments:
    """The z-buffer pass alone (screen and faces as in `rasterize`): the face per pixel and the
    covered-pixel list, no barycentrics, to keep for `rasterize(visibility=...)`."""
    if faces.shape[0] >= 1 << _FACE_BITS:
        raise ValueError(f"too many faces for the rasterizer ({faces.shape[0]})")
    face_index = _zbuffer(screen, faces, height, width, cull_backfaces, perspective_correct)
    return Fragments(face_index, None, None, *_covered(face_index))


def _covered(face_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """-> (flat indices into B*H*W of the covered pixels, each one's batch index)."""
    pix = torch.nonzero(face_index.view(-1) >= 0).squeeze(1)
    return pix, torch.div(pix, face_index[0].numel(), rounding_mode="floor")


def rasterize(screen: torch.Tensor, faces: torch.Tensor, height: int, width: int,
              perspective_correct: bool = False, cull_backfaces: bool = False,
              visibility: Fragments | None = None, dense: bool = True) -> Fragments:
    """Rasterize triangles given in screen space.

    screen: (B, V, 3) = (u px, v px, depth), e.g. from a camera's `project`; with
    `perspective_correct` depth must be positive (faces behind the camera are dropped).
    faces: (F, 3) int64 vertex indices, shared by the batch.
    visibility: a previous result whose face per pixel (and list of covered pixels) is kept
    instead of a new z-buffer pass (most of the cost on CPU): for an optimizer whose mesh moves a
    fraction of a pixel per step. The barycentrics are recomputed for the new vertices, so values
    and gradients are exact for that visibility; a pixel whose face has moved off it extrapolates.
    Only the pixels in its list are computed, so a list cut down to a subset stays that subset.
    dense: also fill the (B, H, W) bary and depth images; an optimizer that reads only the pixel
    lists skips their allocation and scatter.
    """
    B, V = screen.shape[:2]
    if visibility is None:
        visibility = visible_pixels(screen, faces, height, width, perspective_correct, cull_backfaces)
    elif visibility.face_index.shape != (B, height, width):
        raise ValueError(f"the kept face_index is {tuple(visibility.face_index.shape)}, "
                         f"the render is {(B, height, width)}")
    face_index = visibility.face_index
    flat = face_index.view(-1)
    if visibility.pixels is not None:
        pix, pb = visibility.pixels, visibility.pixel_batch
    else:
        pix, pb = _covered(face_index)
    rem = pix - pb * height * width
    cy = torch.div(rem, width, rounding_mode="floor").to(screen.dtype) + 0.5
    cx = (rem % width).to(screen.dtype) + 0.5
    vidx = faces[flat[pix]] + (pb * V)[:, None]                      # (N, 3) into B*V
    x, y, z = take_rows(screen.reshape(B * V, 3), vidx).unbind(-1)      # (N, 3) each, by corner
    (x0, x1, x2), (y0, y1, y2) = x.unbind(1), y.unbind(1)
    area = _edge(x0, y0, x1, y1, x2, y2)
    w0 = _edge(x1, y1, x2, y2, cx, cy) / area
    w1 = _edge(x2, y2, x0, y0, cx, cy) / area
    w2 = 1.0 - w0 - w1
    bary = torch.stack([w0, w1, w2], dim=-1)
    if perspective_correct:
        inv = bary / z.clamp(min=1e-9)
        bary = inv / inv.sum(-1, keepdim=True)
    if not dense:
        return Fragments(face_index, None, None, pix, pb, bary)
    if perspective_correct:
        z0, z1, z2 = z.unbind(1)
        depth = 1.0 / (w0 / z0 + w1 / z1 + w2 / z2)
    else:
        depth = (bary * z).sum(-1)
    P = B * height * width
    bary_full = screen.new_zeros(P, 3).index_copy(0, pix, bary)
    depth_full = screen.new_full((P,), float("inf")).index_copy(0, pix, depth)
    return Fragments(face_index, bary_full.view(B, height, width, 3),
                     depth_full.view(B, height, width), pix, pb, bary)


def interpolate_pixels(fragments: Fragments, faces: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """Interpolate vertex attributes (B or 1, V, C) at the fragments' pixel list: (N, C).

    Per-corner attributes (e.g. UVs across seams) pass `faces` indexing into their own array.
    """
    B, H, W = fragments.face_index.shape
    Va, C = attributes.shape[1:]
    pix = covered_pixels(fragments)
    if fragments.pixels is None:  # fragments built by hand: derive the covered-pixel view
        pb = torch.div(pix, H * W, rounding_mode="floor")
        pbary = fragments.bary.reshape(-1, 3)[pix]
    else:
        pb, pbary = fragments.pixel_batch, fragments.pixel_bary
    f = fragments.face_index.reshape(-1)[pix]
    if attributes.shape[0] == 1:
        vals = take_rows(attributes[0], faces[f])                       # (N, 3, C)
    else:
        vals = take_rows(attributes.reshape(-1, C), faces[f] + (pb * Va)[:, None])
    return (pbary[..., None] * vals).sum(1)


def covered_pixels(fragments: Fragments) -> torch.Tensor:
    """Flat indices into B*H*W of the pixels `interpolate_pixels` returns values for."""
    if fragments.pixels is not None:
        return fragments.pixels
    return _covered(fragments.face_index)[0]


def scatter_pixels(fragments: Fragments, values: torch.Tensor, fill: float = 0.0) -> torch.Tensor:
    """Per-pixel values (N, C) at the fragments' pixel list -> images (B, H, W, C), `fill` elsewhere."""
    B, H, W = fragments.face_index.shape
    full = values.new_full((B * H * W, values.shape[1]), fill)
    return full.index_copy(0, covered_pixels(fragments), values).view(B, H, W, -1)


def interpolate(fragments: Fragments, faces: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """Interpolate vertex attributes (B or 1, V, C) at the pixels: (B, H, W, C), zero where empty.

    Per-corner attributes (e.g. UVs across seams) pass `faces` indexing into their own array.
    """
    return scatter_pixels(fragments, interpolate_pixels(fragments, faces, attributes).to(attributes.dtype))
