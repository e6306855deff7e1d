"""A linear albedo model in a head model's UV layout, from the user's own file (FLAME only;
nothing of it ships): mean + basis @ code.

Two files in the wild, both NumPy .npz with a square RGB texture flattened row-major as
(S, S, 3) in B, G, R channel order, row 0 at v = 1:
- `FLAME_albedo_from_BFM.npz` (the BFM_to_FLAME conversion): keys MU (mean) and PC (199
  components), values in [0, 1];
- `FLAME_texture.npz` (FLAME's own texture space): keys mean and tex_dir (200 components),
  values in [0, 255].
Their colours are photo-like (sRGB-encoded, as DECA renders them without a gamma); the model
returns linear RGB, as the rest of the project uses, by decoding sRGB.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..imageio.color import srgb_to_linear
from .openhead import ModelFileError

KINDS = {  # keys -> (kind, mean key, basis key, value scale)
    ("MU", "PC"): ("BFM", "MU", "PC", 1.0),
    ("mean", "tex_dir"): ("FLAME", "mean", "tex_dir", 1.0 / 255.0),
}


class AlbedoModel(torch.nn.Module):
    """forward(code (B, <= n)) -> (B, 3, S, S) linear RGB albedo in [0, 1], UV layout."""

    def __init__(self, path: str | Path, n_components: int = 50, size: int | None = None):
        super().__init__()
        path = Path(path).expanduser()
        if not path.is_file():
            raise ModelFileError(f"albedo model {path} not found. Give your FLAME_albedo_from_BFM.npz or "
                                 "FLAME_texture.npz (from the FLAME site) with --flame-albedo, or leave it out.")
        try:
            data = np.load(path, allow_pickle=False)
            keys = set(data.files)
        except Exception as e:  # noqa: BLE001 - any unreadable file gets the same message
            raise ModelFileError(f"{path} is not a readable .npz albedo model ({e})") from e
        found = [k for k in KINDS if set(k) <= keys]
        if not found:
            raise ModelFileError(f"{path} has keys {sorted(keys)}; an albedo model needs MU and PC "
                                 "(FLAME_albedo_from_BFM.npz) or mean and tex_dir (FLAME_texture.npz)")
        self.kind, mean_key, basis_key, scale = KINDS[found[0]]
        mean = np.asarray(data[mean_key], np.float32).reshape(-1)
        S = int(round(np.sqrt(mean.size / 3)))
        if S * S * 3 != mean.size:
            raise ModelFileError(f"{path}: {mean_key} has {mean.size} values, not a square RGB texture")
        basis = np.asarray(data[basis_key], np.float32).reshape(mean.size, -1)
        n = min(n_components, basis.shape[1])
        # (S, S, 3) BGR -> (3, S, S) RGB
        to_chw = lambda a: torch.from_numpy(np.ascontiguousarray(  # noqa: E731
            a.reshape(S, S, 3, -1)[:, :, ::-1].transpose(3, 2, 0, 1) * scale))
        mean_t, basis_t = to_chw(mean[:, None])[0], to_chw(basis[:, :n])
        if size is not None and size != S:
            resize = lambda t: torch.nn.functional.interpolate(  # noqa: E731
                t, size=(size, size), mode="bilinear", align_corners=False, antialias=size < S)
            mean_t, basis_t, S = resize(mean_t[None])[0], resize(basis_t), size
        self.path = str(path.resolve())
        self.size = S
        self.n_components = n
        self.register_buffer("mean", mean_t)        # (3, S, S) sRGB-encoded, [0, 1]
        self.register_buffer("basis", basis_t)      # (n, 3, S, S)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        c = code[:, :self.n_components]
        srgb = self.mean[None] + torch.einsum("bn,nchw->bchw", c, self.basis[:c.shape[1]])
        return srgb_to_linear(srgb.clamp(0.0, 1.0))
