"""`headsmith-train`: the training package's commands.

    headsmith-train detail ...   the OpenHead detail (wrinkle) decoder (train_detail.py)
    headsmith-train init ...     the fit's learned initialiser (train_init.py)
    headsmith-train coarse ...   the coarse encoder, from photo folders (train_coarse.py)
    headsmith-train detail-encoder ...   the detail encoder, from photo folders (train_detail_encoder.py)
    headsmith-train make-synthetic ...   a synthetic photo folder with known parameters (synthetic_faces.py)
    headsmith-train landmark-renders ...   renders of OpenHead with its true dense points (landmark_renders.py)
    headsmith-train landmarks ...   the dense landmarker fine-tuned to OpenHead's points (train_landmarks.py)
"""
from __future__ import annotations

import argparse
import sys

from . import (landmark_renders, synthetic_faces, train_coarse, train_detail, train_detail_encoder, train_init,
               train_landmarks)
from .face_folders import DataError


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="headsmith-train", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    train_detail.add_arguments(sub.add_parser("detail", help="the OpenHead detail (wrinkle) decoder"))
    train_init.add_arguments(sub.add_parser("init", help="the fit's learned initialiser (dense landmarks -> "
                                                         "head parameters)"))
    train_coarse.add_arguments(sub.add_parser("coarse", help="the coarse encoder (photo -> head parameters), "
                                                             "self-supervised on folders of people"))
    train_detail_encoder.add_arguments(sub.add_parser("detail-encoder", help="the detail encoder (photo -> the "
                                                                             "detail decoder's person code)"))
    synthetic_faces.add_arguments(sub.add_parser("make-synthetic", help="a synthetic folder of people with "
                                                                        "known parameters (tests, pre-training)"))
    landmark_renders.add_arguments(sub.add_parser("landmark-renders", help="renders of OpenHead people with the true "
                                                                          "image position of each dense landmark"))
    train_landmarks.add_arguments(sub.add_parser("landmarks", help="MediaPipe's face mesh fine-tuned to OpenHead's own "
                                                                   "points (on landmark-renders)"))
    a = ap.parse_args(argv)
    command = "headsmith-train " + " ".join(argv)
    commands = {"detail": train_detail, "init": train_init, "coarse": train_coarse,
                "detail-encoder": train_detail_encoder, "make-synthetic": synthetic_faces,
                "landmark-renders": landmark_renders, "landmarks": train_landmarks}
    try:
        return commands[a.cmd].run(a, command)
    except DataError as e:
        print(f"headsmith-train {a.cmd}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
