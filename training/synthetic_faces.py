"""A synthetic identity-grouped photo folder with known parameters, for supervised pre-training of
the encoders and for tests: OpenHead people (identity drawn from the prior), each photographed
several times with its own expression, jaw, head turn and light, made up as a face
(headmodel.appearance: brows, lash lines, lips, a hair cap, irises) on a random backdrop.

    ROOT/person_000/000.png ...    sRGB PNGs, `size` pixels square
    ROOT/truth.json                {person: {"shape": [...], "detail_code": [8], "photos": {"000.png":
                                    {"expression": [52], "jaw": radians, "rotation": axis-angle [3] (model frame)}}}}

Each person also has skin detail: a person code of the OpenHead detail decoder (detail.person's 8
dims: depth, age, density, pores, pattern weights), decoded at each photo's expression and jaw and
shaded into the photo as the reconstruction's shape from shading models it (the texture times the
ratio of the SH shading of the displaced normals to that of the smooth ones), so the detail
encoder's code can be measured against the truth.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import torch

TEXTURE = 512     # the made-up skin texture's side (painting it is most of a person's cost)


def detail_shaded(model, decoder, posed: torch.Tensor, light: torch.Tensor, code: np.ndarray, params: dict,
                  albedo: torch.Tensor) -> torch.Tensor:
    """albedo (1, 3, T, T) linear -> the same with the decoded detail's shading ratio multiplied in."""
    from headsmith.detail.person import decode_torch
    from headsmith.render.shading import sh_shading
    from headsmith.render.uv import displacement_to_normal
    from headsmith.uvspace import surface_maps, uv_support
    from headsmith.wrinkles.texture_decoder import CODE_DIM

    with torch.no_grad():
        c = torch.zeros(1, CODE_DIM)
        c[0, :len(code)] = torch.tensor(code, dtype=torch.float32)
        jaw = torch.tensor([[params["jaw"], 0.0, 0.0]])
        D = decode_torch(decoder, c, torch.tensor([params["expression"]], dtype=torch.float32), jaw)
        sup = uv_support(model, D.shape[-1])
        P, N = surface_maps(sup.raster, posed, model.faces.cpu())
        n = displacement_to_normal(P, N, D, sup.raster.mask)
        ratio = (sh_shading(n, light).mean(-1) / sh_shading(N, light).mean(-1).clamp(min=1e-3)).clamp(0.5, 1.5)
        ratio = torch.where(sup.raster.mask, ratio, torch.ones_like(ratio))
        up = torch.nn.functional.interpolate(ratio[:, None], size=albedo.shape[-2:], mode="bilinear", align_corners=False)
    return (albedo * up).clamp(0, 1)


def _detail_code(rng: np.random.Generator) -> np.ndarray:
    """A person's 8 detail dims: depth, age, density, pores uniform, one dominant line pattern."""
    code = np.concatenate([rng.uniform(0.1, 0.95, 4), np.full(4, 0.05)])
    code[4 + rng.integers(4)] = 0.85
    return code


def _photo(model, renderer, shape, tex, params: dict, rng: np.random.Generator, size: int,
           detail=None) -> np.ndarray:
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
    if detail is not None:
        decoder, code = detail
        tex = detail_shaded(model, decoder, out.vertices, light, code, params, tex)
    with torch.no_grad():
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
    from headsmith.wrinkles.texture_decoder import load_openhead_decoder

    model = model or OpenHead()
    decoder = load_openhead_decoder(n_expression=model.n_expression)
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
        code = _detail_code(rng)
        truth[name] = {"shape": shape.tolist(), "detail_code": code.tolist(), "photos": {}}
        for k in range(per_person):
            params = _draw_params(model, rng)
            img = _photo(model, renderer, torch.tensor(shape, dtype=torch.float32)[None], tex, params, rng, size,
                         None if decoder is None else (decoder, code))
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
