"""`headsmith avatar`: the in-memory reconstruction with its wrinkle maps baked in the same run,
then the extension's headless bpy job (`python -m headsmith_blender.headless`, its own process:
torch and bpy never share one), then avatar.png laid out from its renders."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from ..atomic import write_png_atomic
from ..pictures.avatar import compose

RENDERS = ".avatar_renders.npz"   # the headless job's pose renders, read back and removed here


class AvatarError(RuntimeError):
    """A stage failed; the message says what to do."""


BLENDER_PYTHON_ENV = "HEADSMITH_BLENDER_PYTHON"
OLDEST_BPY_VENV = Path(__file__).resolve().parents[2] / ".venv-bpy42"   # made by dev.py setup


def blender_python() -> tuple[str, dict]:
    """The interpreter (one with bpy) that runs the extension's headless jobs, and its environment:
    $HEADSMITH_BLENDER_PYTHON, else the setup's oldest-Blender environment beside the source tree
    (bpy 4.2: the .blend it saves opens in Blender 4.2 .. 5.x; one saved by bpy 5.0 only in 4.5+),
    else this interpreter's own bpy. Another interpreter finds the extension through PYTHONPATH."""
    import importlib.util

    chosen = os.environ.get(BLENDER_PYTHON_ENV)
    if not chosen:
        oldest = OLDEST_BPY_VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        chosen = str(oldest) if oldest.is_file() else sys.executable
    env = dict(os.environ)
    if chosen != sys.executable:
        spec = importlib.util.find_spec("headsmith_blender")
        addon_parent = str(Path(next(iter(spec.submodule_search_locations))).parent)
        env["PYTHONPATH"] = os.pathsep.join([addon_parent] + [x for x in [env.get("PYTHONPATH")] if x])
    return chosen, env


def _run_job(module: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    python, env = blender_python()
    return subprocess.run([python, "-m", module, *args], capture_output=True, text=True, timeout=timeout, env=env)


def run_blender_job(bundle: Path, out: Path, samples: int = 16, size: int = 512, render: bool = True,
                    timeout: float = 900) -> dict:
    """The extension's headless job in its own process, then avatar.png laid out from its renders,
    written atomically. -> the job's JSON summary."""
    renders = Path(out) / RENDERS
    args = [str(bundle), str(out), "--samples", str(samples), "--size", str(size)] + \
        (["--renders", str(renders)] if render else ["--no-render"])
    p = _run_job("headsmith_blender.headless", args, timeout)
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
        raise AvatarError("building the rig in Blender failed: " + " | ".join(tail) +
                          " (is the bpy wheel installed? pip install headsmith[blender])")
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    if render:
        with np.load(renders) as z:
            pic = compose([str(x) for x in z["labels"]], z["images"])
        renders.unlink()
        write_png_atomic(Path(out) / "avatar.png", pic)
    return summary


def bundle_of(avatar_dir: Path | str) -> Path:
    """The bundle of an avatar folder (what `headsmith avatar` wrote: DIR/bundle) or the bundle
    itself; AvatarError for anything else."""
    avatar_dir = Path(avatar_dir)
    bundle = avatar_dir / "bundle" if (avatar_dir / "bundle" / "bundle.json").is_file() else avatar_dir
    if not (bundle / "bundle.json").is_file():
        raise AvatarError(f"{avatar_dir} is neither an avatar folder (with bundle/) nor a bundle; "
                          "make one with headsmith avatar PHOTO -o DIR")
    return bundle


def run_animate_job(avatar_dir: Path, take: Path, out: Path, start_frame: int = 1,
                    scene_rate: int | None = None, preview: int = 0, timeout: float = 900) -> dict:
    """`headsmith animate`: the extension's headless job keys a Live Link Face take onto the head of
    AVATAR_DIR (an avatar folder with bundle/, or a bundle) and writes OUT/TAKE.blend and .glb, and
    with `preview` OUT/TAKE.png: that many frames rendered side by side with their foreheads.
    A bad take or bundle: AvatarError with the job's own message, nothing written."""
    out = Path(out)
    bundle = bundle_of(avatar_dir)
    renders = out / f".{Path(take).stem}_renders.npz"
    args = [str(bundle), str(take), str(out), "--start-frame", str(start_frame)] + \
        (["--scene-rate", str(scene_rate)] if scene_rate else []) + \
        (["--preview", str(preview), "--renders", str(renders)] if preview else [])
    p = _run_job("headsmith_blender.headless_animate", args, timeout)
    if p.returncode != 0:
        lines = (p.stderr or p.stdout).strip().splitlines()
        said = [ln[len("error: "):] for ln in lines if ln.startswith("error: ")]
        raise AvatarError(said[-1] if said else "keying the take in Blender failed: " + " | ".join(lines[-5:]))
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    if preview:
        with np.load(renders) as z:
            pic = compose([str(x) for x in z["labels"]], z["images"])
        renders.unlink()
        write_png_atomic(out / f"{Path(take).stem}.png", pic)
        summary["files"].append(f"{Path(take).stem}.png")
    return summary


def make_avatar(photos: list[str], out: Path, settings, progress=None, samples: int = 16,
                render: bool = True, log=print, force: bool = False) -> dict:
    from ..pipeline import reconstruct
    from ..wrinkles.maps import describe_blend_error
    from ..wrinkles.sources import DecoderUnavailable

    out = Path(out)
    bundle = out / "bundle"
    try:
        res = reconstruct(photos, bundle, settings, progress=progress, wrinkles=True, force=force)
    except DecoderUnavailable as e:
        raise AvatarError(str(e)) from e
    if res.moved_aside is not None:
        log(f"the folder that was at {bundle} is now {res.moved_aside}")
    for note in res.notes:
        log(f"note: {note}")
    summary = {"reconstruct_s": sum(v for k, v in res.timings.items() if k != "wrinkles"),
               "landmark_error": res.landmark_error, "wrinkle_blend_error": res.wrinkle_blend_error}
    if res.wrinkle_blend_error is None:
        log("no wrinkle maps: this head has no detail decoder (for FLAME, give DECA's deca_model.tar)")
    else:
        log(f"wrinkle maps in {bundle / 'wrinkles'}; {describe_blend_error(res.wrinkle_blend_error)}")
    summary["blender"] = run_blender_job(bundle, out, samples=samples, render=render)
    return summary
