"""`headsmith-train`: the training package's commands.

    headsmith-train detail ...   the OpenHead detail (wrinkle) decoder (train_detail.py)
    headsmith-train init ...     the fit's learned initialiser (train_init.py)
"""
from __future__ import annotations

import argparse
import sys

from . import train_detail, train_init


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="headsmith-train", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    train_detail.add_arguments(sub.add_parser("detail", help="the OpenHead detail (wrinkle) decoder"))
    train_init.add_arguments(sub.add_parser("init", help="the fit's learned initialiser (dense landmarks -> "
                                                         "head parameters)"))
    a = ap.parse_args(argv)
    command = "headsmith-train " + " ".join(argv)
    return (train_detail if a.cmd == "detail" else train_init).run(a, command)


if __name__ == "__main__":
    raise SystemExit(main())
