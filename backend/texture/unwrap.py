"""Unwrap photos into OpenHead/FLAME UV space: sample each photo where the fitted surface is
visible and faces the camera, divide by the fitted SH shading (de-light, linear light) - or, for
a photo under a hard key light, by the key's shading with the head's own cast shadows
(key_light.py, its highlight filled from the mirror) - and by what light that missed that breaks
the face's left/right symmetry (delight.py), keep the
texels that show the person's skin and features (not hair, background or clothes: occlusion.py;
not a hand or a lock of hair on one side: asymmetry.py; not what the caller marks in front of
the face, e.g. glasses frames), bring the photos to one colour, the first's as shot (another
exposure or white balance: equalise.py), merge them by how squarely they see each texel, complete
unseen texels from the mirrored side, then the skin from the person's own seen skin
(skin_synthesis: tone extended without a step, grain from patches of the cheeks), and give
eyes/teeth/mouth plausible colours where unseen.

UV maps are (S, S, C), row 0 at v = 1 (see render/uv.py). Colours are linear light in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as Fn

from ..headmodel import HeadModel
from ..imageio.color import srgb_to_linear
from ..render import MeshRenderer, OrthographicCamera, sh_shading
from ..render.shading import ambient_irradiance
from ..uvspace import surface_maps, uv_support
from .asymmetry import one_sided_occluders
from .delight import refit_light, symmetric_light_factor
from .equalise import photo_gains
from .fill import push_pull_fill
from .key_light import KeyLight, fit_key_light, key_highlights, key_shading
from .skin_synthesis import complete_skin
from .occlusion import (SILHOUETTE_MARGIN, colour_features, reference_skin, silhouette_margin, skin_colour_weight,
                        skin_zones)

# Linear-light priors for parts the photo may not show.
PRIORS = {"eye": (0.75, 0.72, 0.68), "teeth": (0.70, 0.64, 0.52), "tongue": (0.45, 0.13, 0.12),
          "mouth": (0.20, 0.05, 0.05)}
VISIBLE_DEPTH_TOLERANCE = 0.004   # metres
FACING_START, FACING_FULL = 0.15, 0.55   # n . view: weight ramps from 0 to 1 between these
# Below this share of the ambient irradiance (the band-0 light) a texel's shading is too dim to
# divide by: the photo there is shadow and noise, and the quotient a saturated blotch.
DIM_SHADING = 0.25
SYNTHESIS_SEED = 0   # the completed skin's patches: the same photo gives the same texture


@dataclass
class TextureResult:
    albedo: np.ndarray             # (S, S, 3) float32 linear light
    observed: np.ndarray           # (S, S) float32 in [0, 1]: how directly the photos saw a texel
    source: np.ndarray             # (S, S) uint8: 0 photo, 1 mirrored photo, 2 filled / prior
    skin_tone: np.ndarray          # (3,) linear median face albedo
    coverage: np.ndarray           # (S, S) float32 in [0, 1]: the photos' (and their mirror's) share
                                   # of each texel's colour; the rest is completed skin or a prior
    lights: torch.Tensor           # (B, 9, 3) each photo's SH light, refitted to the de-lit albedo
    key_lights: list               # per photo, the hard key light it was de-lit under
                                   # (key_light.KeyLight), or None (its SH light)
    colour_gains: torch.Tensor     # (B, 3) per photo, the gain per channel that brought its albedo
                                   # to one colour (equalise.py: the first photo's light tint, then
                                   # each photo's to those before it)


def _sample(img: torch.Tensor, uv_px: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """img (C, H, W); uv_px (..., 2) pixel coords -> (..., C) bilinear."""
    grid = torch.stack([uv_px[..., 0] / W * 2 - 1, uv_px[..., 1] / H * 2 - 1], -1)
    out = Fn.grid_sample(img[None], grid.reshape(1, -1, 1, 2), mode="bilinear",
                         padding_mode="border", align_corners=False)
    return out[0, :, :, 0].T.reshape(*uv_px.shape[:-1], img.shape[0])


def _photo_samples(sup, faces: torch.Tensor, vertices: torch.Tensor, camera: torch.Tensor,
                   img: np.ndarray, covers: np.ndarray | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One photo seen from the UV atlas: (positions and normals (S, S, 3) camera frame, the
    photo's linear colour at each texel (S, S, 3), and how well it saw each texel (S, S):
    visible, inside the crop, facing the camera, off the band inside the fitted outline and,
    given covers (H, W) in [0, 1] over the crop's pixels (glasses frames, hair strands), not
    behind what it marks)."""
    size = sup.size
    v = vertices.detach().float().cpu()
    P, N = (m[0] for m in surface_maps(sup.raster, v, faces))     # (S, S, 3) each
    H = img.shape[0]
    cam = OrthographicCamera(camera.float().cpu())
    px = cam.project(P.reshape(1, -1, 3), H, H)[0].reshape(size, size, 3)
    # visibility against the rendered depth at the same pixel
    r = MeshRenderer(faces).render(v, cam, (H, H))
    depth = r.fragments.depth[0].clone()
    depth[~torch.isfinite(depth)] = 1e9
    d_at = _sample(depth[None], px[..., :2], H, H)[..., 0]
    visible = px[..., 2] <= d_at + VISIBLE_DEPTH_TOLERANCE
    inside = (px[..., 0] >= 0) & (px[..., 0] < H) & (px[..., 1] >= 0) & (px[..., 1] < H)
    facing = ((N[..., 2] - FACING_START) / (FACING_FULL - FACING_START)).clamp(0, 1)
    # not the band inside the fitted outline, where a misfit shows background (occlusion.py)
    margin = silhouette_margin(r.fragments.face_index[0] >= 0, SILHOUETTE_MARGIN * H)
    w = facing * visible * inside * (sup.part >= 0) * _sample(margin[None], px[..., :2], H, H)[..., 0]
    if covers is not None:
        w = w * (1 - _sample(torch.as_tensor(covers, dtype=torch.float32)[None], px[..., :2], H, H)[..., 0])
    photo = srgb_to_linear(torch.as_tensor(img, dtype=torch.float32).permute(2, 0, 1) / 255.0)
    return P, N, _sample(photo, px[..., :2], H, H), w


