"""OpenHead landmark embedding vs dlib: dlib's 68-point predictor on 512 px renders of the mean
neutral head, mean distance to the model's projected landmarks / inter-ocular distance.

    .venv/bin/python benchmarks/bench_landmarks.py

Same renders as tests/headmodel/test_landmarks_dlib.py (targets: <= 4% frontal, <= 6% at +-30).
"""
from __future__ import annotations

import numpy as np

from headsmith.pictures.contact_sheet import Tile, render_tile
from headsmith.detect import Dlib68
from headsmith.headmodel import OpenHead
from headsmith.render import MeshRenderer


def main():
    model = OpenHead()
    det = Dlib68(upsample=0)
    renderer = MeshRenderer(model.faces)
    print(f"{'yaw':>5} {'mean / IOD':>11} {'contour':>8} {'inner':>7}")
    for yaw in (-45, -30, -15, 0, 15, 30, 45):
        img, lmk = render_tile(model, renderer, Tile(f"yaw {yaw}", yaw_deg=yaw), 512)
        faces = det.detect(img)
        if not faces:
            print(f"{yaw:>+5}  dlib found no face")
            continue
        iod = np.linalg.norm(lmk[36] - lmk[45])
        e = np.linalg.norm(faces[0].points - lmk, axis=1) / iod * 100
        print(f"{yaw:>+5} {e.mean():>10.2f}% {e[:17].mean():>7.2f}% {e[17:].mean():>6.2f}%")


if __name__ == "__main__":
    main()
