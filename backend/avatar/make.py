"""`headsmith avatar`: reconstruct, bake the wrinkle maps, and run the extension's headless bpy
job (headsmith_blender.headless), then lay out avatar.png."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from .picture import compose


class AvatarError(RuntimeError):
    """A stage failed; the message says what to do."""


def run_blender_job(bundle: Path, out: Path, samples: int = 16, size: int = 512, render: bool = True,
                    timeout: float = 900) -> dict:
    """The extension's headless job (headsmith_blender.headless) in its own process, then
    avatar.png laid out from its renders, written atomically."""
    from headsmith_blender.headless import RENDERS

    cmd = [sys.executable, "-m", "headsmith_blender.headless", str(bundle), str(out),
           "--samples", str(samples), "--size", str(size)] + ([] if render else ["--no-render"])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
        raise AvatarError("building the rig in Blender failed: " + " | ".join(tail) +
                          " (is the bpy wheel installed? pip install headsmith[blender])")
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    if render:
        renders = Path(out) / RENDERS
        with np.load(renders) as z:
            pic = compose([str(x) for x in z["labels"]], z["images"])
        renders.unlink()
        tmp = Path(out) / ".avatar.png.tmp.png"
        if not cv2.imwrite(str(tmp), cv2.cvtColor(pic, cv2.COLOR_RGB2BGR)):
            raise AvatarError(f"could not write {tmp}")
        os.replace(tmp, Path(out) / "avatar.png")
    return summary


def make_avatar(photos: list[str], out: Path, settings, progress=None, samples: int = 16,
                render: bool = True, log=print) -> dict:
    from ..detail.sources import DecoderUnavailable
    from ..detail.wrinkle_maps import bake_bundle
    from ..pipeline import reconstruct

    out = Path(out)
    bundle = out / "bundle"
    res = reconstruct(photos, bundle, settings, progress=progress)
    summary = {"reconstruct_s": sum(res.timings.values()), "landmark_error": res.landmark_error}
    try:
        summary["wrinkle_blend_error"] = bake_bundle(bundle, log=log)
    except DecoderUnavailable as e:
        raise AvatarError(str(e)) from e
    if summary["wrinkle_blend_error"] is None:
        log("no wrinkle maps: this head has no detail decoder (for FLAME, give DECA's deca_model.tar)")
    summary["blender"] = run_blender_job(bundle, out, samples=samples, render=render)
    return summary
