"""wrinkles.png: the wrinkle maps decoded live and blended from the bakes at a few expressions,
as height and shaded tiles of the face region of the UV layout, side by side; first the dynamic
part alone (D - D at neutral), so the wrinkles show without the static detail."""
from __future__ import annotations

import cv2
import numpy as np

from ..wrinkles.anatomy import GROUPS
from ..wrinkles.bake import WrinkleBake, keys_for
from .face_chart import FacePicture

DYNAMIC_SCALE_M = 0.0002   # the dynamic part's height tiles: +-0.2 mm is black to white

MIX = {"browInnerUp": 0.6, "mouthSmileLeft": 0.7, "eyeSquintLeft": 0.5, "noseSneerRight": 0.4}


def picture_expressions(model) -> dict:
    """name -> (expression weights, jaw) for wrinkles.png: neutral, each bake key's pose, jaw open
    and a one-sided mix (ARKit models); neutral and each key (others)."""
    keys = keys_for(model)
    rows = {"neutral": ({}, 0.0), **{k: (w, keys.jaw.get(k, 0.0)) for k, w in keys.expressions.items()}}
    if set(keys.expressions) == set(GROUPS):
        rows |= {"jaw open": ({}, 0.3), "mix": (MIX, 0.1)}
    return rows


def _label(img, text):
    img = np.ascontiguousarray(img)
    cv2.putText(img, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, 255, 1, cv2.LINE_AA)
    return img


def wrinkles_picture(model, decoder, baked: WrinkleBake, code: np.ndarray, residual: np.ndarray | None,
                     pic: FacePicture) -> np.ndarray:
    """Rows: expressions; columns: the live dynamic part (height at +-DYNAMIC_SCALE_M, and lit at
    a grazing angle), D live, shaded live, D blended, shaded blended (grey images)."""
    rows = []
    res = 0 if residual is None else residual
    rest = decoder.decode(code[None], np.zeros((1, model.n_expression), np.float32), np.zeros((1, 3), np.float32))[0]
    for name, (expr, jaw) in picture_expressions(model).items():
        e = np.zeros((1, model.n_expression), np.float32)
        for k, w in expr.items():
            e[0, model.expression_names.index(k)] = w
        j = np.array([[jaw, 0, 0]], np.float32)
        live = decoder.decode(code[None], e, j)[0] + res
        blended = baked.blend(e, j[:, 0])[0] + res
        dynamic = live - res - rest
        tiles = [pic.height(dynamic, DYNAMIC_SCALE_M), pic.grazing(dynamic), pic.height(live), pic.shaded(live),
                 pic.height(blended), pic.shaded(blended)]
        tiles = [cv2.resize(t, (t.shape[1] * 2, t.shape[0] * 2), interpolation=cv2.INTER_LINEAR) for t in tiles]
        labels = (f"{name}: D - D neutral", "dynamic, grazing light", "D live", "shaded, live", "D from bakes",
                  "shaded, bakes")
        tiles = [_label(t, text) for t, text in zip(tiles, labels)]
        rows.append(np.concatenate(tiles, 1))
    return np.concatenate(rows, 0)
