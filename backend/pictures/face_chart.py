"""Upright crops of the face chart of UV maps, for pictures: the height of a displacement map,
and its relief shaded by a soft light or lit at a grazing angle (how the skin will read in a
render)."""
from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as Fn

from ..render import GradientFrame, sh_shading

GRAZING_DEG = 75.0


class FacePicture:
    """Upright crops of the face region of UV maps, for pictures (the OpenHead face chart lies on
    its side)."""

    REGIONS = ("face", "forehead", "mouth")   # the model regions it needs

    def __init__(self, model, size: int):
        from ..uvspace import surface_maps, uv_support

        self.raster = uv_support(model, size).raster
        v = model.v_template[None].cpu()
        self.P, self.N = surface_maps(self.raster, v, model.faces.cpu())
        self.frame = GradientFrame.of(self.P, self.N, self.raster.mask)
        from scipy.ndimage import label

        from ..render import interpolate

        def uv_mask(name):
            r = model.vertex_regions[model.region_names.index(name)].cpu()
            return (interpolate(self.raster.fragments, model.faces.cpu(), r[None, :, None])[0, ..., 0] > 0.5).numpy()

        fm = uv_mask("face")
        lab, n = label(fm)
        if n > 1:   # the face chart only (eyeball and cavity charts elsewhere carry bits of 'face')
            fm = lab == (np.bincount(lab.ravel())[1:].argmax() + 1)
        ys, xs = np.nonzero(fm)
        pad = size // 40
        self.box = (max(ys.min() - pad, 0), min(ys.max() + pad, size), max(xs.min() - pad, 0), min(xs.max() + pad, size))
        self.light = torch.zeros(1, 9, 3)
        self.light[0, 0], self.light[0, 2], self.light[0, 3] = 2.0, 0.9, 0.7
        # turn the crop so the forehead is on top
        up = np.array(np.nonzero(uv_mask("forehead") & fm)).mean(1) - np.array(np.nonzero(uv_mask("mouth") & fm)).mean(1)
        dr, dc = up
        if abs(dc) > abs(dr):
            self.rotate = cv2.ROTATE_90_CLOCKWISE if dc < 0 else cv2.ROTATE_90_COUNTERCLOCKWISE
        else:
            self.rotate = None if dr < 0 else cv2.ROTATE_180

    def crop(self, img: np.ndarray) -> np.ndarray:
        y0, y1, x0, x1 = self.box
        c = img[y0:y1, x0:x1]
        return cv2.rotate(c, self.rotate) if self.rotate is not None else c

    def shaded(self, D: np.ndarray) -> np.ndarray:
        n = self.frame.bumped_normals(torch.as_tensor(D, dtype=torch.float32)[None])
        s = sh_shading(n, self.light)[0, ..., 0].clamp(0, 2.2) / 2.2
        return self.crop((s.numpy() * 255).astype(np.uint8))

    def height(self, D: np.ndarray, scale: float = 0.001) -> np.ndarray:
        return self.crop((np.clip(D / scale * 0.5 + 0.5, 0, 1) * 255).astype(np.uint8))

    def grazing(self, D: np.ndarray) -> np.ndarray:
        """Relief D (S, S) metres lit at a grazing angle: Lambert shading of the detailed normal
        over that of the smooth normal, for a light GRAZING_DEG off the smooth normal from above
        the head (+y, where forehead lines and crow's feet catch it). Flat skin is mid grey; a
        ridge is light on its upper side and dark below. -> uint8 upright crop."""
        n = self.frame.bumped_normals(torch.as_tensor(D, dtype=torch.float32)[None])[0]
        n0 = Fn.normalize(self.N[0], dim=-1, eps=1e-12)
        up = torch.tensor([0.0, 1.0, 0.0])
        along = Fn.normalize(up - (n0 * up).sum(-1, keepdim=True) * n0, dim=-1, eps=1e-12)   # "up" on the skin
        a = math.radians(GRAZING_DEG)
        light = n0 * math.cos(a) + along * math.sin(a)
        ratio = (n * light).sum(-1).clamp(min=0) / (n0 * light).sum(-1).clamp(min=1e-3)
        grey = (ratio.clamp(0, 2) * 0.5 * self.raster.mask).numpy()
        return self.crop((grey * 255).round().astype(np.uint8))
