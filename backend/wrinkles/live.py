"""Live wrinkles for one avatar: re-decode the detail at any expression and turn it into the
tangent-space normal map the Blender material shows (the service's fast path).

normal(expression, jaw) = tangent normals of sharpen(F_d(code, expression, jaw) + residual), on the
avatar's own neutral surface, in the bundle's UV layout (row 0 at v = 1), 8-bit RGB.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..bundle.io import read_bundle, read_detail_residual
from .decoder import UVGeometry, WrinkleDecoder, normal_map_rgb8


class LiveWrinkles:
    def __init__(self, bundle: Path, model, decoder: WrinkleDecoder, texture_size: int = 1024):
        meta = read_bundle(bundle)
        if "detail" not in meta:
            raise ValueError(f"{bundle} has no detail code (reconstructed without the detail decoder)")
        self.expression_names = list(model.expression_names)
        self.code = np.asarray(meta["detail"]["code"], np.float32)[None]
        residual = read_detail_residual(bundle, meta)
        self.residual = 0.0 if residual is None else residual
        with torch.no_grad():
            verts = model(shape=torch.tensor([meta["parameters"]["shape"]], dtype=torch.float32)).vertices
        self.geometry = UVGeometry.of(model, verts, texture_size)
        self.decoder, self.size = decoder, texture_size
        self.pores = decoder.rest(self.code[0]) if decoder.rest_is_pores else None   # as the bake's

    def expression_vector(self, values: dict) -> np.ndarray:
        """{shape key name: weight} -> (E,) ; unknown names are an error (a typo must not pass)."""
        e = np.zeros(len(self.expression_names), np.float32)
        for k, w in values.items():
            if k not in self.expression_names:
                raise KeyError(f"unknown expression {k!r}")
            e[self.expression_names.index(k)] = float(w)
        return e

    def displacement(self, expression: np.ndarray, jaw: np.ndarray) -> np.ndarray:
        """(E,), (3,) -> (S, S) metres at the decoder's resolution."""
        return self.decoder.decode(self.code, expression[None], jaw[None])[0] + self.residual

    def normal_rgb(self, expression: np.ndarray, jaw: np.ndarray, alpha: bool = False) -> np.ndarray:
        """-> (T, T, 3) uint8 tangent-space normal map (OpenGL, +Y = +v); (T, T, 4) with an opaque
        alpha channel when `alpha`."""
        return normal_map_rgb8(self.geometry, self.displacement(expression, jaw)[None], alpha, self.pores)[0]
