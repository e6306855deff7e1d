"""Detail decoder benchmark: decode latency of the shipped OpenHead decoder (ONNX Runtime and
torch, batch 1, 256x256), DECA's decoder layout for comparison, and the 1024x1024 sharp map +
tangent-space normal map, on this machine (and CUDA when present).

    .venv/bin/python benchmarks/bench_detail.py [--runs 50]
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

from headsmith.wrinkles.decoder import (OnnxWrinkleDecoder, TorchWrinkleDecoder, UVGeometry, export_onnx,
                                      normal_map, onnx_providers, sharpen_upsample)
from headsmith.wrinkles.networks import DetailDecoder
from headsmith.wrinkles.texture_decoder import OPENHEAD_DECODER_ONNX, load_openhead_decoder
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
    net = load_openhead_decoder(n_expression=52)
    if net is None:
        sys.exit("assets/detail/openhead_detail.pt is missing (headsmith-train detail --export assets/detail)")
    rng = np.random.default_rng(0)
    code, expr, jaw = rng.uniform(size=(1, 128)), rng.random((1, 52)), np.zeros((1, 3))
    rows = []
    onnx = OnnxWrinkleDecoder(OPENHEAD_DECODER_ONNX, 52)
    rows.append(("OpenHead onnxruntime decode 256x256, batch 1", median_ms(lambda: onnx.decode(code, expr, jaw), a.runs)))
    tdec = TorchWrinkleDecoder(net, 52)
    rows.append(("OpenHead torch decode 256x256, batch 1", median_ms(lambda: tdec.decode(code, expr, jaw), a.runs)))
    if torch.cuda.is_available():
        gdec = TorchWrinkleDecoder(net, 52, device="cuda")
        rows.append(("OpenHead torch CUDA decode 256x256, batch 1", median_ms(lambda: gdec.decode(code, expr, jaw), a.runs)))
    # DECA's D_detail layout (what a FLAME user's checkpoint runs); random weights, same cost
    deca = DetailDecoder(latent_dim=3 + 52 + 128).eval()
    deca_onnx = OnnxWrinkleDecoder(export_onnx(deca, Path(tempfile.mkdtemp()) / "deca.onnx"), 52)
    rows.append(("DECA-layout onnxruntime decode 256x256, batch 1",
                 median_ms(lambda: deca_onnx.decode(code, expr, jaw), a.runs)))
    model = OpenHead()
    geo = UVGeometry.of(model, model().vertices, 1024)
    d = onnx.decode(code, expr, jaw)
    rows.append(("sharp 1024 upsample + tangent normal map", median_ms(lambda: normal_map(geo, sharpen_upsample(d, 1024)), a.runs)))
    rows.append(("decode + 1024 normal map (onnxruntime)", median_ms(
        lambda: normal_map(geo, sharpen_upsample(onnx.decode(code, expr, jaw), 1024)), a.runs)))
    print(f"{'operation':<52} {'median ms':>10}")
    for name, ms in rows:
        print(f"{name:<52} {ms:>10.1f}")


if __name__ == "__main__":
    main()
