"""Where MediaPipe's models live once converted to ONNX (assets/mediapipe/, rebuilt by
tools/build_mediapipe_onnx.py), and how the detectors run them."""
from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "mediapipe"


def onnx_session(path: Path, device: str):
    """One of MediaPipe's converted models on one thread (a face at a time), CUDA first when the
    device asks for it."""
    import onnxruntime as ort

    providers = (["CUDAExecutionProvider"] if device.startswith("cuda") else []) + ["CPUExecutionProvider"]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=providers)
