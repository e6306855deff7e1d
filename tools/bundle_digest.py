"""Digest of a reconstruction of the sample photo: an MD5 per bundle file (bundle.json without
its timings and photo path), on one CPU thread, where the fit is deterministic. Two checkouts
that print the same digests make the same bundles: the check behind a refactor that must not
change behaviour.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bundle_digest.py OUT [fast|default|high]

(To run an older checkout, put a folder first on PYTHONPATH whose `headsmith` links to that
checkout's backend/.)
"""
import hashlib
import json
import sys
from pathlib import Path

import cv2
import skimage.data
import torch

from headsmith.pipeline import ReconstructSettings, reconstruct


def main(out: Path, quality: str) -> None:
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    p = out / "astronaut.png"
    cv2.imwrite(str(p), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    reconstruct([p], out / "b", ReconstructSettings(quality=quality))
    meta = json.loads((out / "b/bundle.json").read_text())
    meta["provenance"].pop("timings_s")
    for ph in meta["parameters"]["photos"]:
        ph.pop("photo")
    digests = {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in sorted((out / "b").iterdir())
               if f.name != "bundle.json"}
    digests["bundle.json"] = hashlib.md5(json.dumps(meta, sort_keys=True).encode()).hexdigest()
    print(json.dumps(digests, indent=0))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "default")
