"""A synthetic identity-grouped photo folder with known parameters, for supervised pre-training of
the encoders and for tests: OpenHead people (identity drawn from the prior), each photographed
several times with its own expression, jaw, head turn and light, made up as a face
(headmodel.appearance: brows, lash lines, lips, a hair cap, irises) on a random backdrop.

    ROOT/person_000/000.png ...    sRGB PNGs, `size` pixels square
    ROOT/truth.json                {person: {"shape": [...], "photos": {"000.png": {"expression": [52],
                                    "jaw": radians, "rotation": axis-angle [3] (model frame)}}}}
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

TEXTURE = 512     # the made-up skin texture's side (painting it is most of a person's cost)


def _photo(model, renderer, shape, tex, params: dict, rng: np.random.Generator, size: int) -> np.ndarray:
    from headsmith.headmodel import HeadPose
    from headsmith.imageio.color import linear_to_srgb, to_uint8
    from headsmith.render import OrthographicCamera, default_light

    pose = HeadPose.zeros(1)
    pose.global_rot[0] = torch.tensor(params["rotation"], dtype=torch.float32)
    pose.jaw[0, 0] = params["jaw"]
    light = default_light()
    light[0, 0] *= float(rng.uniform(0.8, 1.2))
    light[0, 1:4] += torch.tensor(rng.uniform(-0.4, 0.4, (3, 1)), dtype=torch.float32)
    cam = OrthographicCamera(torch.tensor([[rng.uniform(4.0, 5.0), rng.uniform(-0.03, 0.03), rng.uniform(0.0, 0.05)]],
                                          dtype=torch.float32))
    with torch.no_grad():
        out = model(shape=shape, expression=torch.tensor([params["expression"]], dtype=torch.float32), pose=pose)
        r = renderer.render(out.vertices, cam, (size, size), light=light, texture=tex)
    a = r.alpha[0].numpy()                      # (S, S, 1)
    back = cv2.resize(rng.uniform(30, 220, (4, 4, 3)), (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(to_uint8(linear_to_srgb(r.image[0])) * a + back * (1 - a), 0, 255).astype(np.uint8)


def _draw_params(model, rng: np.random.Generator) -> dict:
    """A few ARKit keys (0.2..0.8), the jaw open on a third, yaw +-35, pitch +-12, roll +-8 degrees."""
    from headsmith.fit.terms import fitted_expressions

    expr = np.zeros(model.n_expression)
    keys = rng.choice(fitted_expressions(model.expression_names), 3, replace=False)
    expr[keys] = rng.uniform(0.2, 0.8, 3)
    rot = np.radians([rng.uniform(-12, 12), rng.uniform(-35, 35), rng.uniform(-8, 8)])
    jaw = float(rng.uniform(0.1, 0.35)) if rng.random() < 1 / 3 else 0.0
    return {"expression": expr.tolist(), "jaw": jaw, "rotation": rot.tolist()}


def make_synthetic_folder(root: Path, people: int, per_person: int, size: int = 256, seed: int = 0,
                          model=None, log=print) -> dict:
    """Write the folder (see the module's docstring); -> the truth it records."""
    from headsmith.headmodel import OpenHead
    from headsmith.headmodel.appearance import paint_face, paint_irises
    from headsmith.render import MeshRenderer

    model = model or OpenHead()
    rng = np.random.default_rng(seed)
    renderer = MeshRenderer(model.faces, model.uv_layout.uv, model.uv_layout.faces)
    root = Path(root)
    truth = {}
    for p in range(people):
        name = f"person_{p:03d}"
        shape = rng.normal(0, 1.0, model.n_shape)
        tone = np.array([rng.uniform(0.35, 0.7), 0, 0])
        tone[1], tone[2] = tone[0] * rng.uniform(0.62, 0.78), tone[0] * rng.uniform(0.45, 0.62)
        noise = cv2.resize(rng.normal(0, 0.04, (16, 16, 3)), (TEXTURE, TEXTURE), interpolation=cv2.INTER_CUBIC)
        albedo = paint_irises(model, paint_face(model, np.clip(tone * (1 + noise), 0.02, 1), rng))
        tex = torch.tensor(albedo, dtype=torch.float32).permute(2, 0, 1)[None]
        (root / name).mkdir(parents=True, exist_ok=True)
        truth[name] = {"shape": shape.tolist(), "photos": {}}
        for k in range(per_person):
            params = _draw_params(model, rng)
            img = _photo(model, renderer, torch.tensor(shape, dtype=torch.float32)[None], tex, params, rng, size)
            cv2.imwrite(str(root / name / f"{k:03d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            truth[name]["photos"][f"{k:03d}.png"] = params
    (root / "truth.json").write_text(json.dumps(truth))
    log(f"wrote {people} people x {per_person} photos to {root}")
    return truth


def add_arguments(d) -> None:
    """`headsmith-train make-synthetic`'s options."""
    d.add_argument("--out", type=Path, required=True, help="the folder to write (ROOT/PERSON/*.png, truth.json)")
    d.add_argument("--people", type=int, default=100)
    d.add_argument("--per-person", type=int, default=4)
    d.add_argument("--size", type=int, default=256, help="photo side, pixels")
    d.add_argument("--seed", type=int, default=0)


def run(a, command: str) -> int:
    make_synthetic_folder(a.out, a.people, a.per_person, a.size, a.seed)
    return 0
