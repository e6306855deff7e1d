"""What an unwrapped photo shows that is not the person's skin: hair over the forehead and
temples, background beside the cheeks, a collar over the neck. The fitted outline never matches
the photo's exactly, and a photo shows whatever is in front of the skin, so unwrapping every
visible texel bakes these into the albedo, and the head turned in Blender shows them. Two
weights in [0, 1] keep them out; the texture's completion then fills the texels they drop
from the skin around them and the skin prior (unwrap.py):

- a silhouette margin, in photo pixels: the band just inside the fitted head's outline, where a
  small misfit puts background on the surface;
- a skin-colour test, in UV texels: the de-lit colour against the skin the face centre shows
  (the nose and the cheeks beside it, between the eyes and the mouth, which hair and background
  rarely cover), away from the brows, eyes, lips and nostrils, whose colours are not skin.
  Above the nose's bottom, where no beard grows, a colour too far either way is dropped: hair,
  glasses, background. Below it, on the front of the face, only one brighter, greyer or bluer
  than skin is (background, highlights, shading the light fit missed): a beard or stubble is
  darker and more saturated, part of the person's look, and stays, but only where it has a
  beard's texture: a smooth surface of another hue there (a hand against the chin, a sleeve)
  is dropped either way. On the sides, along and
  under the jaw line and on the neck, where hair, collars and their shadows reach, darker is
  dropped too, unless the chin shows a beard. A grey or white beard is greyer and bluer than
  skin: where the chin shows one, a texel of the lower face (not the neck) near the beard's own
  colour stays.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as Fn

from ..headmodel import HeadModel
from ..render import vertex_normals, world_to_uv
from .fill import gaussian_blur

SILHOUETTE_MARGIN = 0.025        # of the crop's side: 13 px at 512, ~1 cm at the fitted scales
# A texel's colour as log brightness and two log chromaticities (R/G, B/G), each in robust
# standard deviations of the reference skin (floored): distance up to COLOUR_KEEP keeps the
# texel, from COLOUR_DROP drops it (the spreads they were set from: benchmarks/NOTES.md).
COLOUR_KEEP, COLOUR_DROP = 3.0, 5.0
FLOOR_BRIGHTNESS, FLOOR_CHROMA = 0.15, 0.05     # log units
FEATURE_MARGIN = {"brows": 0.010, "eyes": 0.007, "lips": 0.005, "nostrils": 0.004}   # metres
BEARD = -3.0                     # the chin's median brightness, in reference deviations, below
                                 # which the chin shows a beard
GREY_BEARD = (-3.0, 1.0)         # the chin's median R/G below and B/G above these (reference
                                 # deviations): a grey or white beard
JAW_BAND = 0.012                 # metres either side of the jaw line (landmarks 2..14)
FINE_TEXELS = 1.5                # at 1024: the blur that leaves a beard's hairs and skin's grain
SMOOTH = 2.0                     # a texture up to this times the cheeks' is smooth (not hair)
FLOOR_GRAIN = 1e-4               # log units: the cheeks' texture taken as at least this
EDGE_TEXELS = 1 / 256            # of the texture's side: dropped texels also drop this far around


@dataclass
class SkinZones:
    """Per model and texture size, from the neutral head (UV maps, row 0 at v = 1). Texels of
    the brows, eyes, lips and nostrils are in none of the tested zones."""

    reference: torch.Tensor   # (S, S) bool: skin that shows the person's tone
    tested: torch.Tensor      # (S, S) bool: above the nose's bottom, where hair, glasses or
                              # background intrude: any colour far from the reference is dropped
    beardable: torch.Tensor   # (S, S) bool: below it, where hair, background or a collar
                              # intrude (the sides, the jaw line, under it, the neck): tested as
                              # above unless the chin shows a beard, then as `brighter`
    brighter: torch.Tensor    # (S, S) bool: the rest of the lower face, where only brighter,
                              # greyer or bluer colours are dropped
    chin: torch.Tensor        # (S, S) bool: the chin's front, where a beard shows
    lips: torch.Tensor        # (S, S) bool: inside the outer lip line, tested against the lips'
                              # own colour: a smile's teeth are brighter, greyer and bluer
    neck: torch.Tensor        # (S, S) bool: below the chin and behind the jaw's back, where a
                              # beard ends and the photo shows collars and background

    @property
    def plain(self) -> torch.Tensor:
        """(S, S) bool: the skin the colour tests look at (not the brows, eyes, lips, nostrils)."""
        return self.reference | self.tested | self.beardable | self.brighter


def _near_polyline(p: torch.Tensor, points: torch.Tensor, closed: bool, margin: float) -> torch.Tensor:
    """p (N, 3), points (K, 3) metres -> (N,) bool: within margin of the polyline through the
    points (closed: back to the first). Only the points in the polyline's box, grown by the
    margin, are measured."""
    ends = torch.cat([points[1:], points[:1]]) if closed else points[1:]
    a, ab = points[:len(ends)], ends - points[:len(ends)]
    out = torch.zeros(p.shape[0], dtype=torch.bool)
    box = ((p >= points.min(0).values - margin) & (p <= points.max(0).values + margin)).all(-1)
    q = p[box][:, None] - a[None]                                            # (M, K, 3)
    t = ((q * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-12)).clamp(0, 1)
    out[box] = (q - t[..., None] * ab).norm(dim=-1).min(1).values < margin
    return out


_ZONES: dict = {}   # (topology key, landmark embedding digest, size) -> SkinZones


def skin_zones(model: HeadModel, size: int) -> SkinZones:
    """The zones of a model at a texture size, kept per model content (every reconstruction
    loads its model anew) like uvspace.uv_support; callers treat them as read-only."""
    from ..uvspace.atlas import topology_key

    emb = model.landmarks
    h = hashlib.blake2b(digest_size=16)
    for t in (emb.static_faces, emb.static_bary, emb.contour_yaws, emb.contour_faces, emb.contour_bary):
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    key = (topology_key(model), h.hexdigest(), size)
    if key not in _ZONES:
        if len(_ZONES) >= 4:
            _ZONES.pop(next(iter(_ZONES)))
        _ZONES[key] = _build_zones(model, size)
    return _ZONES[key]


def _build_zones(model: HeadModel, size: int) -> SkinZones:
    """The zones from the neutral head's vertices, their normals and its 68 landmarks (metres,
    y up, +x the person's left, +z forward), labelled per vertex and carried to the texels by the
    UV raster (a texel is in a zone when most of its face's weight is). Heights and widths come
    from the landmarks, so the zones follow any model with an iBUG embedding."""
    from ..uvspace import uv_support

    sup = uv_support(model, size)
    v0 = model.v_template.detach().cpu().float()[None]
    p = v0[0]                                                                  # (V, 3) metres
    ny = vertex_normals(v0, model.faces.cpu())[0, :, 1]
    lm = model.landmarks.points(v0, model.faces.cpu(), torch.zeros(1))[0]      # (68, 3)
    feature = torch.zeros(p.shape[0], dtype=torch.bool)
    for first, last, closed, margin in ((17, 22, False, FEATURE_MARGIN["brows"]),
                                        (22, 27, False, FEATURE_MARGIN["brows"]),
                                        (36, 42, True, FEATURE_MARGIN["eyes"]),
                                        (42, 48, True, FEATURE_MARGIN["eyes"]),
                                        (48, 60, True, FEATURE_MARGIN["lips"]),
                                        (60, 68, True, FEATURE_MARGIN["lips"]),
                                        (31, 36, False, FEATURE_MARGIN["nostrils"])):
        feature |= _near_polyline(p, lm[first:last], closed, margin)
    x, y, z = p.unbind(-1)
    eye_bottom = lm[[40, 41, 46, 47], 1].min()
    outer = (lm[45, 0] - lm[36, 0]).abs() / 2                 # the outer eye corners' half width
    nose_bottom, mouth_top, lip_bottom, chin = lm[33, 1], lm[51, 1], lm[57, 1], lm[8, 1]
    front = z > lm[[36, 45], 2].mean() - 0.02                  # not the sides
    reference = (y < eye_bottom - 0.008) & (y > nose_bottom + 0.004) & (x.abs() < outer * 0.85) & front
    tested = y > nose_bottom                                   # no beard grows there
    # below it: the cheeks' sides down to the mouth, behind the jaw's back (the ears' line: neck,
    # nape), below the chin, the jaw line (a collar's shadow) and the jaw's underside (facing down)
    beardable = (((x.abs() > outer) & (y > mouth_top)) | (z < lm[[0, 16], 2].mean()) | (y < chin - 0.01)
                 | _near_polyline(p, lm[2:15], False, JAW_BAND)
                 | ((ny < -0.5) & (y < mouth_top))) & ~tested
    # the chin's lower half, in front: bearded in a full beard or a goatee, not by a moustache
    chin_front = (y < (lip_bottom + chin) / 2) & (y > chin + 0.004) & (x.abs() < outer * 0.5) & front
    labels = torch.stack([reference, tested, beardable, ~(tested | beardable), chin_front], -1) & ~feature[:, None]
    lips = _inside_polygon(p[:, :2], lm[48:60, :2]) & (z > lm[48:60, 2].min() - 0.01)
    neck = ((z < lm[[0, 16], 2].mean()) | (y < chin - 0.01)) & ~tested & ~feature
    labels = torch.cat([labels, lips[:, None], neck[:, None]], -1)
    skin = sup.skin
    maps = (world_to_uv(sup.raster, labels.float()[None])[0] > 0.5) & skin[..., None]
    return SkinZones(*maps.unbind(-1))


def _inside_polygon(p: torch.Tensor, poly: torch.Tensor) -> torch.Tensor:
    """p (N, 2), poly (K, 2) a closed polygon's corners -> (N,) bool (even-odd rule)."""
    a, b = poly, torch.roll(poly, -1, 0)
    crosses = (a[None, :, 1] > p[:, None, 1]) != (b[None, :, 1] > p[:, None, 1])
    t = (p[:, None, 1] - a[None, :, 1]) / (b[None, :, 1] - a[None, :, 1]).where(crosses, torch.ones(1))
    x = a[None, :, 0] + t * (b[None, :, 0] - a[None, :, 0])
    return ((x > p[:, None, 0]) & crosses).sum(1) % 2 == 1


def silhouette_margin(covered: torch.Tensor, width_px: float) -> torch.Tensor:
    """covered (H, W) bool, the fitted head's pixels -> (H, W) float: 0 on and outside the
    outline, rising to 1 at width_px pixels inside it."""
    import cv2

    inside = np.pad(covered.cpu().numpy().astype(np.uint8), 1)   # the image border is outside
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 5)[1:-1, 1:-1]
    return torch.as_tensor(np.clip(dist / max(width_px, 1e-6), 0, 1), dtype=torch.float32)