def _one_sided(albedo: torch.Tensor, weight: torch.Tensor, zones, tested: torch.Tensor, sup) -> torch.Tensor:
    """(S, S) in [0, 1]: 1 on texels showing a one-sided occluder (asymmetry.py), 0 without
    enough reference skin to measure against."""
    feat = colour_features(albedo)
    stats = reference_skin(feat, weight, zones)
    if stats is None:
        return torch.zeros_like(weight)
    return one_sided_occluders(feat, weight, tested, sup, *stats)


def shading_trust(shading: torch.Tensor, light: torch.Tensor) -> torch.Tensor:
    """shading (S, S, 3) irradiance under light (9, 3) -> (S, S) in [0, 1]: 1 where every channel
    is at least DIM_SHADING of the ambient irradiance, falling to 0 at none."""
    ambient = float(ambient_irradiance(light).mean())
    return (shading.min(-1).values / (DIM_SHADING * max(ambient, 1e-6))).clamp(0, 1)


@dataclass
class _Photo:
    """One photo unwrapped, de-lit and tested (UV maps at the texture size)."""

    albedo: torch.Tensor      # (S, S, 3) linear
    seen: torch.Tensor        # (S, S) how well the photo saw each texel, before the skin tests
    weight: torch.Tensor      # (S, S) the same after them: what the albedo may take from it
    occluded: torch.Tensor    # (S, S) in [0, 1]: a one-sided occluder (asymmetry.py)
    light: torch.Tensor       # (9, 3) its SH light, refitted to the de-lit albedo
    key: KeyLight | None      # the hard key light it was de-lit under, if any


def _unwrap_photo(sup, zones, faces: torch.Tensor, vertices: torch.Tensor, camera: torch.Tensor,
                  light: torch.Tensor, img: np.ndarray, covers: np.ndarray | None) -> _Photo:
    """vertices (1, V, 3), camera (1, 3), light (1, 9, 3) of one photo, img its sRGB crop,
    covers (H, W) what covers the face in it (or None)."""
    is_skin = sup.skin
    plain = zones.plain
    P, N, col, w = _photo_samples(sup, faces, vertices, camera, img, covers)
    light = light.float().cpu()
    shading = sh_shading(N[None], light)[0]
    v = vertices[0].detach().float().cpu()
    key = fit_key_light(col, w * plain, N, P, light[0], sup, v, faces)
    keyed = key is not None and key.wins
    reliance = None
    if keyed:
        shading, reliance = key_shading(key, N, P, w > 0, v, faces, light[0])
    alb = (col / shading.clamp(min=0.05)).clamp(0, 1)
    w = w * shading_trust(shading, light[0])
    # the light the SH shading missed, from the skin's left/right asymmetry (delight.py),
    # measured on what the colour test takes for skin; after it, the test again
    cw = skin_colour_weight(alb, w, zones)     # hair, background, clothes: not skin
    factor = symmetric_light_factor(alb, w * cw * plain, sup, (w > 0) & is_skin, reliance)
    if factor is not None:
        alb = torch.where(is_skin[..., None], (alb * factor).clamp(0, 1), alb)
        cw = skin_colour_weight(alb, w, zones)
    if factor is not None or keyed:   # the light taken out of the albedo goes into the photo's light
        light = refit_light(alb, col, N, w * cw * plain, light[0])[None]
    # a hand or a lock of hair on one side (asymmetry.py): left out, and filled from the mirror,
    # which showed skin
    occluded = _one_sided(alb, w * cw, zones, plain & sup.has_mirror, sup)
    if keyed:   # the key's highlight on one side: filled from the mirror, as an occluder
        occluded = torch.maximum(occluded, key_highlights(alb, w * is_skin, N, key, sup) * is_skin)
    return _Photo(alb, w, w * cw * (1 - occluded), occluded, light[0], key if keyed else None)


