"""Detail decoder benchmark: decode latency (ONNX Runtime and torch, batch 1, 256x256) and the
1024x1024 sharp map + tangent-space normal map, on this machine (and CUDA when present).

    .venv/bin/python benchmarks/bench_detail.py [--runs 30]

The decoder weights are random here: latency does not depend on the values.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import machine  # noqa: E402

from headsmith.detail.decoder import (OnnxWrinkleDecoder, TorchWrinkleDecoder, UVGeometry, export_onnx,
                                      normal_map, onnx_providers, sharpen_upsample)
from headsmith.detail.networks import DetailDecoder
from headsmith.headmodel import OpenHead


def median_ms(fn, runs):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    print(f"machine: {machine()}; onnxruntime providers used: {onnx_providers()}")
    net = DetailDecoder(latent_dim=3 + 52 + 128).eval()
    path = export_onnx(net, Path(tempfile.mkdtemp()) / "decoder.onnx")
    rng = np.random.default_rng(0)
    code, expr, jaw = rng.normal(size=(1, 128)), rng.random((1, 52)), np.zeros((1, 3))
    rows = []
    onnx = OnnxWrinkleDecoder(path, 52)
    rows.append(("onnxruntime decode 256x256, batch 1", median_ms(lambda: onnx.decode(code, expr, jaw), a.runs)))
    tdec = TorchWrinkleDecoder(net, 52)
    rows.append(("torch decode 256x256, batch 1", median_ms(lambda: tdec.decode(code, expr, jaw), a.runs)))
    if torch.cuda.is_available():
        gdec = TorchWrinkleDecoder(net, 52, device="cuda")
        rows.append(("torch CUDA decode 256x256, batch 1", median_ms(lambda: gdec.decode(code, expr, jaw), a.runs)))
    model = OpenHead()
    geo = UVGeometry.of(model, model().vertices, 1024)
    d = onnx.decode(code, expr, jaw)
    rows.append(("sharp 1024 upsample + tangent normal map", median_ms(lambda: normal_map(geo, sharpen_upsample(d, 1024)), a.runs)))
    rows.append(("decode + 1024 normal map (onnxruntime)", median_ms(
        lambda: normal_map(geo, sharpen_upsample(onnx.decode(code, expr, jaw), 1024)), a.runs)))
    print(f"{'operation':<45} {'median ms':>10}")
    for name, ms in rows:
        print(f"{name:<45} {ms:>10.1f}")


if __name__ == "__main__":
    main()
