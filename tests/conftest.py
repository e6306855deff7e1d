"""Shared fixtures: the committed OpenHead model, meshes with known geometry made by code, the
sample photo, a fast reconstruction of it and its wrinkle maps."""
from __future__ import annotations

import math
import os
import tempfile
import warnings

import pytest
import torch

warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
# Blender's user folders (where the tests install the extension) in a temporary folder; set here,
# before any test module imports bpy, since Blender reads it once at import
os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="headsmith-blender-user-"))


def uv_sphere(n_lat: int = 48, radius: float = 1.0, dtype=torch.float64):
    """A closed sphere, counter-clockwise faces seen from outside. -> (V, 3), (F, 3)."""
    n_lon = 2 * n_lat
    verts = [[0.0, radius, 0.0]]
    for i in range(1, n_lat):
        th = math.pi * i / n_lat
        for j in range(n_lon):
            ph = 2 * math.pi * j / n_lon
            verts.append([radius * math.sin(th) * math.cos(ph), radius * math.cos(th),
                          -radius * math.sin(th) * math.sin(ph)])
    verts.append([0.0, -radius, 0.0])
    faces = []
    ring = lambda i, j: 1 + (i - 1) * n_lon + (j % n_lon)  # noqa: E731
    for j in range(n_lon):
        faces.append([0, ring(1, j), ring(1, j + 1)])
    for i in range(1, n_lat - 1):
        for j in range(n_lon):
            a, b, c, d = ring(i, j), ring(i, j + 1), ring(i + 1, j), ring(i + 1, j + 1)
            faces += [[a, c, b], [b, c, d]]
    last = len(verts) - 1
    for j in range(n_lon):
        faces.append([last, ring(n_lat - 1, j + 1), ring(n_lat - 1, j)])
    return torch.tensor(verts, dtype=dtype), torch.tensor(faces, dtype=torch.int64)


def grid_plane(n: int = 16, size: float = 1.0, dtype=torch.float64):
    """A square in the z = 0 plane facing +z, with uv = (x, y) / size + 0.5.
    -> vertices (V, 3), faces (F, 3), uv (V, 2)."""
    xs = torch.linspace(-size / 2, size / 2, n + 1, dtype=dtype)
    yy, xx = torch.meshgrid(xs, xs, indexing="ij")
    v = torch.stack([xx.ravel(), yy.ravel(), torch.zeros_like(xx.ravel())], -1)
    faces = []
    for i in range(n):
        for j in range(n):
            a, b = i * (n + 1) + j, i * (n + 1) + j + 1
            c, d = a + n + 1, b + n + 1
            faces += [[a, b, d], [a, d, c]]
    uv = v[:, :2] / size + 0.5
    return v, torch.tensor(faces), uv


@pytest.fixture(scope="session")
def openhead():
    from headsmith.headmodel import OpenHead

    return OpenHead()


@pytest.fixture(scope="session")
def astronaut_path(tmp_path_factory):
    import skimage.data
    from PIL import Image

    p = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(p)
    return p


@pytest.fixture(scope="session")
def fast_bundle(tmp_path_factory, astronaut_path):
    from headsmith.cli import main

    out = tmp_path_factory.mktemp("bundles") / "astronaut"
    assert main(["reconstruct", str(astronaut_path), "-o", str(out), "--quality", "fast"]) == 0
    return out


@pytest.fixture(scope="session")
def avatar_bundle(tmp_path_factory, fast_bundle):
    """The fast bundle plus its baked wrinkle maps (a copy: the pipeline tests keep theirs)."""
    import shutil

    from headsmith.cli import main

    out = tmp_path_factory.mktemp("avatars") / "astronaut"
    shutil.copytree(fast_bundle, out)
    assert main(["wrinkles", str(out)]) == 0
    return out


PERFORMANCE_SEGMENT = 10   # frames per segment of the synthetic performance: still, brows, smile, turn, jaw, frown


@pytest.fixture(scope="session")
def performance(tmp_path_factory, openhead):
    """A synthetic performance (known per-frame parameters, benchmarks/synthetic_video) written as a
    video, and a bundle with the performer's identity: (video, bundle, truth)."""
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from synthetic_video import render_video, write_video

    d = tmp_path_factory.mktemp("track")
    frames, truth = render_video(openhead, seed=1, frames_per_segment=PERFORMANCE_SEGMENT, size=256)
    bundle = d / "bundle"
    bundle.mkdir()
    (bundle / "bundle.json").write_text(json.dumps({"model": {"name": "openhead"},
                                                    "parameters": {"shape": truth["shape"].tolist()}}))
    return write_video(frames, d / "performance.avi"), bundle, truth


@pytest.fixture(scope="session")
def flame_standin(tmp_path_factory):
    """FLAME and DECA files in their real formats (see tests/headmodel/flame_standin.py), with a
    synthetic DECA checkpoint (random weights: its wrinkles are noise, its wiring is real)."""
    from tests.wrinkles.test_deca_checkpoint import make_checkpoint
    from tests.headmodel.flame_standin import write_flame_standin

    d = tmp_path_factory.mktemp("flame-standin")
    paths = write_flame_standin(d)
    paths["deca_path"] = d / "deca_model.tar"
    make_checkpoint(paths["deca_path"])
    return {k: str(v) for k, v in paths.items()}


FLAME_OPTIONS = {"flame_path": "--flame", "flame_landmarks": "--flame-landmarks", "flame_uv": "--flame-uv",
                 "flame_masks": "--flame-masks", "deca_path": "--deca", "flame_mediapipe": "--flame-mediapipe"}


@pytest.fixture(scope="session")
def flame_bundle(tmp_path_factory, astronaut_path, flame_standin):
    """The sample photo reconstructed on the FLAME stand-in with DECA's decoder, wrinkle maps baked."""
    from headsmith.cli import main

    out = tmp_path_factory.mktemp("bundles") / "astronaut-flame"
    args = ["reconstruct", str(astronaut_path), "-o", str(out), "--quality", "fast", "--model", "flame"]
    for key, opt in FLAME_OPTIONS.items():
        args += [opt, flame_standin[key]]
    assert main(args) == 0
    assert main(["wrinkles", str(out)]) == 0
    return out


def pytest_sessionfinish(session, exitstatus):
    session.config._headsmith_exitstatus = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Under the bpy 4.2 module (dev.py test's second pass) leave without the interpreter's
    teardown, which crashes in bpy 4.2 after every test has run and been reported (see
    headsmith_blender/core/process_exit.py): pytest's own exit status is what the run returns."""
    import sys

    bpy = sys.modules.get("bpy")
    if bpy is not None and tuple(bpy.app.version[:2]) < (4, 5) and hasattr(config, "_headsmith_exitstatus"):
        from headsmith_blender.core.process_exit import exit_now

        exit_now(config._headsmith_exitstatus)
