"""Contact sheet of a head model: expressions, jaw bone and head yaw, with its 68 landmarks."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from ..headmodel import HeadModel, HeadPose
from ..headmodel.appearance import part_colors
from ..render import MeshRenderer, OrthographicCamera, default_light


@dataclass
class Tile:
    label: str
    expression: dict[str, float] = field(default_factory=dict)
    yaw_deg: float = 0.0
    jaw_deg: float = 0.0


TILES = [
    Tile("neutral"),
    Tile("jawOpen", {"jawOpen": 1.0}),
    Tile("smile", {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0}),
    Tile("browInnerUp+browOuterUp", {"browInnerUp": 1.0, "browOuterUpLeft": 1.0, "browOuterUpRight": 1.0}),
    Tile("eyeBlink", {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}),
    Tile("mouthPucker", {"mouthPucker": 1.0}),
    Tile("noseSneer", {"noseSneerLeft": 1.0, "noseSneerRight": 1.0}),
    Tile("jaw bone open 15 deg", jaw_deg=15.0),
    Tile("yaw -30", yaw_deg=-30.0),
    Tile("yaw +30", yaw_deg=30.0),
]

SHEET_SCALE = 6.0   # orthographic scale: the head fills ~2/3 of a tile
SHEET_TY = 0.03     # metres: centres the face vertically


def render_tile(model: HeadModel, renderer: MeshRenderer, tile: Tile, size: int,
                shape: torch.Tensor | None = None, embedding=None):
    """-> (RGB uint8 image (size, size, 3), landmark pixels (N, 2): the 68 iBUG points, or the
    given embedding's (HeadModel.landmark_set))."""
    expr = model.expression_vector(tile.expression)
    pose = HeadPose.zeros(1)
    pose.global_rot[0, 1] = math.radians(tile.yaw_deg)
    pose.jaw[0, 0] = math.radians(tile.jaw_deg)
    out = model(shape=shape, expression=expr, pose=pose, embedding=embedding)
    cam = OrthographicCamera(torch.tensor([[SHEET_SCALE, 0.0, SHEET_TY]]))
    with torch.no_grad():
        r = renderer.render(out.vertices, cam, (size, size), light=default_light(),
                            vertex_colors=part_colors(model, out.rest_vertices), background=0.35)
        lmk = cam.project(out.landmarks3d, size, size)[0, :, :2].numpy()
    img = (r.image[0].clamp(0, 1) ** (1 / 2.2) * 255).round().to(torch.uint8).numpy()
    return img, lmk


def draw_landmarks(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
    out = img.copy()
    r = max(1, img.shape[0] // 200)
    for k, (x, y) in enumerate(pts):
        color = (255, 210, 0) if k < 17 else (0, 255, 90)
        cv2.circle(out, (int(round(x)), int(round(y))), r, color, -1, cv2.LINE_AA)
    return out


def contact_sheet(model: HeadModel, size: int = 384, columns: int = 5) -> np.ndarray:
    renderer = MeshRenderer(model.faces)
    tiles = []
    for t in TILES:
        img, lmk = render_tile(model, renderer, t, size)
        img = draw_landmarks(img, lmk)
        cv2.putText(img, t.label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1,
                    cv2.LINE_AA)
        tiles.append(img)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i:i + columns], 1) for i in range(0, len(tiles), columns)]
    return np.concatenate(rows, 0)
