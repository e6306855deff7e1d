"""The one detail-decoder interface: F_d(person code, expression, jaw) -> UV displacement (metres),
plus the sharp high-resolution map (with OpenHead's pores drawn at its size: pores.py) and its
tangent-space normal map for texturing.

Two implementations of `WrinkleDecoder.decode`: torch (fitting, training, any device) and ONNX
Runtime (the service's fast path; CUDA provider when torch sees a GPU, CPU otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..render.uv import derivative_stencil, tangent_normal_basis, tangent_normal_from_basis


@dataclass
class KeyBlend:
    """A decoder that is a wrinkle blend by construction (texture_decoder.KeyBlendDecoder), for one
    person: D = rest + sum_k (wL_k side + wR_k (1 - side)) * region_masks[key_region[k]] * key_maps[k]
    with wL = clamp(coef . [e, jaw_x + jaw_open . e] + bias, 0, bake.WEIGHT_MAX), wR the same on
    [e[perm], ...]. Metres on the decoder's UV layout; what `bake.bake` turns into the engine
    contract exactly."""

    key_names: list[str]
    key_region: list[int]        # (K,) index into region_names
    sided: list[bool]            # (K,)
    coef: np.ndarray             # (K, E + 1) on [expression, jaw opening]
    bias: np.ndarray             # (K,) <= 0
    jaw_open: np.ndarray         # (E,) radians of jaw opening each shape key stands for
    perm: np.ndarray             # (E,) the mirrored expression is e[perm]
    region_names: list[str]
    region_masks: np.ndarray     # (R, S, S) in [0, 1]
    side: np.ndarray             # (S, S) in [0, 1], 1 on the head's left (+x)
    key_maps: np.ndarray         # (K, S, S) metres
    rest: np.ndarray             # (S, S) metres: the map at rest


class WrinkleDecoder:
    """decode(code (B, C), expression (B, E), jaw (B, 3)) -> (B, S, S) float32 metres, numpy."""

    code_dim: int
    n_expression: int
    size: int

    rest_is_pores = False   # True when the map at rest (neutral expression, jaw closed) is the
                            # decoder's pores alone (OpenHead's): high-res maps draw them finer
    CHUNK = 16   # latents per network run: bakes decode hundreds of expressions, and the
                 # decoders hold ~0.1 GB of activations per 256x256 map

    def decode(self, code: np.ndarray, expression: np.ndarray, jaw: np.ndarray) -> np.ndarray:
        z = self._latent(code, expression, jaw)
        return np.concatenate([self._run(z[i:i + self.CHUNK]) for i in range(0, len(z), self.CHUNK)])

    def _run(self, latent: np.ndarray) -> np.ndarray:
        """(b, L) float32 latents -> (b, S, S) float32 metres."""
        raise NotImplementedError

    def key_blend(self, code: np.ndarray) -> KeyBlend | None:
        """The person's blend structure when the decoder is a blend by construction, else None."""
        return None

    def rest(self, code: np.ndarray) -> np.ndarray:
        """(C,) -> (S, S) metres: the map at the neutral expression with the jaw closed."""
        return self._run(self._zero_latent(code))[0]

    def _zero_latent(self, code: np.ndarray) -> np.ndarray:
        code = np.asarray(code, np.float32).reshape(1, -1)
        return self._latent(code, np.zeros((1, self.n_expression), np.float32), np.zeros((1, 3), np.float32))

    def _latent(self, code, expression, jaw) -> np.ndarray:
        code, expression, jaw = (np.asarray(x, dtype=np.float32) for x in (code, expression, jaw))
        if code.ndim != 2 or code.shape[1] != self.code_dim:
            raise ValueError(f"code must be (B, {self.code_dim}), got {code.shape}")
        if expression.ndim != 2 or expression.shape[1] != self.n_expression:
            raise ValueError(f"expression must be (B, {self.n_expression}), got {expression.shape}")
        if jaw.ndim != 2 or jaw.shape[1] != 3:
            raise ValueError(f"jaw must be (B, 3) axis-angle, got {jaw.shape}")
        if not (len(code) == len(expression) == len(jaw)):
            raise ValueError("code, expression and jaw disagree on the batch size")
        if not all(np.isfinite(x).all() for x in (code, expression, jaw)):
            raise ValueError("code, expression and jaw must be finite")
        return np.concatenate([jaw, expression, code], 1)


