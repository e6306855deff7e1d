"""report.png: the picture to look at first after a reconstruction."""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from ..headmodel import HeadModel, HeadPose
from ..imageio.color import linear_to_srgb, to_uint8
from ..render import MeshRenderer, OrthographicCamera, default_light
from .face_chart import FacePicture

TILE = 320


def _tile(img: np.ndarray, label: str) -> np.ndarray:
    t = cv2.resize(img, (TILE, TILE), interpolation=cv2.INTER_AREA if img.shape[0] > TILE else cv2.INTER_LINEAR)
    t = np.ascontiguousarray(t)
    cv2.rectangle(t, (0, 0), (TILE, 20), (0, 0, 0), -1)
    cv2.putText(t, label, (5, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return t


def landmarks_tile(image: np.ndarray, detected: np.ndarray, fitted: np.ndarray,
                   irises: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Dots for the 68 points; rings for the irises (detected, NaN rows skipped) and crosses for
    the fitted iris centres. Same colours: detected green, fitted red."""
    out = image.copy()
    r = max(1, image.shape[0] // 180)
    for p in detected:
        cv2.circle(out, (int(round(p[0])), int(round(p[1]))), r, (0, 255, 0), -1, cv2.LINE_AA)
    for p in fitted:
        cv2.circle(out, (int(round(p[0])), int(round(p[1]))), r, (255, 40, 40), -1, cv2.LINE_AA)
    if irises is not None:
        seen, fit = irises
        for p in seen:
            if np.isfinite(p).all():
                cv2.circle(out, (int(round(p[0])), int(round(p[1]))), 4 * r, (0, 255, 0), 1, cv2.LINE_AA)
        for p in fit:
            cv2.drawMarker(out, (int(round(p[0])), int(round(p[1]))), (255, 40, 40), cv2.MARKER_CROSS, 6 * r, 1)
    return out


def _relief_tile(model: HeadModel, displacement: np.ndarray) -> np.ndarray:
    """The face's static relief lit at a grazing angle, forehead up, in a square tile."""
    g = FacePicture(model, displacement.shape[0]).grazing(displacement)
    side = max(g.shape)
    sq = np.zeros((side, side), np.uint8)
    y, x = (side - g.shape[0]) // 2, (side - g.shape[1]) // 2
    sq[y:y + g.shape[0], x:x + g.shape[1]] = g
    return _tile(np.repeat(sq[..., None], 3, 2), "relief, grazing light")


VIEWS = (-30, 0, 30)             # yaws (degrees) under the photo's fitted light
SIDE_VIEWS = (-90, 90, 180)      # yaws under a neutral light: the skin the photo did not show


def _neutral_views(model: HeadModel, shape: torch.Tensor, texture_linear: torch.Tensor,
                   light: torch.Tensor) -> list[np.ndarray]:
    """The neutral head textured at VIEWS (fitted light) and SIDE_VIEWS (neutral light), then
    its bare shape from the front."""
    rr = MeshRenderer(model.faces, model.uv_layout.uv, model.uv_layout.faces)
    cam = OrthographicCamera(torch.tensor([[6.0, 0.0, 0.03]]))
    yaws = VIEWS + SIDE_VIEWS
    pose = HeadPose.zeros(len(yaws))
    pose.global_rot[:, 1] = torch.tensor([math.radians(y) for y in yaws])
    lights = torch.cat([light if yaw in VIEWS else default_light() for yaw in yaws])
    with torch.no_grad():                                  # all the views as one batch
        out = model(shape=shape.expand(len(yaws), -1), pose=pose)
        r = rr.render(out.vertices, cam, (TILE, TILE), light=lights, texture=texture_linear, background=0.05)
    tiles = []
    for i, yaw in enumerate(yaws):
        label = "behind" if yaw == 180 else f"yaw {yaw:+d}"
        tiles.append(_tile(to_uint8(linear_to_srgb(r.image[i])),
                           f"neutral, {label}" + (", neutral light" if yaw in SIDE_VIEWS else "")))
    with torch.no_grad():
        g = rr.render(model(shape=shape).vertices, cam, (TILE, TILE), light=default_light(), background=0.05,
                      vertex_colors=torch.full((1, model.n_vertices, 3), 0.3))
    return tiles + [_tile(to_uint8(linear_to_srgb(g.image[0])), "shape, neutral")]


def build_report(model: HeadModel, shape: torch.Tensor, crops: list[np.ndarray], renders: list[np.ndarray],
                 alphas: list[np.ndarray], detected: list[np.ndarray], fitted: list[np.ndarray],
                 albedo_srgb: np.ndarray, displacement: np.ndarray, normal_map: np.ndarray,
                 texture_linear: torch.Tensor, light: torch.Tensor,
                 irises: list[tuple[np.ndarray, np.ndarray]] | None = None, texture_note: str = "",
                 relief_note: str = "") -> np.ndarray:
    """irises: per photo (detected (2, 2) with NaN rows, fitted (2, 2)), crop pixels; texture_note:
    why the albedo has its size, relief_note how finely the photo saw the displacement (each
    shown beside its map)."""
    rows = []
    for i, crop in enumerate(crops):
        over = (crop * (1 - 0.7 * alphas[i][..., None]) + renders[i] * 0.7 * alphas[i][..., None]).astype(np.uint8)
        tile = landmarks_tile(crop, detected[i], fitted[i], irises[i] if irises else None)
        row = [_tile(tile, f"photo {i + 1}: detected (green) / fitted (red)"),
               _tile(over, "render over photo"), _tile(renders[i], "render")]
        if i == 0:
            d = displacement
            dv = np.clip(d / (np.abs(d).max() + 1e-9) * 0.5 + 0.5, 0, 1)
            label = f"albedo {albedo_srgb.shape[0]} px" + (f" ({texture_note})" if texture_note else "")
            row += [_tile(albedo_srgb, label), _tile(to_uint8(np.repeat(dv[..., None], 3, 2)),
                                                    "displacement" + (f" ({relief_note})" if relief_note else "")),
                    _tile(to_uint8((normal_map + 1) / 2), "normal map")]
            if set(FacePicture.REGIONS) <= set(model.region_names):   # e.g. FLAME without its masks: none
                row.append(_relief_tile(model, displacement))
        rows.append(row)
    rows.append(_neutral_views(model, shape, texture_linear, light))
    width = max(len(r) for r in rows)
    blank = np.zeros((TILE, TILE, 3), np.uint8)
    return np.concatenate([np.concatenate(r + [blank] * (width - len(r)), 1) for r in rows], 0)
