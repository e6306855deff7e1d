"""Rebuild assets/detail/openhead_detail.onnx from the committed torch weights
(assets/detail/openhead_detail.pt), without retraining: for when the decoder's graph changes
(e.g. an operator onnxruntime runs faster) but its weights do not. Prints the largest difference
between the torch and onnxruntime decodes on random latents.

    .venv/bin/python tools/export_detail_onnx.py
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from headsmith.wrinkles.decoder import OnnxWrinkleDecoder, export_onnx
from headsmith.wrinkles.texture_decoder import OPENHEAD_DECODER, OPENHEAD_DECODER_ONNX, load_openhead_decoder


def main() -> int:
    net = load_openhead_decoder(OPENHEAD_DECODER)
    if net is None:
        print(f"{OPENHEAD_DECODER} not found", file=sys.stderr)
        return 2
    export_onnx(net, OPENHEAD_DECODER_ONNX)
    latent = np.random.default_rng(0).normal(0, 0.5, (4, net.latent_dim)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(latent))[:, 0].numpy()
    got = OnnxWrinkleDecoder(OPENHEAD_DECODER_ONNX, net.latent_dim - 3 - 128)._run(latent)
    print(f"wrote {OPENHEAD_DECODER_ONNX}; torch vs onnxruntime max |difference| "
          f"{np.abs(ref - got).max() * 1e6:.4f} um (decode max {np.abs(ref).max() * 1e6:.1f} um)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
