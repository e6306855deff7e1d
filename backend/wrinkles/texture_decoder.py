"""The OpenHead detail decoder: a wrinkle blend by construction.

    D(code, e, jaw) = D0(code) + sum_k (wL_k side + wR_k (1 - side)) * mask_{region(k)} * M_k(code)

- keys k: the wrinkle groups of `anatomy.GROUPS` (brows up, brows down, squint, blink, smile,
  sneer, pucker, mouth frown), each living in one anatomical region whose UV mask is fixed
  (`anatomy.region_uv_masks`); side (S, S) is how much a texel is on the head's left.
- weights: wL_k = clamp(c_k . [e, jaw_open] + b_k, 0, WEIGHT_MAX), b_k <= 0 (nothing at rest), c_k
  non-zero only on the group's driving shape keys; wR_k the same on the mirrored expression (a
  centre group's coefficients are symmetric, so wL = wR). jaw_open = jaw_x + JAW_EQ * jawOpen: the
  jaw bone and the jawOpen shape key both open the jaw's wrinkles.
- key maps M_k(code) = sum_m g_km(code) T_km: per-person mixes of M learned textures per key (a
  person's line pattern, density and depth), right-side texels read from their left mirror texel.
- D0(code) = pore strength(code) * a pore texture: the static micro-detail at rest.

Units: textures in millimetres, output (B, 1, S, S) metres on OpenHead's UV layout. This is the
engine contract (`bake.WrinkleBake`) itself, so a bake of it is exact: the live decoder and the
baked blend give the same map for every expression (`key_blend`); why a free-form decoder could
not be baked closely: benchmarks/NOTES.md, "Wrinkle latency".
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as Fn

from ..headmodel.openhead import ASSETS, ModelFileError
from .anatomy import GROUPS, REGIONS, mirrored_name
from .bake import WEIGHT_MAX
from .deca_checkpoint import load_strict

OPENHEAD_DECODER = ASSETS / "detail" / "openhead_detail.pt"       # torch weights (fitting, training)
OPENHEAD_DECODER_ONNX = ASSETS / "detail" / "openhead_detail.onnx"  # the same network for onnxruntime
CODE_DIM = 128   # person detail code, as DECA's


class KeyBlendDecoder(nn.Module):
    def __init__(self, n_expression: int, size: int, region_masks: torch.Tensor, side: torch.Tensor,
                 drivers: torch.Tensor, key_region: torch.Tensor, sided: torch.Tensor, expression_perm: torch.Tensor,
                 jaw_open: torch.Tensor, mirror_index: torch.Tensor | None = None, support: torch.Tensor | None = None,
                 n_mix: int = 8, hidden: int = 128):
        """region_masks (R, S, S) in [0, 1]; side (S, S) in [0, 1]; drivers (K, E + 1) {0, 1}: the
        shape keys (and jaw opening, last) that may drive each key's left weight; key_region (K,)
        index into the regions; sided (K,) bool; expression_perm (E,): the mirrored expression is
        e[perm]; jaw_open (E,): radians of jaw opening each shape key stands for (the jawOpen
        key's `bake.jaw_open_equivalent`, zero elsewhere). mirror_index (S*S,) the left texel
        each texel reads its texture from; support (S, S) {0, 1} the skin chart. All are
        buffers: a loaded decoder needs no head model."""
        super().__init__()
        K, S = drivers.shape[0], size
        self.latent_dim, self._size, self.n_expression, self.n_mix = 3 + n_expression + CODE_DIM, size, n_expression, n_mix
        self.trunk = nn.Sequential(nn.Linear(CODE_DIM, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                   nn.LeakyReLU(0.2))
        self.mix = nn.Linear(hidden, K * n_mix)          # g_km(code)
        self.pores = nn.Linear(hidden, 1)
        self.coef = nn.Parameter(0.8 * drivers.float())
        self.bias_raw = nn.Parameter(torch.full((K,), -3.0))   # bias = -softplus: about -0.05
        self.textures = nn.Parameter(0.1 * torch.randn(K, n_mix, S, S))
        self.pore_texture = nn.Parameter(0.1 * torch.randn(S, S))
        perm_f = torch.cat([expression_perm.long(), torch.tensor([n_expression])])
        self.register_buffer("drivers", drivers.float())
        self.register_buffer("perm", perm_f)
        self.register_buffer("sided", sided.bool())
        self.register_buffer("key_region", key_region.long())
        self.register_buffer("region_masks", region_masks.float())
        self.register_buffer("side", side.float().reshape(S, S))
        self.register_buffer("jaw_open", jaw_open.float())
        self.register_buffer("mirror_index", (torch.arange(S * S) if mirror_index is None else mirror_index).long())
        self.register_buffer("support", (torch.ones(S, S) if support is None else support).float().reshape(S, S))
        self._mirrored_cache: tuple | None = None

    @property
    def size(self) -> int:
        return self._size

    def coefficients(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(K, E + 1) coefficients of the left weights on [e, jaw_open] (a centre key's made
        symmetric), (K,) biases <= 0."""
        c = self.coef * self.drivers
        c = torch.where(self.sided[:, None], c, 0.5 * (c + c[:, self.perm]))
        return c, -Fn.softplus(self.bias_raw)

    def weights(self, expression: torch.Tensor, jaw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, E), (B, 3) -> left and right key weights (B, K) each."""
        x = torch.cat([expression, jaw[:, :1] + expression @ self.jaw_open[:, None]], 1)
        c, b = self.coefficients()
        return (x @ c.T + b).clamp(0, WEIGHT_MAX), (x[:, self.perm] @ c.T + b).clamp(0, WEIGHT_MAX)

    def key_maps(self, code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """code (B, 128) -> key maps M_k (B, K, S, S) and the rest map D0 (B, S, S), metres."""
        h = self.trunk(code)
        K, M, S = self.textures.shape[0], self.n_mix, self._size
        g = self.mix(h).view(-1, K, 1, M)
        maps = (g @ self._mirrored_textures().view(K, M, S * S)).view(-1, K, S, S)
        rest = self.pores(h)[:, :, None] * self.pore_texture           # (B, S, S)
        return 0.001 * maps * self.support, 0.001 * rest * self.support

    def _mirrored_textures(self) -> torch.Tensor:
        """(K, M, S, S) the textures with each texel read from its left mirror texel. Frozen
        textures (a person-code fit, the service) gather once, not per decode."""
        gather = lambda: self.textures.flatten(2)[:, :, self.mirror_index].view_as(self.textures)  # noqa: E731
        if torch.jit.is_tracing():   # an ONNX export: the gathered bank is a constant of the graph
            with torch.no_grad():
                return gather().detach()
        if self.textures.requires_grad and torch.is_grad_enabled():
            return gather()
        key = (self.textures.data_ptr(), self.textures._version, self.textures.device)
        if self._mirrored_cache is None or self._mirrored_cache[0] != key:
            with torch.no_grad():
                self._mirrored_cache = (key, gather())
        return self._mirrored_cache[1]

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """latent (B, 3 + E + 128) = (jaw axis-angle, expression, code) -> (B, 1, S, S) metres."""
        return self.blend_parts(latent)[0]

    def blend_parts(self, latent: torch.Tensor):
        """-> displacement (B, 1, S, S), key maps (B, K, S, S), rest map (B, S, S), metres."""
        E = self.n_expression
        jaw, expression, code = latent[:, :3], latent[:, 3:3 + E], latent[:, 3 + E:]
        wl, wr = self.weights(expression, jaw)
        maps, rest = self.key_maps(code)
        masks = self.region_masks[self.key_region]                                   # (K, S, S)
        left, right = (maps * masks * self.side).flatten(2), (maps * masks * (1 - self.side)).flatten(2)
        dyn = (wl[:, None] @ left + wr[:, None] @ right).view(-1, 1, self._size, self._size)
        return dyn + rest[:, None], maps, rest


def expression_mirror(names: list[str]) -> torch.Tensor:
    """(E,) perm: the mirrored face's expression is e[perm] (...Left <-> ...Right)."""
    return torch.tensor([names.index(mirrored_name(n)) if mirrored_name(n) in names else i
                         for i, n in enumerate(names)])


def group_tables(model) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(drivers (K, E + 1), key_region (K,), sided (K,)) of `anatomy.GROUPS` for a model."""
    names = list(model.expression_names)
    drivers = torch.zeros(len(GROUPS), len(names) + 1)
    for k, g in enumerate(GROUPS.values()):
        for d in g.drivers:
            drivers[k, names.index(d)] = 1.0
        drivers[k, -1] = float(g.jaw)
    return (drivers, torch.tensor([REGIONS.index(g.region) for g in GROUPS.values()]),
            torch.tensor([g.sided for g in GROUPS.values()]))


def build_openhead_decoder(model, size: int = 256, n_mix: int = 8) -> KeyBlendDecoder:
    """A new (untrained) decoder for an ARKit head model: its regions, side weight, mirror and
    jawOpen equivalence from the model."""
    from .anatomy import region_uv_masks
    from .bake import JAW_OPEN_SHAPE_KEY, jaw_open_equivalent, side_weight

    names = list(model.expression_names)
    _, masks = region_uv_masks(model, size)
    mirror, support = symmetry_tables(model, size)
    jaw_open = torch.zeros(len(names))
    if (eq := jaw_open_equivalent(model)) is not None:
        jaw_open[names.index(JAW_OPEN_SHAPE_KEY)] = eq
    return KeyBlendDecoder(len(names), size, masks, side_weight(model, size), *group_tables(model),
                           expression_mirror(names), jaw_open, mirror, support, n_mix=n_mix)


def symmetry_tables(model, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mirror_index (S*S,), support (S, S)) for a head model: nearest texel of each texel's left
    source (see uvspace.atlas.UVSupport.left_grid) and the skin chart."""
    from ..uvspace import uv_support

    sup = uv_support(model, size)
    g = sup.left_grid[0]
    col = ((g[..., 0] + 1) * 0.5 * size - 0.5).round().long().clamp(0, size - 1)
    row = ((g[..., 1] + 1) * 0.5 * size - 0.5).round().long().clamp(0, size - 1)
    return (row * size + col).reshape(-1), (sup.part == 0).float()


def load_openhead_decoder(path: Path = OPENHEAD_DECODER, n_expression: int = 52) -> KeyBlendDecoder | None:
    """The trained OpenHead decoder (torch), or None when the weights are not there."""
    path = Path(path)
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    tex, masks, coef = state.get("textures"), state.get("region_masks"), state.get("coef")
    if tex is None or tex.ndim != 4 or masks is None or coef is None:
        raise ModelFileError(f"{path}: not an OpenHead key-blend detail decoder (no textures/region_masks/coef); "
                             "rebuild it with headsmith-train detail --export assets/detail")
    if coef.shape != (len(GROUPS), n_expression + 1) or masks.shape[0] != len(REGIONS):
        raise ModelFileError(f"{path}: made for {coef.shape[0]} keys and {masks.shape[0]} regions, this version "
                             f"has {len(GROUPS)} and {len(REGIONS)}; retrain it (headsmith-train detail)")
    K, M, S = tex.shape[:3]
    with torch.device("meta"):   # no random initial weights: the file's replace them all
        net = KeyBlendDecoder(n_expression, S, torch.empty(len(REGIONS), S, S), torch.empty(S, S),
                              torch.empty(K, n_expression + 1), torch.empty(K, dtype=torch.long),
                              torch.empty(K, dtype=torch.bool), torch.empty(n_expression, dtype=torch.long),
                              torch.empty(n_expression), torch.empty(S * S, dtype=torch.long), torch.empty(S, S), n_mix=M)
    load_strict(net, state, "OpenHead detail decoder", path)
    return net.eval()
