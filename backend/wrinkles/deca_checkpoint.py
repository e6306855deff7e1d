"""Load a user's own DECA checkpoint (`deca_model.tar`: a plain torch.save dict with E_flame,
E_detail and D_detail state dicts) into the project's networks. Loaded with weights_only=True;
any missing, unexpected or mis-shaped key is an error (DECA's own loader skips them silently,
which hides a wrong file)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .networks import DetailDecoder, ParamEncoder

E_FLAME_OUT = 100 + 50 + 50 + 6 + 3 + 27   # shape | albedo | expression | pose | camera | light
E_DETAIL_OUT = 128
PARTS = ("E_flame", "E_detail", "D_detail")


class CheckpointError(RuntimeError):
    """The checkpoint does not match DECA's layout; the message lists what differs."""


@dataclass
class DecaNetworks:
    E_flame: ParamEncoder
    E_detail: ParamEncoder
    D_detail: DetailDecoder


def _strip_module_prefix(sd: dict) -> dict:
    if sd and all(k.startswith("module.") for k in sd):
        return {k[len("module."):]: v for k, v in sd.items()}
    return sd


def load_strict(module: torch.nn.Module, state: dict, name: str, path: Path) -> None:
    state = _strip_module_prefix(dict(state))
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        def show(keys):
            return ", ".join(keys[:6]) + (f" (+{len(keys) - 6} more)" if len(keys) > 6 else "")
        parts = []
        if missing:
            parts.append(f"missing keys: {show(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {show(unexpected)}")
        if wrong:
            parts.append("wrong shapes: " + show([f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}" for k in wrong]))
        raise CheckpointError(f"{path}: {name} does not match DECA's layout: " + "; ".join(parts)
                              + ". Is this DECA's deca_model.tar, unmodified?")
    # a module built on the meta device (no memory) takes the file's tensors as they are
    module.load_state_dict(state, strict=True, assign=any(t.is_meta for t in own.values()))


def load_deca_checkpoint(path: str | Path) -> DecaNetworks:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"DECA checkpoint not found at {path}; download deca_model.tar from "
                              "the DECA project (registration required) and pass its path")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(f"{path} could not be read as a weights-only torch checkpoint ({e})") from e
    if not isinstance(ckpt, dict) or not all(p in ckpt for p in PARTS):
        found = list(ckpt)[:8] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path}: expected a dict with {PARTS}, found {found}")
    nets = DecaNetworks(ParamEncoder(E_FLAME_OUT), ParamEncoder(E_DETAIL_OUT), DetailDecoder())
    for name in PARTS:
        load_strict(getattr(nets, name), ckpt[name], name, path)
        getattr(nets, name).eval()
    return nets
