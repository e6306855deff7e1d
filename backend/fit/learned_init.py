"""The fit's learned starting point: a small network (trained by headsmith-train init on OpenHead
itself; assets/init/) reads the detected dense landmarks and guesses the head rotation, jaw and
expression; the camera then follows in closed form. It replaces the yaw search, so the rigid stage
is not needed and the landmark stage needs fewer steps. The identity starts at the prior's mean, as
with the search: a guessed identity fitted no better and widened the skull, which landmarks do not
see (benchmarks/NOTES.md).

Frames: points in NDC (x right, y up); rotations axis-angle (radians, model frame)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .similarity import similarity_camera

ASSET = Path(__file__).resolve().parents[2] / "assets" / "init" / "openhead_init.onnx"


def output_layout(n_fitted: int) -> dict[str, slice]:
    """Where each parameter sits in the network's output vector: the fitted ARKit weights, the jaw
    opening, the head rotation."""
    return {"expression": slice(0, n_fitted), "jaw": slice(n_fitted, n_fitted + 1),
            "rotation": slice(n_fitted + 1, n_fitted + 4)}


def normalise_points(points: torch.Tensor) -> torch.Tensor:
    """(B, N, 2) -> the same points centred on their mean and divided by their RMS radius (what
    the network reads: free of the camera's scale and offset)."""
    c = points - points.mean(1, keepdim=True)
    return c / c.pow(2).sum(-1).mean(1).sqrt()[:, None, None]


class LearnedInit:
    """The shipped network through onnxruntime (CPU; one face in well under a millisecond)."""

    def __init__(self, path: Path = ASSET):
        import onnxruntime as ort

        from ..headmodel.base import ModelFileError

        if not Path(path).is_file():
            raise ModelFileError(f"{path} is missing: the learned initialiser ships in assets/init "
                                 "(rebuild it with the command in assets/init/README.md), or fit with --init search")
        self.record = json.loads(Path(path).with_suffix(".json").read_text())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def predict(self, det_ndc: torch.Tensor) -> np.ndarray:
        """(B, N, 2) detected points in the embedding's order -> (B, D) parameters (output_layout)."""
        x = normalise_points(det_ndc.detach().float().cpu()).flatten(1).numpy()
        return self.session.run(None, {"points": x})[0]


_CACHE: dict = {}


def learned_init() -> LearnedInit:
    if "net" not in _CACHE:
        _CACHE["net"] = LearnedInit()
    return _CACHE["net"]


def start_from_network(st) -> None:
    """Set a FitState's expressions, jaw and head rotations from the network, and each camera
    (s, tx, ty) by least squares on the guessed head's landmarks (the identity as it is)."""
    net = learned_init()
    fitted = torch.nonzero(st.fitted_expr).flatten()
    out = torch.as_tensor(net.predict(st.det_ndc), device=st.camera.device)
    lay = output_layout(len(fitted))
    with torch.no_grad():
        st.expression.zero_()
        st.expression[:, fitted] = out[:, lay["expression"]].clamp(0, 1)
        st.jaw.zero_()
        st.jaw[:, 0] = out[:, lay["jaw"]][:, 0].clamp(-0.05, 0.6)
        st.global_rot.copy_(out[:, lay["rotation"]])
        st.camera.copy_(torch.tensor([1.0, 0.0, 0.0], device=st.camera.device))
        model_xy = st.landmarks_ndc()        # with s = 1, t = 0: the model's own x, y
        cams = [similarity_camera(m, d, w)[0] for m, d, w in zip(model_xy, st.det_ndc, st.w_lmk)]
        st.camera.copy_(torch.stack(cams).to(st.camera))