def _colour_stats(feat: torch.Tensor, where: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The colour_features of the texels `where`: (median (3,), robust spread (3,), floored at
    FLOOR_BRIGHTNESS and FLOOR_CHROMA)."""
    centre = feat[where].median(0).values
    floor = torch.tensor([FLOOR_BRIGHTNESS, FLOOR_CHROMA, FLOOR_CHROMA])
    return centre, torch.maximum((feat[where] - centre).abs().median(0).values * 1.4826, floor)


def _teeth_distance(feat: torch.Tensor, weight: torch.Tensor, lips: torch.Tensor) -> torch.Tensor:
    """(S, S) how much brighter, less red and bluer than the lips' median colour each texel is,
    in robust deviations of the seen lip texels (0 everywhere without enough of them)."""
    seen = lips & (weight > 0.5)
    if int(seen.sum()) < 30:
        return torch.zeros(feat.shape[:2])
    centre, scale = _colour_stats(feat, seen)
    return ((feat - centre) / scale * torch.tensor([1.0, -1.0, 1.0])).clamp(min=0).norm(dim=-1)


def _grey_beard_distance(feat: torch.Tensor, z: torch.Tensor, chin: torch.Tensor) -> torch.Tensor:
    """(S, S) each texel's distance to the colour of a grey beard the chin shows, in robust
    deviations of the chin's own texels (inf everywhere when the chin shows none); feat, z as in
    skin_colour_weight, chin (S, S) the chin's well-seen texels."""
    if int(chin.sum()) < 50:
        return torch.full(feat.shape[:2], float("inf"))
    zc = z[chin].median(0).values
    if not (float(zc[1]) < GREY_BEARD[0] and float(zc[2]) > GREY_BEARD[1]):
        return torch.full(feat.shape[:2], float("inf"))
    centre, scale = _colour_stats(feat, chin)
    return ((feat - centre) / scale).norm(dim=-1)


def colour_features(albedo: torch.Tensor) -> torch.Tensor:
    """(S, S, 3) linear colours -> (S, S, 3) log brightness, log R/G, log B/G."""
    log = albedo.clamp(min=1e-3).log()
    return torch.stack([log.mean(-1), log[..., 0] - log[..., 1], log[..., 2] - log[..., 1]], -1)


def reference_skin(features: torch.Tensor, weight: torch.Tensor,
                   zones: SkinZones) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The colour_features of the reference skin the photo saw well: (median (3,), robust spread
    (3,), floored), or None with fewer than 50 such texels."""
    ref = zones.reference & (weight > 0.5)
    if int(ref.sum()) < 50:
        return None
    return _colour_stats(features, ref)


def _smooth(feat: torch.Tensor, weight: torch.Tensor, zones: SkinZones) -> torch.Tensor:
    """feat (S, S, 3) colour_features; weight (S, S) how well the photo saw each texel -> (S, S)
    in [0, 1]: 1 where the fine brightness texture (the local RMS of log brightness above a blur
    of FINE_TEXELS) is no stronger than SMOOTH times the reference skin's median (floored),
    falling to 0 at twice that: a smooth surface, not a beard's or stubble's hair."""
    r = max(1.0, FINE_TEXELS * feat.shape[0] / 1024)
    lum = feat[..., :1]
    hp2 = (lum - gaussian_blur(lum, r)) ** 2
    rms = gaussian_blur(hp2, 2 * r)[..., 0].clamp(min=0).sqrt()
    ref = zones.reference & (weight > 0.5)
    level = float(rms[ref].median()) if int(ref.sum()) >= 50 else float("inf")
    return (2 - rms / (SMOOTH * max(level, FLOOR_GRAIN))).clamp(0, 1)


def skin_colour_weight(albedo: torch.Tensor, weight: torch.Tensor, zones: SkinZones) -> torch.Tensor:
    """albedo (S, S, 3) linear de-lit colours of one photo; weight (S, S) how well it sees each
    texel -> (S, S) in [0, 1]: 0 on texels whose colour is not the person's skin (in the zones'
    sense, and a thin band around them, where colours mix), 1 on the others. Without enough seen
    reference skin, everything is kept."""
    feat = colour_features(albedo)
    stats = reference_skin(feat, weight, zones)
    if stats is None:
        return torch.ones_like(weight)
    centre, scale = stats
    z = (feat - centre) / scale
    # brighter, less red, bluer: the deviations a beard does not make
    one_sided = (z * torch.tensor([1.0, -1.0, 1.0])).clamp(min=0).norm(dim=-1)
    chin = zones.chin & (weight > 0.5)
    beard = bool(chin.sum() >= 50) and float(z[chin][:, 0].median()) < BEARD
    both_ways = zones.tested | (zones.beardable & (not beard))
    d = torch.where(both_ways, z.norm(dim=-1),
                    torch.where(zones.brighter | zones.beardable, one_sided, torch.zeros_like(one_sided)))
    # a smooth surface of a foreign hue below the nose is no beard: a hand, a sleeve
    d = torch.where(zones.brighter | zones.beardable,
                    torch.maximum(d, z[..., 1:].norm(dim=-1) * _smooth(feat, weight, zones)), d)
    lower = (zones.brighter | zones.beardable) & ~zones.neck
    d = torch.where(lower, torch.minimum(d, _grey_beard_distance(feat, z, chin)), d)
    d = torch.where(zones.lips, _teeth_distance(feat, weight, zones.lips), d)
    keep = ((COLOUR_DROP - d) / (COLOUR_DROP - COLOUR_KEEP)).clamp(0, 1)
    r = max(1, round(EDGE_TEXELS * keep.shape[0]))
    k = keep[None, None]
    for size, pad in (((1, 2 * r + 1), (0, r)), ((2 * r + 1, 1), (r, 0))):   # separable: rows, columns
        k = -Fn.max_pool2d(-k, size, 1, pad)
    for size, pad in (((1, 2 * r + 1), (0, r)), ((2 * r + 1, 1), (r, 0))):   # soft edges
        k = Fn.avg_pool2d(k, size, 1, pad, count_include_pad=False)
    return k[0, 0]
