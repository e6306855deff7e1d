"""The longest functions of the product's code (backend/, training/, blender_addon/; benchmarks
excepted): prints the ten longest, and exits 1 when any is over the limit (80 lines).

    python3 tools/long_functions.py [--limit 80] [--top 10]
"""
import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("backend", "training", "blender_addon")


def function_lengths() -> list[tuple[int, str]]:
    rows = []
    for top in FOLDERS:
        for p in sorted((ROOT / top).rglob("*.py")):
            for n in ast.walk(ast.parse(p.read_text(), str(p))):
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    rows.append((n.end_lineno - n.lineno + 1, f"{p.relative_to(ROOT)}:{n.lineno} {n.name}"))
    return sorted(rows, reverse=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("--top", type=int, default=10)
    a = ap.parse_args(argv)
    rows = function_lengths()
    for length, where in rows[:a.top]:
        print(f"{length:4d}  {where}")
    over = [r for r in rows if r[0] > a.limit]
    print(f"{len(over)} function(s) over {a.limit} lines")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
