"""The skin no photo showed, made from the skin the photos did show, with no visible boundary.

Skin albedo in log space is split at TEXTURE_SCALE into a tone (the smooth colour field) and a
texture (pores, blotches, fine colour variation). Unseen skin (the scalp, ears, neck, the far
side of a turned face, and every texel the occlusion tests dropped: hair, glasses, background)
gets:
- a tone extended smoothly from the seen skin's tone around it (fill.membrane_fill: the
  smoothest field through the seen tone, so it meets the photo's colour at the coverage
  boundary without a step), leaning to the median tone of all the seen plain skin far from
  what was seen, so the scalp and neck are the person's tone, not the forehead edge's (the
  nose and cheeks alone made heads pink under rouge);
- inside holes the photos' seen skin surrounds, among the features (eyelid margins, nostrils,
  the lip line, brows), no lean: the smoothest field through the colours at the hole's own edge,
  so a dark lash line or nostril rim is met without a pale patch (holes in plain skin keep the
  plain tone: a brow's black is not spread into a dropped frame's bridge);
- a texture synthesised from patches of the person's own skin texture (patches under overlapping
  Hann windows, scaled so their sum keeps the source's variance), so the unseen skin has the
  person's grain and blotchiness, not a flat average: random patches of the reference skin (nose
  and cheeks), tamed, whose finest band beside the seen skin is that skin's own, copied from
  close by (a beard goes on under the jaw instead of ending in a smooth grey halo).

All maps (S, S, ...) in the model's UV layout, row 0 at v = 1; colours linear in [0, 1].
"""
from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as Fn

from .fill import gaussian_blur, membrane_fill, weighted_blur

TEXTURE_SCALE = 1 / 128   # of the texture's side: the blur sigma that separates tone from texture
PATCH = 1 / 32            # of the side: the synthesis patches (32 texels at 1024)
MIN_SOURCES = 32          # reference texels whose whole patch is reference skin, at least
LEAN_REACH = 1 / 16       # of the side: how far from the seen skin the tone becomes the reference's
TONE_SIZE = 256           # texels per side of the tone field's blur and membrane (it is smooth)
HOLE_RIM = 2 / 1024        # of the side: the texels next to a hole that its fill does not copy
                           # (an occluder's anti-aliased edge the colour test kept)
HOLE_BLEND = 4 / 1024      # of the side: the blur between a hole's feature part and its plain part
HOLE_RING_SEEN = 0.5      # share of the ring around an unseen region that was seen: a hole, filled from its edge
GRAIN_MAX_RMS = 0.08      # log units: the strongest grain copied (how it was set: benchmarks/NOTES.md)
LOCAL_JITTER = 1.0        # patches: how far a local patch may move from the source nearest its place
LOCAL_BAND = 3 / 1024     # of the side: the blur sigma below which the grain is copied from close by
EPS = 1e-3


