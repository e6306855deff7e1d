"""The OpenHead detail decoder: smooth gates from the latent times learned UV detail textures.

Expression wrinkles are fixed furrow patterns in fixed anatomical places whose depth follows
where and how strongly the skin is compressed. A generic conv decoder from an 8x8 latent
(DECA's layout, `networks.DetailDecoder`) has to rebuild every furrow through five upsampling
stages and learns them slowly; this decoder splits the two scales instead:

- textures: M x K learned S x S furrow textures (M line patterns/densities x K orientations),
  made left/right symmetric by reading right-side texels from their mirror texel on the left,
  and one pore texture (not mirrored: pores are not symmetric).
- the gates, from an MLP of the latent (jaw 3, expression E, code 128): a depth field A(uv) and K
  orientation logits, each a latent-weighted sum of J learned S/4 x S/4 smooth bases (bilinearly
  upsampled), the orientations softmax-normalised per texel; a softmax over the M patterns (the
  person's line pattern); a pore strength.
- D = 0.01 * tanh(0.1 * mm) metres, mm = A * sum_k orient_k * sum_m mix_m * T_mk + pores * T_pore
  (the tanh keeps DECA's +-1 cm range), zero outside the skin chart.

This is the structure of real expression lines (where and how deep x which oriented furrow
pattern), so it learns from few examples; an unstructured version (free gates per texture) had
not learned the forehead lines after 1,100 CPU steps. The texture bank starts from the training
generator's furrow shapes (training/wrinkle_generator.basis_textures) and is fine-tuned.

Same input layout and output shape (B, 1, S, S) as `DetailDecoder`, so both serve behind
`decoder.WrinkleDecoder` and export to ONNX the same way.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as Fn

from ..headmodel.openhead import ASSETS, ModelFileError
from .deca_checkpoint import load_strict

OPENHEAD_DECODER = ASSETS / "detail" / "openhead_detail.pt"       # torch weights (fitting, training)
OPENHEAD_DECODER_ONNX = ASSETS / "detail" / "openhead_detail.onnx"  # the same network for onnxruntime
CODE_DIM = 128   # person detail code, as DECA's


class GatedTextureDecoder(nn.Module):
    def __init__(self, latent_dim: int, size: int = 256, n_mix: int = 8, n_orient: int = 8,
                 mirror_index: torch.Tensor | None = None, support: torch.Tensor | None = None,
                 n_basis: int = 64, hidden: int = 256, latent_perm: torch.Tensor | None = None,
                 latent_sign: torch.Tensor | None = None):
        """Textures: n_mix * n_orient furrow textures (mix-major) + 1 pore texture.
        mirror_index (S*S,) long: the left-side texel each right-side texel mirrors (itself on
        the left; identity when None); support (S, S) {0, 1}: texels that may carry detail;
        latent_perm/latent_sign (latent_dim,): the latent of the mirrored face (Left <-> Right
        expressions, jaw (x, -y, -z)). The right half of the face is the left half's response to
        the mirrored latent, so the decoder is left/right equivariant by construction. All are
        saved in the state dict, so a loaded decoder needs no head model."""
        super().__init__()
        if size % 4:
            raise ValueError(f"size must be a multiple of 4, got {size}")
        self.latent_dim, self._size, self.n_basis = latent_dim, size, n_basis
        self.n_mix, self.n_orient = n_mix, n_orient
        self.trunk = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                   nn.LeakyReLU(0.2))
        self.amplitude = nn.Linear(hidden, n_basis)              # depth field coefficients
        self.orientation = nn.Linear(hidden, n_basis * n_orient)  # orientation logit coefficients
        self.mix = nn.Linear(hidden, n_mix)                      # which line pattern and density
        self.pores = nn.Linear(hidden, 1)                        # static micro-detail strength
        self.basis = nn.Parameter(0.1 * torch.randn(n_basis, size // 4, size // 4))
        self.textures = nn.Parameter(0.1 * torch.randn(n_mix * n_orient + 1, size, size))
        if mirror_index is None:
            mirror_index = torch.arange(size * size)
        if support is None:
            support = torch.ones(size, size)
        self.register_buffer("mirror_index", mirror_index.long().reshape(-1))
        self.register_buffer("is_right", (self.mirror_index != torch.arange(size * size)).reshape(1, 1, size, size))
        self.register_buffer("latent_perm", torch.arange(latent_dim) if latent_perm is None else latent_perm.long())
        self.register_buffer("latent_sign", torch.ones(latent_dim) if latent_sign is None else latent_sign.float())
        self.register_buffer("support", support.float().reshape(size, size))
        self.register_buffer("layout", torch.tensor([n_mix, n_orient]))
        self._mirrored_cache: tuple | None = None

    def _mirrored_textures(self) -> torch.Tensor:
        """(M, K, S, S) the furrow textures with right-side texels read from their left mirror.
        Frozen textures (fitting a person code: 80 decodes a photo) gather once, not per decode
        (half of a decode's time on this CPU); training regathers every step."""
        M, K, S = self.n_mix, self.n_orient, self._size
        gather = lambda: self.textures[:-1].reshape(M * K, -1)[:, self.mirror_index].reshape(M, K, S, S)  # noqa: E731
        if torch.jit.is_tracing():   # an ONNX export: the gathered bank is a constant of the graph
            with torch.no_grad():
                return gather().detach()
        if self.textures.requires_grad and torch.is_grad_enabled():
            return gather()   # training
        key = (self.textures.data_ptr(), self.textures._version, self.textures.device)
        if self._mirrored_cache is None or self._mirrored_cache[0] != key:
            with torch.no_grad():
                self._mirrored_cache = (key, gather())
        return self._mirrored_cache[1]

    @property
    def size(self) -> int:
        return self._size

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """latent (B, latent_dim) -> (B, 1, S, S) metres."""
        B, S, K = latent.shape[0], self._size, self.n_orient
        mirrored = latent[:, self.latent_perm] * self.latent_sign
        h = self.trunk(torch.cat([latent, mirrored]))
        up = lambda x: Fn.interpolate(x, size=(S, S), mode="bilinear", align_corners=False)  # noqa: E731
        fields = up(torch.einsum("bjc,jhw->bchw", torch.cat([self.amplitude(h)[:, :, None],
                                                               self.orientation(h).view(2 * B, self.n_basis, K)], 2),
                                 self.basis))                                                   # (2B, 1 + K, S, S)
        own, other = fields[:B], fields[B:].flatten(2)[:, :, self.mirror_index].view(B, 1 + K, S, S)
        fields = torch.where(self.is_right, other, own)       # right side: the mirrored left side
        amp, orient = fields[:, :1], _softmax_channels(fields[:, 1:])                          # (B, 1|K, S, S)
        h = h[:B]
        mix = torch.softmax(self.mix(h), dim=1)                                               # (B, M)
        furrow = (mix @ self._mirrored_textures().reshape(self.n_mix, -1)).view(B, K, S, S)   # (B, K, S, S)
        mm = amp[:, 0] * (orient * furrow).sum(1) + self.pores(h)[:, :, None] * self.textures[-1]
        return 0.01 * torch.tanh(0.1 * mm * self.support)[:, None]


def _softmax_channels(x: torch.Tensor) -> torch.Tensor:
    """Softmax over dim 1 of (B, C, H, W), written out: onnxruntime's Softmax on a non-last axis
    transposes the tensor (5.8 of a decode's 14 ms on this CPU); max, exp, sum and divide do not."""
    e = torch.exp(x - x.amax(dim=1, keepdim=True))
    return e / e.sum(dim=1, keepdim=True)


def latent_mirror(model, code_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(perm, sign) over the latent (jaw 3, expression E, code): the mirrored face's latent is
    latent[perm] * sign: ...Left <-> ...Right expressions, jaw axis-angle (x, -y, -z)."""
    names = list(model.expression_names)
    perm = list(range(3))
    for n in names:
        twin = n.replace("Left", "\0").replace("Right", "Left").replace("\0", "Right")
        perm.append(3 + names.index(twin if twin in names else n))
    perm += list(range(3 + len(names), 3 + len(names) + code_dim))
    sign = torch.ones(len(perm))
    sign[1:3] = -1.0
    return torch.tensor(perm), sign


def symmetry_tables(model, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mirror_index (S*S,), support (S, S)) for a head model: nearest texel of each texel's left
    source (see uvspace.atlas.UVSupport.left_grid) and the skin chart."""
    from ..uvspace import uv_support

    sup = uv_support(model, size)
    g = sup.left_grid[0]
    col = ((g[..., 0] + 1) * 0.5 * size - 0.5).round().long().clamp(0, size - 1)
    row = ((g[..., 1] + 1) * 0.5 * size - 0.5).round().long().clamp(0, size - 1)
    return (row * size + col).reshape(-1), (sup.part == 0).float()


def load_openhead_decoder(path: Path = OPENHEAD_DECODER, n_expression: int = 52) -> GatedTextureDecoder | None:
    """The trained OpenHead decoder (torch), or None when the weights are not there."""
    path = Path(path)
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    tex, layout, basis = state.get("textures"), state.get("layout"), state.get("basis")
    if tex is None or tex.ndim != 3 or layout is None or basis is None:
        raise ModelFileError(f"{path}: not an OpenHead detail decoder (no textures/layout/basis); "
                             "rebuild it with headsmith-train detail --export assets/detail")
    with torch.device("meta"):   # no random initial weights: the file's replace them all
        net = GatedTextureDecoder(3 + n_expression + CODE_DIM, size=tex.shape[1], n_mix=int(layout[0]),
                                  n_orient=int(layout[1]), n_basis=basis.shape[0])
    load_strict(net, state, "OpenHead detail decoder", path)
    return net.eval()