class TorchWrinkleDecoder(WrinkleDecoder):
    """Any decoder network with `latent_dim`, `size` and forward(latent (B, L)) -> (B, 1, S, S)
    metres: networks.DetailDecoder (DECA) or texture_decoder.KeyBlendDecoder (OpenHead)."""

    def __init__(self, net: torch.nn.Module, n_expression: int, code_dim: int = 128, device: str = "cpu"):
        if net.latent_dim != 3 + n_expression + code_dim:
            raise ValueError(f"decoder latent {net.latent_dim} != 3 + {n_expression} + {code_dim}")
        self.net = net.to(device).eval()
        self.n_expression, self.code_dim, self.size, self.device = n_expression, code_dim, net.size, device

    @torch.no_grad()
    def _run(self, latent: np.ndarray) -> np.ndarray:
        return self.net(torch.as_tensor(latent, device=self.device))[:, 0].float().cpu().numpy()

    @torch.no_grad()
    def key_blend(self, code: np.ndarray) -> KeyBlend | None:
        if not hasattr(self.net, "blend_parts"):
            return None
        _, maps, rest = self.net.blend_parts(torch.as_tensor(self._zero_latent(code), device=self.device))
        return key_blend_of(blend_description(self.net), maps[0].cpu().numpy(), rest[0].cpu().numpy(),
                            self.net.region_masks.cpu().numpy(), self.net.side.cpu().numpy())


KEY_BLEND_METADATA = "headsmith.key_blend"   # the ONNX file's metadata entry (JSON, blend_description)


def blend_description(net) -> dict:
    """The small, per-decoder part of a KeyBlend (names, sides, coefficients) as JSON-able data."""
    from .anatomy import GROUPS, REGIONS

    coef, bias = net.coefficients()
    return {"key_names": list(GROUPS), "region_names": list(REGIONS), "key_region": net.key_region.tolist(),
            "sided": net.sided.tolist(), "coef": coef.detach().cpu().tolist(), "bias": bias.detach().cpu().tolist(),
            "jaw_open": net.jaw_open.tolist(), "perm": net.perm[:-1].tolist()}


def key_blend_of(d: dict, key_maps: np.ndarray, rest: np.ndarray, region_masks: np.ndarray,
                 side: np.ndarray) -> KeyBlend:
    return KeyBlend(d["key_names"], d["key_region"], d["sided"], np.asarray(d["coef"], np.float64),
                    np.asarray(d["bias"], np.float64), np.asarray(d["jaw_open"], np.float64),
                    np.asarray(d["perm"], np.int64), d["region_names"],
                    region_masks, side, key_maps, rest)


