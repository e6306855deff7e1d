"""Person detail from a photo: the decoder's person code and a residual static map, fitted by
shape from shading with the decoder in the loop, so that re-decoding at the photo's own
expression reproduces the detail seen in the photo, and other expressions move the wrinkles.

D(photo) = F_d(code, expression_photo, jaw_photo) + residual. The residual the bundle keeps (and
the static map) leaves out what lies where the photo's expression compresses the skin
(expression_strain.py): a smile's creases are not the face at rest. Of the fitted residual only
the relief that forms lines off the albedo's edges is kept (line_relief.py). The code's
meaningful dims (the first 8 for the OpenHead decoder: depth, age, density, pores, 4 pattern
weights) live in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..headmodel import HeadModel
from ..optim import Adam
from ..wrinkles.texture_decoder import CODE_DIM
from .expression_strain import expression_compression
from .line_relief import line_relief
from .photo_resolution import band_limit
from .static import prepare_sfs, tangent_normal_map

PERSON_DIMS = 8
CODE_SHARE = 0.25     # share of the steps, the last ones, that move the code too (benchmarks/NOTES.md)
CODE_STEP = 0.05      # Adam step of the code (logit space) when every step moves it; fewer steps, larger ones
RESIDUAL_STEP = 0.02  # Adam step of the residual (tanh space); how it was set: benchmarks/NOTES.md
RESIDUAL_SPARSITY = 0.2   # L1 weight on the residual: relief only where the photo's shading demands it
RESIDUAL_MAX = 0.0005  # metres: what the code cannot explain stays small (SfS also reads albedo
                       # edges and hair as relief; a larger bound shows them as cracks)
ALBEDO_LOWPASS = 96   # the low-pass albedo's sigma is size / this (static.py's is 48): the decoder
                      # draws lines and pores, so the residual explains only shading finer than
                      # about 5 mm; skin's broader blotches stay albedo, not lumps (benchmarks/NOTES.md)
# the code's starting point and prior: a typical adult (mid depth and age), one dominant line
# pattern at one density (an even mix of the generator's patterns averages their furrows away)
PERSON_PRIOR = (0.5, 0.5, 0.1, 0.5, 0.85, 0.05, 0.05, 0.05)


@dataclass
class PersonDetail:
    code: np.ndarray            # (128,)
    residual: np.ndarray        # (S, S) metres, at rest: the photo's residual less its expression's creases
    static: np.ndarray          # (S, S) metres: decoder at neutral + residual (the neutral map)
    at_photo: np.ndarray        # (S, S) metres: decoder at the photo's expression + residual
    normal_map: np.ndarray      # (T, T, 3) tangent space of `static`
    loss_start: float
    loss_end: float


def decode_torch(net: torch.nn.Module, code: torch.Tensor, expression: torch.Tensor, jaw: torch.Tensor) -> torch.Tensor:
    return net(torch.cat([jaw, expression, code], 1))[:, 0]


def fit_person_detail(model: HeadModel, net: torch.nn.Module, rest_vertices: torch.Tensor,
                      posed_vertices: torch.Tensor, light: torch.Tensor, albedo: np.ndarray, observed: np.ndarray,
                      expression: torch.Tensor, jaw: torch.Tensor, size: int = 256, texture_size: int = 1024,
                      iterations: int = 100, w_sparse: float = RESIDUAL_SPARSITY, w_smooth: float = 3e-2,
                      w_sym: float = 1e-2, code_steps: int | None = None, lines_only: bool = True,
                      photo_sigma: float = 0.0) -> PersonDetail:
    """code_steps: how many of the last steps move the code as well (the decoder in the loop, its
    backward ~45 % of a step); before them the code waits at its prior and its decoded map is
    reused, while the residual settles (None: CODE_SHARE of `iterations`). lines_only: keep of the
    fitted residual only the relief that forms lines, off the albedo's edges (line_relief.py).
    photo_sigma: texels of `size`, the Gaussian that band-limits the residual to what the photo
    resolves (photo_resolution.resolution_sigma; 0: none)."""
    code_steps = round(CODE_SHARE * iterations) if code_steps is None else code_steps
    prob = prepare_sfs(model, posed_vertices, light, albedo, observed, size, ALBEDO_LOWPASS)
    for p in net.parameters():
        p.requires_grad_(False)
    net.eval()
    e = expression.reshape(1, -1).float()
    j = jaw.reshape(1, 3).float()
    prior = torch.logit(torch.tensor([PERSON_PRIOR]))
    z = prior.clone().requires_grad_(True)                    # code dims = sigmoid(z)
    X = torch.zeros(1, size, size, requires_grad=True)
    opt = Adam([{"params": [z], "lr": CODE_STEP * iterations / max(code_steps, 1)},
                {"params": [X], "lr": RESIDUAL_STEP}])
    losses = []

    def code_of(zz):
        c = torch.zeros(1, CODE_DIM)
        return torch.cat([torch.sigmoid(zz), c[:, PERSON_DIMS:]], 1)

    def relief(xx):
        return band_limit(RESIDUAL_MAX * torch.tanh(xx) * prob.support, photo_sigma)

    decoded = None
    for step in range(iterations):
        opt.zero_grad()
        residual = relief(X)
        moves = step >= iterations - code_steps
        if moves:
            decoded = decode_torch(net, code_of(z), e, j) * prob.support
        elif decoded is None:                                  # the code waits at its prior
            with torch.no_grad():
                decoded = decode_torch(net, code_of(z), e, j) * prob.support
        D = decoded + residual
        photo = prob.photo_loss(D)
        loss = photo + prob.regularisers(residual, w_sparse, w_smooth, w_sym)
        if moves:
            loss = loss + 1e-3 * ((z - prior) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(photo.detach()))
    with torch.no_grad():
        code = code_of(z)
        seen = relief(X) * prob.mask
        if lines_only:
            seen = torch.as_tensor(line_relief(seen[0].numpy(), prob.trust.numpy(), photo_sigma))[None]
        residual = seen * (1 - expression_compression(model, rest_vertices, posed_vertices, size))
        neutral = decode_torch(net, code, torch.zeros_like(e), torch.zeros_like(j)) * prob.mask
        at_photo = decode_torch(net, code, e, j) * prob.mask + seen
        static = neutral + residual
    # the decoder's map at rest is its pores (WrinkleDecoder.rest_is_pores): drawn at the texture's size
    nm = tangent_normal_map(model, rest_vertices, static, texture_size, pores=neutral[0].numpy())
    return PersonDetail(code[0].numpy(), residual[0].numpy(), static[0].numpy(), at_photo[0].numpy(), nm,
                        losses[0] if losses else 0.0, losses[-1] if losses else 0.0)


DECA_IMAGE_SIZE = 224   # E_detail's input: the DECA crop, RGB in [0, 1], no mean/std normalisation


def deca_person_detail(model: HeadModel, nets, crop_rgb8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DECA's way for FLAME heads: the person code is E_detail of the face crop (a DECA-style crop,
    uint8 sRGB (S, S, 3)), and the static map is D_detail at the neutral expression, kept on the
    model's UV charts. Returns code (128,) and static (256, 256) metres."""
    import cv2

    from ..uvspace import uv_support

    img = cv2.resize(crop_rgb8, (DECA_IMAGE_SIZE, DECA_IMAGE_SIZE), interpolation=cv2.INTER_AREA)
    x = torch.as_tensor(img, dtype=torch.float32).permute(2, 0, 1)[None] / 255.0
    with torch.no_grad():
        code = nets.E_detail(x)
        neutral = torch.zeros(1, nets.D_detail.latent_dim - code.shape[1])   # jaw 3 + expression 50
        static = nets.D_detail(torch.cat([neutral, code], 1))[0, 0]
    mask = uv_support(model, static.shape[-1]).raster.mask.float()
    return code[0].numpy(), (static * mask).numpy()