def unwrap_albedo(model: HeadModel, vertices: torch.Tensor, cameras: torch.Tensor,
                  lights: torch.Tensor, images: list[np.ndarray], size: int = 1024,
                  skin_prior: torch.Tensor | None = None, covers: list | None = None) -> TextureResult:
    """vertices (B, V, 3) posed as fitted; cameras (B, 3) DECA cameras of each crop; lights
    (B, 9, 3); images: B sRGB uint8 crops (square). skin_prior (size, size, 3) linear: what
    unseen skin should look like (a fitted albedo model); without it, the median seen skin tone.
    covers: per image, (H, W) in [0, 1] over its pixels what covers the face (glasses frames:
    detect.glasses; loose hair strands: detect.strands), or None; left out like every unseen texel."""
    sup = uv_support(model, size)
    zones = skin_zones(model, size)
    faces = model.faces.cpu()
    valid = sup.part >= 0
    is_skin = sup.skin
    plain = zones.plain
    acc = torch.zeros(size, size, 3)
    wsum = torch.zeros(size, size)
    seen = torch.zeros(size, size)     # as wsum, before the skin-colour test
    in_front = torch.zeros(size, size)  # one-sided occluders, the most any photo showed
    refit = []                          # per photo, the SH light the de-lit albedo asks for (the
                                        # fitted one where nothing was taken out)
    keys = []                           # per photo, its hard key light or None
    photos = [_unwrap_photo(sup, zones, faces, vertices[i:i + 1], cameras[i:i + 1], lights[i:i + 1], img,
                            covers[i] if covers else None) for i, img in enumerate(images)]
    # the first photo's colour as shot, the others brought to it (another exposure or white
    # balance: equalise.py); each light by the inverse, so that albedo x light still draws its photo
    gains = photo_gains([p.albedo for p in photos], [p.weight for p in photos], lights[0].float().cpu())
    for photo, gain in zip(photos, gains):
        in_front = torch.maximum(in_front, photo.occluded)
        seen += photo.seen ** 2
        refit.append(photo.light / gain[None])
        keys.append(photo.key)
        acc += (photo.albedo * gain).clamp(0, 1) * photo.weight[..., None] ** 2
        wsum += photo.weight ** 2
    observed = (wsum.sqrt()).clamp(0, 1)
    albedo = acc / wsum.clamp(min=1e-8)[..., None]

    # mirrored completion: where the mirror point was seen better
    mirrored = _sample(torch.cat([albedo.permute(2, 0, 1), observed[None]]),
                       torch.stack([sup.mirror_uv[..., 0] * size, (1 - sup.mirror_uv[..., 1]) * size], -1), size, size)
    m_alb, m_w = mirrored[..., :3], mirrored[..., 3]
    m_w = m_w * sup.has_mirror
    # only where this side was not seen: what the colour test dropped is filled from around it,
    # as the other side's light misfit differs and would leave a patch
    # (and, as much as they were, where a one-sided occluder was: the mirror is the skin it hid)
    take = (m_w > seen.sqrt().clamp(0, 1)) & valid
    mirror_share = m_w * torch.maximum(take.float(), in_front) * valid
    tot = observed + mirror_share
    merged = (albedo * observed[..., None] + m_alb * mirror_share[..., None]) / tot.clamp(min=1e-8)[..., None]
    conf = tot.clamp(0, 1)
    source = torch.full((size, size), 2, dtype=torch.uint8)
    source[(observed > 0.05)] = 0
    source[take & (m_w > 0.05) & (observed <= 0.05)] = 1

    # skin tone prior and priors for parts
    skin_sel = sup.skin & (observed > 0.5)
    skin_tone = merged[skin_sel].median(0).values if skin_sel.any() else torch.tensor([0.45, 0.3, 0.25])
    prior = skin_tone.expand(size, size, 3).clone() if skin_prior is None else skin_prior.float().clone()
    names = model.part_names
    for pname, key in (("eye.L", "eye"), ("eye.R", "eye"), ("teeth.upper", "teeth"),
                       ("teeth.lower", "teeth"), ("tongue", "tongue")):
        if pname in names:
            prior[sup.part == names.index(pname)] = torch.tensor(PRIORS[key])
    prior[sup.mouth_interior] = torch.tensor(PRIORS["mouth"])

    if skin_prior is None:   # the person's own skin, tone and grain (skin_synthesis)
        skin = complete_skin(merged, conf, plain, zones.reference, valid, is_skin,
                             np.random.default_rng(SYNTHESIS_SEED))
    else:                    # a fitted albedo model knows what unseen skin looks like
        filled = push_pull_fill(merged, conf * valid)
        far = (1 - push_pull_fill(conf[..., None] * valid[..., None], valid.float())[..., 0].clamp(0, 1))[..., None]
        skin = filled * (1 - far) + prior * far
    base = torch.where(is_skin[..., None], skin, prior)
    out = merged * conf[..., None] + base * (1 - conf[..., None])
    out = torch.where(valid[..., None], out, push_pull_fill(out, valid.float()))
    return TextureResult(out.clamp(0, 1).numpy().astype(np.float32), observed.numpy().astype(np.float32),
                         source.numpy(), skin_tone.numpy(), conf.numpy().astype(np.float32), torch.stack(refit),
                         keys, gains)
