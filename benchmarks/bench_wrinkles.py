"""Wrinkles that read (issue 21): for each wrinkle group of the shipped OpenHead decoder, the
dynamic part's RMS in its own anatomical region and in the others, the direction of its lines,
the map at rest; then the baked blend against re-decoding on 100 random expressions. For the
detail prior's code (what a photo starts from) and a shallow and a deep person.

    .venv/bin/python benchmarks/bench_wrinkles.py [--decoder assets/detail/openhead_detail.onnx]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import machine  # noqa: E402

from headsmith.detail.person import PERSON_PRIOR
from headsmith.headmodel import OpenHead
from headsmith.wrinkles.anatomy import GROUPS, REGIONS
from headsmith.wrinkles.decoder import OnnxWrinkleDecoder
from headsmith.wrinkles.group_metrics import GroupMeter
from headsmith.wrinkles.maps import bake_wrinkle_maps
from headsmith.wrinkles.texture_decoder import CODE_DIM, OPENHEAD_DECODER_ONNX

PEOPLE = {"prior": PERSON_PRIOR, "shallow": (0.2, 0.2, 0.1, 0.5, 0.85, 0.05, 0.05, 0.05),
          "deep": (0.9, 0.9, 0.6, 0.5, 0.05, 0.85, 0.05, 0.05)}
OWN_MIN_UM, RATIO_MIN, ORIENTATION_MIN = 60.0, 3.0, 0.6   # the bar (orientation: this bench's)


def code_of(p) -> np.ndarray:
    c = np.zeros(CODE_DIM, np.float32)
    c[:len(p)] = p
    return c


def group_table(meter: GroupMeter, decoder, code: np.ndarray) -> int:
    """Print one person's table; -> how many groups meet the bar."""
    print(f"{'group':<12}" + "".join(f"{r[:10]:>11}" for r in REGIONS) + f"{'ratio':>8}{'orient':>8}  ok")
    met = 0
    for g in GROUPS:
        r = meter.read(decoder, code, g)
        ok = r.own_um >= OWN_MIN_UM and r.ratio >= RATIO_MIN and (r.orientation is None or r.orientation >= ORIENTATION_MIN)
        met += ok
        orient = "" if r.orientation is None else f"{r.orientation:.2f}"
        print(f"{g:<12}" + "".join(f"{r.rms_um[x]:>11.1f}" for x in REGIONS) + f"{r.ratio:>8.1f}{orient:>8}  {'yes' if ok else 'NO'}")
    return met


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--decoder", type=Path, default=OPENHEAD_DECODER_ONNX)
    a = ap.parse_args()
    print(f"machine: {machine()}; decoder {a.decoder}")
    model = OpenHead()
    decoder = OnnxWrinkleDecoder(a.decoder, model.n_expression)
    meter = GroupMeter(model, decoder.size)
    print(f"regions (texels >= 0.5 of {decoder.size}^2): " + ", ".join(f"{r} {int(m.sum())}" for r, m in meter.regions.items()))
    print(f"bar: own RMS >= {OWN_MIN_UM:.0f} um, own / largest other >= {RATIO_MIN:.0f}, "
          f"orientation (share of gradient energy across the lines) >= {ORIENTATION_MIN}")
    for name, p in PEOPLE.items():
        code = code_of(p)
        print(f"\n{name} {tuple(p)}: dynamic RMS per region, micrometres (pose - rest)")
        met = group_table(meter, decoder, code)
        rest = np.zeros((1, model.n_expression), np.float32)
        z = np.zeros((1, 3), np.float32)
        maps = bake_wrinkle_maps(model, decoder, code, None, torch.zeros(1, model.n_shape))
        at_rest = np.abs(maps.baked.blend(rest, np.zeros(1))[0] - decoder.decode(code[None], rest, z)[0]).max()
        err = maps.blend_error
        print(f"groups meeting the bar: {met}/{len(GROUPS)}; key weights at rest: "
              f"{maps.baked.region_weights(rest, np.zeros(1)).max():.3g}; |blend - decode| at rest {at_rest * 1e6:.3g} um")
        print(f"blend vs re-decode, 100 random expressions: RMS {err['rms_um']:.2e} um of a dynamic RMS "
              f"{err['signal_rms_um']:.2f} um ({100 * err['rms_um'] / err['signal_rms_um']:.1e} %); "
              f"mean {err['mean_um']:.2e} um, p95 {err['p95_um']:.2e} um")


if __name__ == "__main__":
    main()
