"""A restricted unpickler for user-supplied model files (FLAME's generic_model.pkl, DECA's
landmark_embedding.npy / FLAME_masks.pkl). Only array data gets through: numpy arrays, scipy
sparse matrices, chumpy `Ch` arrays (read as plain arrays, chumpy is never imported) and torch
tensors (rebuilt through torch's weights-only loader). Anything else is refused."""
from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class UnsafePickleError(pickle.UnpicklingError):
    """The file carries something other than array data."""


@dataclass
class ChumpyArray:
    """Stand-in for chumpy.ch.Ch: keeps the pickled state; `.x` is the array."""

    state: dict = field(default_factory=dict)

    def __setstate__(self, state):
        self.state = state

    def to_numpy(self) -> np.ndarray:
        x = self.state.get("x")
        if not isinstance(x, np.ndarray):
            raise UnsafePickleError("a chumpy object without a plain array value ('x')")
        return x


@dataclass
class SparseArray:
    """Stand-in for scipy.sparse csc/csr matrices: rebuilt from (data, indices, indptr, shape)."""

    kind: str = "csc"
    state: dict = field(default_factory=dict)

    def __setstate__(self, state):
        self.state = state

    def to_numpy(self) -> np.ndarray:
        s = self.state
        shape = s.get("_shape", s.get("shape"))
        data, indices, indptr = s["data"], s["indices"], s["indptr"]
        out = np.zeros(shape, dtype=np.float64)
        major = shape[1] if self.kind == "csc" else shape[0]
        for j in range(major):
            rows = indices[indptr[j]: indptr[j + 1]]
            vals = data[indptr[j]: indptr[j + 1]]
            if self.kind == "csc":
                out[rows, j] = vals
            else:
                out[j, rows] = vals
        return out


def _sparse_factory(kind):
    class _S(SparseArray):
        def __init__(self, *a, **k):
            super().__init__(kind=kind)
    _S.__name__ = f"SparseArray_{kind}"
    return _S


def _torch_storage_from_bytes(b: bytes):
    import torch

    return torch.load(io.BytesIO(b), weights_only=True)


_NUMPY = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
          ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
          ("numpy._core.multiarray", "scalar")}


_SAFE_BUILTINS = {"set", "frozenset", "slice", "complex", "bytes"}   # bytes: empty byte strings in protocol 2


class RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, what: str):
        super().__init__(file, encoding="latin1")
        self.what = what

    def find_class(self, module, name):
        if (module, name) in _NUMPY:
            return super().find_class(module, name)
        if (module, name) in {("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor")}:
            import copyreg
            return copyreg._reconstructor
        if (module, name) in {("builtins", "object"), ("__builtin__", "object")}:
            return object
        if (module, name) == ("_codecs", "encode"):  # bytes in protocol-2 pickles
            import _codecs
            return _codecs.encode
        if module in {"builtins", "__builtin__"} and name in _SAFE_BUILTINS:
            import builtins
            return getattr(builtins, name)
        if module in {"collections"} and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        if module == "chumpy.ch" and name == "Ch":
            return ChumpyArray
        if module.startswith("scipy.sparse") and name in {"csc_matrix", "csr_matrix"}:
            return _sparse_factory(name[:3])
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            import torch._utils
            return torch._utils._rebuild_tensor_v2
        if (module, name) == ("torch.storage", "_load_from_bytes"):
            return _torch_storage_from_bytes
        raise UnsafePickleError(
            f"{self.what} contains a '{module}.{name}' object; only array data (numpy, scipy "
            "sparse, chumpy arrays, torch tensors) is accepted. Is this the right file?")


def to_array(obj):
    """Chumpy/sparse stand-ins and torch tensors -> numpy; other values unchanged."""
    if isinstance(obj, (ChumpyArray, SparseArray)):
        return obj.to_numpy()
    try:
        import torch
        if isinstance(obj, torch.Tensor):
            return obj.numpy()
    except ImportError:  # pragma: no cover
        pass
    return obj


def load_restricted_pickle(path: Path, what: str):
    """Unpickle a user file with only array data allowed; clear errors otherwise."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found at {path}")
    with open(path, "rb") as f:
        try:
            return RestrictedUnpickler(f, f"{what} ({path.name})").load()
        except UnsafePickleError:
            raise
        except Exception as e:
            raise UnsafePickleError(f"{what} at {path} is not a readable pickle: {e}") from e


def load_restricted_npy(path: Path, what: str):
    """A .npy file holding a pickled object (as DECA's landmark_embedding.npy does), read through
    the restricted unpickler instead of np.load(allow_pickle=True)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found at {path}")
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        _, _, dtype = np.lib.format._read_array_header(f, version)
        if dtype.hasobject:
            arr = RestrictedUnpickler(f, f"{what} ({path.name})").load()
        else:
            f.seek(0)
            arr = np.load(f, allow_pickle=False)
    if isinstance(arr, np.ndarray) and arr.dtype == object and arr.shape == ():
        return arr.item()
    return arr