def onnx_providers() -> list[str]:
    """CUDA when torch sees a GPU (and onnxruntime has the provider), CPU otherwise; explicit, so
    onnxruntime-gpu does not log failed CUDA attempts on CPU machines."""
    import onnxruntime as ort

    avail = ort.get_available_providers()
    if torch.cuda.is_available() and "CUDAExecutionProvider" in avail:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class _BlendOutputs(torch.nn.Module):
    """A key-blend decoder with its structure as further outputs: the key maps and rest map per
    latent, and the constant region masks and side weight (what `key_blend` reads back)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, latent):
        disp, maps, rest = self.net.blend_parts(latent)
        return disp, maps, rest, self.net.region_masks * 1.0, self.net.side * 1.0


def export_onnx(net: torch.nn.Module, path: Path) -> Path:
    """Write the decoder as ONNX (dynamic batch), atomically; a key-blend decoder with its
    structure (outputs key_maps, rest, region_masks, side and the KEY_BLEND_METADATA entry)."""
    import json

    import onnx

    from ..atomic import atomic_file

    path = Path(path)
    net = net.cpu().eval()
    dummy = torch.zeros(1, net.latent_dim)
    blend = hasattr(net, "blend_parts")
    names = ["displacement"] + (["key_maps", "rest", "region_masks", "side"] if blend else [])
    axes = {"latent": {0: "batch"}} | {n: {0: "batch"} for n in names[:3]}
    with atomic_file(path, suffix=".onnx") as tmp:
        torch.onnx.export(_BlendOutputs(net) if blend else net, (dummy,), str(tmp), input_names=["latent"],
                          output_names=names, dynamic_axes=axes, opset_version=17, dynamo=False)
        if blend:
            model = onnx.load(str(tmp))
            onnx.helper.set_model_props(model, {KEY_BLEND_METADATA: json.dumps(blend_description(net))})
            onnx.save(model, str(tmp))
    return path


class OnnxWrinkleDecoder(WrinkleDecoder):
    def __init__(self, path: Path | str, n_expression: int, code_dim: int = 128, threads: int | None = None):
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"detail decoder ONNX file not found: {path}")
        opts = ort.SessionOptions()
        # no busy-waiting after a run: torch works on the same cores right after each decode
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), opts, providers=onnx_providers())
        shape = self.session.get_inputs()[0].shape
        if shape[1] != 3 + n_expression + code_dim:
            raise ValueError(f"{path}: latent size {shape[1]} != 3 + {n_expression} + {code_dim}")
        self.n_expression, self.code_dim = n_expression, code_dim
        self.size = int(self.session.get_outputs()[0].shape[-1])

    def _run(self, latent: np.ndarray) -> np.ndarray:
        return self.session.run(["displacement"], {"latent": latent})[0][:, 0]

    def key_blend(self, code: np.ndarray) -> KeyBlend | None:
        import json

        meta = self.session.get_modelmeta().custom_metadata_map.get(KEY_BLEND_METADATA)
        if meta is None:
            return None
        _, maps, rest, masks, side = self.session.run(None, {"latent": self._zero_latent(code)})
        return key_blend_of(json.loads(meta), maps[0], rest[0], masks, side)


@dataclass
class UVGeometry:
    """World-to-UV maps of the neutral mesh at the texture size: where the normal map is built."""

    position: torch.Tensor   # (1, T, T, 3) metres
    normal: torch.Tensor     # (1, T, T, 3) unit
    mask: torch.Tensor       # (T, T) bool
    basis: torch.Tensor      # (1, T, T, 6) see render.uv.tangent_normal_basis
    stencil: torch.Tensor    # (6, T, T) see render.uv.derivative_stencil

    @staticmethod
    def of(model, vertices: torch.Tensor, size: int = 1024) -> "UVGeometry":
        from ..uvspace import surface_maps, uv_support

        raster = uv_support(model, size).raster
        P, N = surface_maps(raster, vertices.detach().float().cpu(), model.faces.cpu())
        return UVGeometry(P, N, raster.mask, tangent_normal_basis(P, N, raster.mask),
                          derivative_stencil(raster.mask))


SHARPEN_KERNEL = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32) / 16   # the unsharp mask's blur


def sharpen_upsample(disp: np.ndarray, size: int, amount: float = 0.6) -> np.ndarray:
    """(B, S, S) -> (B, size, size) float32: bicubic upsampling (OpenCV's, a = -0.75, borders
    replicated, as torch's) plus an unsharp mask at the new scale, so furrows stay crisp on 1024
    textures instead of turning soft."""
    import cv2

    out = np.empty((len(disp), size, size), np.float32)
    for i, d in enumerate(np.asarray(disp, np.float32)):
        up = cv2.resize(d, (size, size), interpolation=cv2.INTER_CUBIC)
        blur = cv2.sepFilter2D(up, -1, SHARPEN_KERNEL, SHARPEN_KERNEL, borderType=cv2.BORDER_REPLICATE)
        out[i] = up + amount * (up - blur)
    return out


def high_res_relief(disp: np.ndarray, size: int, pores: np.ndarray | None = None) -> np.ndarray:
    """(B, S, S) metres -> (B, size, size): the sharp upsampled maps. pores (S, S): the decoder's
    rest term when it is pores (`WrinkleDecoder.rest_is_pores`), part of every map: left out of
    the upsampling and drawn at the new size instead (pores.py); None: upsampled as it is."""
    if pores is None:
        return sharpen_upsample(disp, size)
    from .pores import fine_pores

    return sharpen_upsample(np.asarray(disp, np.float32) - pores[None], size) + fine_pores(pores, size)[None]


def normal_map_rgb8(geometry: UVGeometry, displacement: np.ndarray, alpha: bool = False,
                    pores: np.ndarray | None = None) -> np.ndarray:
    """(B, S, S) metres -> (B, T, T, 3) uint8 tangent-space normal map of the sharp upsampled map
    (`high_res_relief`, with `pores`), encoded (n + 1) / 2 as normal-map images are (T = the
    geometry's size); (B, T, T, 4) with an opaque alpha when `alpha`."""
    hi = high_res_relief(displacement, geometry.mask.shape[0], pores)
    out = torch.full((len(hi),) + hi.shape[1:] + (4 if alpha else 3,), 255, dtype=torch.uint8)
    for i, d in enumerate(hi):
        n = tangent_normal_from_basis(geometry.basis, geometry.stencil, torch.from_numpy(d))
        out[i, ..., :3] = n.mul_(127.5).add_(128.0).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0)
    return out.numpy()


def normal_map(geometry: UVGeometry, displacement_hi: np.ndarray) -> np.ndarray:
    """(B, T, T) metres -> (B, T, T, 3) tangent-space normals in [-1, 1] (OpenGL, +Y = +v)."""
    D = torch.as_tensor(displacement_hi, dtype=torch.float32)
    return torch.stack([tangent_normal_from_basis(geometry.basis, geometry.stencil, d)
                        for d in D]).permute(0, 2, 3, 1).numpy()
