"""The OpenHead detail decoder: smooth gates from the latent times learned UV detail textures.

Expression wrinkles are fixed furrow patterns in fixed anatomical places whose depth follows
where and how strongly the skin is compressed. A generic conv decoder from an 8x8 latent
(DECA's layout, `networks.DetailDecoder`) has to rebuild every furrow through five upsampling
stages and learns them slowly; this decoder splits the two scales instead:

- gates: latent (jaw 3, expression E, code 128) -> Linear -> 128 x 8 x 8 -> three (bilinear x2,
  conv 3x3, LeakyReLU) stages -> K x S/4 x S/4, bilinearly upsampled to S x S. Smooth fields:
  where each furrow family is active, how deep, in which direction.
- textures: K learned S x S UV maps (the furrow patterns and pores), made left/right symmetric
  by reading right-side texels from their mirror texel on the left.
- D = 0.01 * tanh(0.1 * sum_k gate_k * texture_k) metres (the sum is in millimetres; the tanh
  keeps DECA's +-1 cm range), zero outside the skin chart.

Same input layout and output shape (B, 1, S, S) as `DetailDecoder`, so both serve behind
`decoder.WrinkleDecoder` and export to ONNX the same way.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as Fn


class GatedTextureDecoder(nn.Module):
    def __init__(self, latent_dim: int, size: int = 256, channels: int = 48,
                 mirror_index: torch.Tensor | None = None, support: torch.Tensor | None = None):
        """mirror_index (S*S,) long: the texel each texel reads its texture from (identity when
        None); support (S, S) {0, 1}: texels that may carry detail (all when None). Both are
        saved in the state dict, so a loaded decoder needs no head model."""
        super().__init__()
        if size % 32:
            raise ValueError(f"size must be a multiple of 32, got {size}")
        self.latent_dim, self._size, self.channels = latent_dim, size, channels
        base = size // 32
        self.l1 = nn.Linear(latent_dim, 128 * base * base)
        self.gates = nn.Sequential(
            nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(128, 128, 3, 1, 1), nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(128, 96, 3, 1, 1), nn.LeakyReLU(0.2),
            nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(96, channels, 3, 1, 1))
        self.textures = nn.Parameter(0.1 * torch.randn(channels, size, size))
        if mirror_index is None:
            mirror_index = torch.arange(size * size)
        if support is None:
            support = torch.ones(size, size)
        self.register_buffer("mirror_index", mirror_index.long().reshape(-1))
        self.register_buffer("support", support.float().reshape(size, size))

    @property
    def size(self) -> int:
        return self._size

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """latent (B, latent_dim) -> (B, 1, S, S) metres."""
        B, S = latent.shape[0], self._size
        g = self.gates(self.l1(latent).view(B, 128, S // 32, S // 32))
        g = Fn.interpolate(g, size=(S, S), mode="bilinear", align_corners=False)
        tex = self.textures.reshape(self.channels, -1)[:, self.mirror_index].reshape(1, self.channels, S, S)
        mm = (g * tex).sum(1, keepdim=True) * self.support
        return 0.01 * torch.tanh(0.1 * mm)


def symmetry_tables(model, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mirror_index (S*S,), support (S, S)) for a head model: nearest texel of each texel's left
    source (see texture.unwrap.UVSupport.left_grid) and the skin chart."""
    from ..texture.unwrap import uv_support

    sup = uv_support(model, size)
    g = sup.left_grid[0]
    col = ((g[..., 0] + 1) * 0.5 * size - 0.5).round().long().clamp(0, size - 1)
    row = ((g[..., 1] + 1) * 0.5 * size - 0.5).round().long().clamp(0, size - 1)
    return (row * size + col).reshape(-1), (sup.part == 0).float()