def _shrink(x: torch.Tensor, weight: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(S, S, C) values, (S, S) weights -> their weighted means and mean weights over blocks, at
    `size` texels per side (unchanged when S <= size)."""
    f = x.shape[0] // size
    if f <= 1:
        return x, weight
    w = Fn.avg_pool2d(weight[None, None], f)[0, 0]
    xs = Fn.avg_pool2d((x * weight[..., None]).permute(2, 0, 1)[None], f)[0].permute(1, 2, 0)
    return xs / w.clamp(min=1e-6)[..., None], w


def _grow(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[0] == size:
        return x
    return Fn.interpolate(x.permute(2, 0, 1)[None], size=(size, size), mode="bilinear",
                          align_corners=False)[0].permute(1, 2, 0)


def split_log_skin(albedo: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """albedo (S, S, 3) linear; weight (S, S) trust of each texel as plain skin -> (tone, texture)
    in log units: the weighted low-pass of log albedo (computed at TONE_SIZE: it is smooth), and
    log albedo minus it."""
    size = albedo.shape[0]
    log = albedo.clamp(min=EPS).log()
    small, w = _shrink(log, weight, TONE_SIZE)
    sigma = max(1.0, small.shape[0] * TEXTURE_SCALE)
    tone = _grow(weighted_blur(small, w, sigma=sigma, fallback=small), size)
    return tone, log - tone


def _hann(p: int) -> torch.Tensor:
    w = torch.sin(math.pi * (torch.arange(p) + 0.5) / p) ** 2    # periodic at 50 % overlap
    return w[:, None] * w[None, :]


@lru_cache(maxsize=4)
def _overlap_norm(p: int, n: int) -> torch.Tensor:
    """(1, side, side) the root of the summed squared windows of n x n patches of p texels at
    half a patch apart: what makes their overlap keep the patches' variance. Fixed per size."""
    w, stride = _hann(p), p // 2
    side = (n - 1) * stride + p
    norm = Fn.fold((w ** 2).reshape(1, p * p, 1).expand(1, p * p, n * n), (side, side), p, stride=stride)[0]
    return norm.clamp(min=1e-6).sqrt()


def _overlap_add(patches: torch.Tensor, stride: int) -> torch.Tensor:
    """patches (n, n, p, p, C), patch (i, j) at texel (i, j) x stride, stride = p / 2 -> (C, side,
    side) their sum, side = (n - 1) x stride + p. As `fold`, in four passes: the patches of one
    row and column parity tile the canvas without overlap, so each pass is a reshape and one
    add (fold's col2im takes about twice as long at 1024)."""
    n, p, C = patches.shape[0], patches.shape[2], patches.shape[-1]
    side = (n - 1) * stride + p
    canvas = patches.new_zeros(C, side, side)
    for a in (0, 1):
        for b in (0, 1):
            part = patches[a::2, b::2]                                              # (na, nb, p, p, C)
            na, nb = part.shape[:2]
            tiles = part.permute(4, 0, 2, 1, 3).reshape(C, na * p, nb * p)
            canvas[:, a * stride:a * stride + na * p, b * stride:b * stride + nb * p] += tiles
    return canvas


def _patch_cells(S: int) -> tuple[int, int, int]:
    """-> (p, stride, n): the synthesis patch's side (even), the stride between patches (p / 2)
    and the patches per side of the canvas; patch (i, j) is centred on texel (i, j) x stride."""
    p = max(4, int(round(S * PATCH)) // 2 * 2)
    return p, p // 2, S // (p // 2) + 2


def _whole_patches(source: torch.Tensor, p: int) -> np.ndarray:
    """(S, S) bool -> (S, S) uint8: 1 where the patch of side p centred there lies in the source."""
    return cv2.erode(source.numpy().astype(np.uint8), np.ones((p + 1, p + 1), np.uint8),
                     borderType=cv2.BORDER_CONSTANT, borderValue=0)


def _assemble(texture: torch.Tensor, cy: np.ndarray, cx: np.ndarray, used: np.ndarray | None = None) -> torch.Tensor:
    """texture (S, S, C); cy, cx (n * n,) the centres of the patches to copy, row by row of the
    canvas; used (n * n,) bool: the patches to copy (the others are left at 0), all by default
    -> (S, S, C) the patches under overlapping Hann windows, scaled so that their sum keeps the
    copied texture's variance."""
    S, C = texture.shape[0], texture.shape[-1]
    p, stride, n = _patch_cells(S)
    half = p // 2
    keep = np.arange(n * n) if used is None else np.nonzero(used)[0]
    iy = torch.as_tensor(cy[keep])[:, None] + torch.arange(-half, half)[None]           # (N, p)
    ix = torch.as_tensor(cx[keep])[:, None] + torch.arange(-half, half)[None]
    copied = texture[iy[:, :, None], ix[:, None, :]].mul_(_hann(p)[None, :, :, None])   # (N, p, p, C)
    if used is None:
        patches = copied
    else:
        patches = texture.new_zeros(n * n, p, p, C)
        patches[torch.as_tensor(keep)] = copied
    canvas = _overlap_add(patches.view(n, n, p, p, C), stride)
    out = canvas / _overlap_norm(p, n)
    return out[:, stride:stride + S, stride:stride + S].permute(1, 2, 0).contiguous()


def synthesise_texture(texture: torch.Tensor, source: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """texture (S, S, C) zero-mean log detail; source (S, S) bool texels whose texture may be
    copied -> (S, S, C) a new texture field everywhere, of the same statistics, made of random
    patches of the source (zeros when the source is too small to hold MIN_SOURCES patches)."""
    p, _, n = _patch_cells(texture.shape[0])
    ys, xs = np.nonzero(_whole_patches(source, p))
    if len(ys) < MIN_SOURCES:
        return torch.zeros_like(texture)
    pick = rng.integers(0, len(ys), n * n)
    return _assemble(texture, ys[pick], xs[pick])


def synthesise_local_texture(texture: torch.Tensor, source: torch.Tensor, rng: np.random.Generator,
                             wanted: torch.Tensor | None = None) -> torch.Tensor:
    """As synthesise_texture, but each patch is copied from the source near where it goes: the
    source patch nearest its place, moved by up to LOCAL_JITTER patches along the source (and
    snapped back into it) so that neighbouring patches differ. Beside the seen skin the unseen
    skin then goes on with the texture right there (a beard's hairs under the jaw, a forehead's
    fine lines at the hairline), not the cheeks'. wanted (S, S) bool: where the field is used;
    only the patches that reach it are copied (0 elsewhere), all by default."""
    S = texture.shape[0]
    p, stride, n = _patch_cells(S)
    inside = _whole_patches(source, p)
    ys, xs = np.nonzero(inside)
    if len(ys) < MIN_SOURCES:
        return torch.zeros_like(texture)
    # each texel's nearest source texel, as its label: OpenCV numbers the zeros 1, 2, ... in raster
    # order, the order of np.nonzero
    _, labels = cv2.distanceTransformWithLabels(1 - inside, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)

    def nearest(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        return labels[np.clip(y, 0, S - 1), np.clip(x, 0, S - 1)] - 1

    centre = np.arange(n) * stride
    gy, gx = np.meshgrid(centre, centre, indexing="ij")
    k = nearest(gy.ravel(), gx.ravel())
    jitter = rng.integers(-int(LOCAL_JITTER * p), int(LOCAL_JITTER * p) + 1, (2, n * n))
    k = nearest(ys[k] + jitter[0], xs[k] + jitter[1])
    used = None
    if wanted is not None:   # a patch reaches the texels within half a patch of its centre
        reach = cv2.dilate(wanted.numpy().astype(np.uint8), np.ones((p + 1, p + 1), np.uint8))
        used = reach[np.clip(gy.ravel(), 0, S - 1), np.clip(gx.ravel(), 0, S - 1)] > 0
    return _assemble(texture, ys[k], xs[k], used)


def _farness(seen: torch.Tensor) -> torch.Tensor:
    """(S, S) bool -> (S, S) in [0, 1]: 0 on and beside seen texels, rising smoothly to 1 at
    LEAN_REACH of the side away from them (texel distance in the atlas)."""
    dist = cv2.distanceTransform((~seen).numpy().astype(np.uint8), cv2.DIST_L2, 3)
    t = np.clip(dist / (LEAN_REACH * seen.shape[0]), 0, 1)
    return torch.as_tensor(t * t * (3 - 2 * t), dtype=torch.float32)


def _clipped(texture: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """texture clipped at 3 robust deviations of its luminance over source (a mole or a stray
    hair is not copied as a spot), 0 off the source."""
    lum = texture[source].mean(-1)
    limit = 3 * max(float(1.4826 * lum.abs().median()), 1e-4)
    return texture.clamp(-limit, limit) * source[..., None]


def _tamed(texture: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """The reference texture to copy: clipped (_clipped) and scaled down to GRAIN_MAX_RMS at most
    (stubble, a beard's shadow or deep wrinkles on the cheeks read as dirt spread over a scalp).
    0 off ref."""
    if int(ref.sum()) < MIN_SOURCES:
        return torch.zeros_like(texture)
    t = _clipped(texture, ref)
    rms = float(t[ref].mean(-1).pow(2).mean().sqrt())
    return t * min(1.0, GRAIN_MAX_RMS / max(rms, 1e-6))


def _median_tone(tone: torch.Tensor, masks: list) -> torch.Tensor:
    """(3,) median log tone over the first mask with MIN_SOURCES texels; a typical skin without."""
    for m in masks:
        if int(m.sum()) >= MIN_SOURCES:
            return tone[m].median(0).values
    return torch.log(torch.tensor([0.45, 0.3, 0.25]))


def enclosed_holes(unseen: torch.Tensor, seen: torch.Tensor) -> torch.Tensor:
    """unseen (S, S) bool: skin the photos did not show; seen (S, S) bool: texels they did ->
    (S, S) bool: the unseen regions that seen texels surround (at least HOLE_RING_SEEN of the
    ring around them; chart edges count against) other than the largest unseen region (the
    scalp, neck and far side of the head, whose ring a ragged face edge can make long)."""
    from scipy.ndimage import binary_dilation, find_objects, label

    un, ok = unseen.numpy(), seen.numpy()
    labels, count = label(un)
    holes = np.zeros_like(un)
    if count == 0:
        return torch.as_tensor(holes)
    largest = np.bincount(labels.ravel())[1:].argmax() + 1
    for i, box in enumerate(find_objects(labels), start=1):
        if i == largest:
            continue
        box = tuple(slice(max(b.start - 3, 0), min(b.stop + 3, side)) for b, side in zip(box, un.shape))
        part = labels[box] == i
        ring = binary_dilation(part, iterations=2) & ~part
        if (ring & ok[box]).sum() >= HOLE_RING_SEEN * ring.sum():
            holes[box] |= part
    return torch.as_tensor(holes)


def _fill_holes_from_edges(tone: torch.Tensor, albedo: torch.Tensor, seen: torch.Tensor,
                           holes: torch.Tensor, plain: torch.Tensor) -> torch.Tensor:
    """tone (S, S, 3) log; albedo (S, S, 3) linear; seen (S, S) weights; holes, plain (S, S)
    bool -> tone with the holes among the features (eyelid margins, nostrils, lips, brows) replaced
    by the membrane through the log albedo around them; holes in plain skin (a dropped frame's
    bridge beside a brow) keep the plain skin's tone, a dark brow is not spread into them. Computed
    over the holes' bounding box and a margin only (the face, not the whole atlas)."""
    ys, xs = torch.nonzero(holes, as_tuple=True)
    m = max(8, holes.shape[0] // 64)
    y0, y1 = max(int(ys.min()) - m, 0), min(int(ys.max()) + m + 1, holes.shape[0])
    x0, x1 = max(int(xs.min()) - m, 0), min(int(xs.max()) + m + 1, holes.shape[1])
    box = (slice(y0, y1), slice(x0, x1))
    rim = max(1, round(HOLE_RIM * holes.shape[0]))
    grown = torch.as_tensor(cv2.dilate(holes[box].numpy().astype(np.uint8), np.ones((2 * rim + 1,) * 2, np.uint8)) > 0)
    edge = membrane_fill(albedo[box].clamp(min=EPS).log(), seen[box] * ~grown)
    feature = gaussian_blur((~plain[box]).float()[..., None], sigma=max(1.0, HOLE_BLEND * holes.shape[0]))
    out = tone.clone()
    out[box] = torch.where(holes[box][..., None], feature * edge + (1 - feature) * tone[box], tone[box])
    return out


def _grain(texture: torch.Tensor, seen: torch.Tensor, ref: torch.Tensor, plain: torch.Tensor,
           far: torch.Tensor, needed: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """(S, S, 3) log texture for every texel: the reference skin's tamed grain, whose finest band
    (below LOCAL_BAND: pores, hairs, stubble) is, beside the seen plain skin, the seen skin's own
    copied from close by (synthesise_local_texture: a beard goes on under the jaw instead of
    ending in a smooth halo). Far from the seen skin (`far` -> 1) and on the features (eyelids,
    lips, nostrils: their holes should not take a beard's hairs) the reference's fine band stays.
    The coarser band (wrinkles, blotches) is always the reference's: copied locally, a forehead's
    lines come back as a hatched ring round the face. The two independent fine fields are mixed
    with weights whose squares sum to 1, so the blend keeps their strength.
    texture (S, S, 3) log detail; seen, ref, plain (S, S) bool; far (S, S) in [0, 1]; needed
    (S, S) bool: the texels whose grain is used (the photos did not cover them fully)."""
    grain = synthesise_texture(_tamed(texture, ref), ref, rng)
    if int(seen.sum()) < MIN_SOURCES:
        return grain
    sigma = max(0.5, LOCAL_BAND * texture.shape[0])

    def fine(t: torch.Tensor) -> torch.Tensor:
        return t - gaussian_blur(t, sigma=sigma)

    blend = gaussian_blur(plain.float()[..., None], sigma=max(1.0, HOLE_BLEND * plain.shape[0]))
    near = (1 - far[..., None]) * blend
    local = synthesise_local_texture(_clipped(fine(texture), seen), seen, rng, needed & (near[..., 0] > 0))
    ref_fine = fine(grain)
    return grain - ref_fine + (local * near + ref_fine * (1 - near)) / (near ** 2 + (1 - near) ** 2).sqrt()


def complete_skin(albedo: torch.Tensor, coverage: torch.Tensor, plain: torch.Tensor, reference: torch.Tensor,
                  valid: torch.Tensor, skin: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """albedo (S, S, 3) linear, defined where coverage > 0; coverage (S, S) in [0, 1], how well
    the photos saw each texel; plain (S, S) bool: skin away from brows, eyes, lips and nostrils;
    reference (S, S) bool: the nose and cheeks (whose grain is copied); valid (S, S) bool: texels of
    the layout; skin (S, S) bool: its skin (not eyes, teeth or the mouth's inside).
    -> (S, S, 3) linear skin for every texel: what coverage < 1 blends towards."""
    seen_plain = (coverage * plain).clamp(0, 1)
    tone, texture = split_log_skin(albedo, seen_plain)
    ref = reference & (coverage > 0.5)
    ref_tone = _median_tone(tone, [seen_plain > 0.5, ref])
    small, w = _shrink(tone, seen_plain * valid, TONE_SIZE)
    extended = _grow(membrane_fill(small, w), albedo.shape[0])
    far = _farness(seen_plain > 0.5)
    tone_all = extended * (1 - far[..., None]) + ref_tone * far[..., None]
    holes = enclosed_holes((coverage < 0.5) & skin, (coverage >= 0.5) & valid)
    if holes.any():   # the hole's own edge, at full resolution: its colour is met exactly
        tone_all = _fill_holes_from_edges(tone_all, albedo, coverage * valid, holes, plain)
    grain = _grain(texture, seen_plain > 0.5, ref, plain, far, coverage < 1, rng)
    return (tone_all + grain).exp().clamp(0, 1)
