"""`headsmith avatar`: reconstruct, bake the wrinkle maps, and run the bpy job (blender_job.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


class AvatarError(RuntimeError):
    """A stage failed; the message says what to do."""


def _pythonpath() -> str:
    """The extension package must import in the child even from a source checkout."""
    addon = Path(__file__).resolve().parents[2] / "blender_addon"
    parts = [str(addon)] if (addon / "headsmith_blender").is_dir() else []
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(parts)


def run_blender_job(bundle: Path, out: Path, samples: int = 16, size: int = 512, render: bool = True,
                    timeout: float = 900) -> dict:
    cmd = [sys.executable, "-m", "headsmith.avatar.blender_job", str(bundle), str(out),
           "--samples", str(samples), "--size", str(size)] + ([] if render else ["--no-render"])
    env = dict(os.environ, PYTHONPATH=_pythonpath())
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
        raise AvatarError("building the rig in Blender failed: " + " | ".join(tail) +
                          " (is the bpy wheel installed? pip install headsmith[blender])")
    return json.loads(p.stdout.strip().splitlines()[-1])


def make_avatar(photos: list[str], out: Path, settings, progress=None, samples: int = 16,
                render: bool = True, log=print) -> dict:
    from ..detail.decoder import OnnxWrinkleDecoder
    from ..detail.person import OPENHEAD_DECODER_ONNX
    from ..detail.wrinkle_maps import write_wrinkle_maps
    from ..headmodel import OpenHead
    from ..pipeline import reconstruct

    out = Path(out)
    bundle = out / "bundle"
    res = reconstruct(photos, bundle, settings, progress=progress)
    summary = {"reconstruct_s": sum(res.timings.values()), "landmark_error": res.landmark_error}
    if settings.model == "openhead":
        model = OpenHead()
        if not OPENHEAD_DECODER_ONNX.is_file():
            raise AvatarError("the OpenHead detail decoder is missing from assets/detail/; train it with "
                              "headsmith-train detail --export assets/detail")
        summary["wrinkle_blend_error"] = write_wrinkle_maps(
            bundle, model, OnnxWrinkleDecoder(OPENHEAD_DECODER_ONNX, model.n_expression), log=log)
    summary["blender"] = run_blender_job(bundle, out, samples=samples, render=render)
    return summary
