"""Where expression wrinkles form on a face, and which expressions form them: the one table of
wrinkle groups (the key maps an engine blends) and the anatomical regions they live in.

Eight groups, each a key map of the OpenHead decoder and of the bake (`key_blend`, `bake`):

| key           | wrinkles                                         | region      | driven by            |
|---------------|--------------------------------------------------|-------------|----------------------|
| brows_up      | forehead lines (horizontal)                      | forehead    | brow raise           |
| brows_down    | glabellar "11" lines (vertical)                  | glabella    | brow lower           |
| squint        | crow's feet (radial about the outer canthus)     | eyes        | squint, cheek squint, smile |
| blink         | lid creases (along the lids)                     | eyes        | blink, squint        |
| smile         | nasolabial fold (a groove several mm wide)       | nasolabial  | smile, upper lip up  |
| sneer         | bunny lines across the nose sides                | nose        | nose sneer           |
| pucker        | perioral lines (radial about the mouth)          | perioral    | pucker, funnel, press |
| mouth_frown   | marionette lines and chin dimpling               | lower_face  | mouth frown, shrug lower |

Regions are soft vertex masks built from the model's 68 neutral landmarks (FLAME frame, metres:
+x the head's left, +y up, +z forward), then taken to UV (`feathered_uv`). A
sided region is split left/right by the side weight; its key is driven by the side's own shape
keys (the right side reads the mirrored expression).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class WrinkleGroup:
    region: str                      # the anatomical region its key map lives in
    sided: bool                      # left and right weighted on their own (the right mirrored)
    pose: dict[str, float]           # the expression that shows the group fully (its key pose)
    drivers: tuple[str, ...]         # shape keys (left-side names) that may drive the weight
    jaw: bool = False                # jaw opening drives it too


GROUPS: dict[str, WrinkleGroup] = {
    "brows_up": WrinkleGroup("forehead", True, {"browInnerUp": 1.0, "browOuterUpLeft": 1.0, "browOuterUpRight": 1.0},
                             ("browInnerUp", "browOuterUpLeft")),
    "brows_down": WrinkleGroup("glabella", False, {"browDownLeft": 1.0, "browDownRight": 1.0},
                               ("browDownLeft", "browDownRight", "noseSneerLeft", "noseSneerRight")),
    "squint": WrinkleGroup("eyes", True, {"eyeSquintLeft": 1.0, "eyeSquintRight": 1.0, "cheekSquintLeft": 1.0,
                                          "cheekSquintRight": 1.0},
                           ("eyeSquintLeft", "cheekSquintLeft", "mouthSmileLeft")),
    "blink": WrinkleGroup("eyes", True, {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
                          ("eyeBlinkLeft", "eyeSquintLeft")),
    "smile": WrinkleGroup("nasolabial", True, {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0},
                          ("mouthSmileLeft", "mouthUpperUpLeft", "cheekSquintLeft"), jaw=True),
    "sneer": WrinkleGroup("nose", True, {"noseSneerLeft": 1.0, "noseSneerRight": 1.0},
                          ("noseSneerLeft",)),
    "pucker": WrinkleGroup("perioral", False, {"mouthPucker": 1.0, "mouthFunnel": 0.5},
                           ("mouthPucker", "mouthFunnel", "mouthPressLeft", "mouthPressRight", "mouthRollLower",
                            "mouthRollUpper")),
    "mouth_frown": WrinkleGroup("lower_face", True, {"mouthFrownLeft": 1.0, "mouthFrownRight": 1.0,
                                                     "mouthShrugLower": 0.6},
                                ("mouthFrownLeft", "mouthStretchLeft", "mouthShrugLower"), jaw=True),
}
REGIONS = ("forehead", "glabella", "eyes", "nasolabial", "nose", "perioral", "lower_face")


def mirrored_name(name: str) -> str:
    """An ARKit shape key's twin on the other side (itself when it has none)."""
    return name.replace("Left", "\0").replace("Right", "Left").replace("\0", "Right")


def _blob(v: torch.Tensor, points: torch.Tensor, radius: float) -> torch.Tensor:
    return torch.exp(-(torch.cdist(v, points.reshape(-1, 3)).min(1).values / radius) ** 2)


def segment_points(a: torch.Tensor, b: torch.Tensor, n: int = 8) -> torch.Tensor:
    t = torch.linspace(0, 1, n)[:, None]
    return a * (1 - t) + b * t


@dataclass(frozen=True)
class FaceLandmarks:
    """The neutral template and its 68 landmarks, with the anatomical points wrinkles hang on."""

    v: torch.Tensor          # (V, 3) template vertices, metres
    L: torch.Tensor          # (68, 3) landmarks
    skin: torch.Tensor       # (V,) 1 on skin vertices

    @staticmethod
    def of(model) -> "FaceLandmarks":
        with torch.no_grad():
            L = model().landmarks3d[0].detach().cpu().float()
        return FaceLandmarks(model.v_template.cpu().float(), L, (model.vertex_part.cpu() == 0).float())

    def outer_canthus(self, side: str) -> torch.Tensor:
        """(3,) just outside the eye's outer corner (side 'L' = +x)."""
        if side == "L":
            return self.L[45] + torch.tensor([0.008, 0.0, -0.006])
        return self.L[36] + torch.tensor([-0.008, 0.0, -0.006])

    def mouth_centre(self) -> torch.Tensor:
        return self.L[48:60].mean(0)

    def nasolabial_line(self, side: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(top, bottom): beside the nose wing down to beside the mouth corner."""
        if side == "L":
            return self.L[35] + torch.tensor([0.008, 0.0, -0.002]), self.L[54] + torch.tensor([0.007, -0.004, 0.0])
        return self.L[31] + torch.tensor([-0.008, 0.0, -0.002]), self.L[48] + torch.tensor([-0.007, -0.004, 0.0])

    def marionette_line(self, side: str) -> tuple[torch.Tensor, torch.Tensor]:
        if side == "L":
            return self.L[54] + torch.tensor([0.002, -0.004, 0.0]), self.L[10] + torch.tensor([-0.01, 0.012, 0.0])
        return self.L[48] + torch.tensor([-0.002, -0.004, 0.0]), self.L[6] + torch.tensor([0.01, 0.012, 0.0])


def territories(face: FaceLandmarks) -> dict[str, torch.Tensor]:
    """Soft vertex masks (V,) in [0, 1] of the places each kind of line forms (skin only)."""
    v, L = face.v, face.L
    brow_y = L[17:27, 1].max()
    front = (v[:, 2] > L[27, 2] - 0.05).float()
    forehead = torch.sigmoid((v[:, 1] - brow_y + 0.002) / 0.004) * torch.sigmoid((brow_y + 0.06 - v[:, 1]) / 0.008) \
        * torch.sigmoid((0.055 - v[:, 0].abs()) / 0.008) * front
    side = {"L": torch.sigmoid(v[:, 0] / 0.004), "R": torch.sigmoid(-v[:, 0] / 0.004)}
    glabella = _blob(v, L[[21, 22]].mean(0) + torch.tensor([0, 0.004, 0]), 0.010)
    T = {"forehead": forehead * (1 - glabella) ** 3,   # the frontalis' lines stop above the glabella
         "glabella": glabella,
         "nose_root": _blob(v, L[27] + torch.tensor([0, 0.002, 0]), 0.008),
         "bunny": _blob(v, L[[28, 29]] + torch.tensor([[0.007, 0, -0.004], [-0.007, 0, -0.004]]), 0.008),
         "perioral": _blob(v, L[48:60], 0.008) * (1 - _blob(v, L[60:68], 0.004)),
         "chin": _blob(v, L[[7, 8, 9]] + torch.tensor([0, 0.012, 0.0]), 0.013)}
    lids = {"L": (L[[43, 44]] + torch.tensor([0, 0.005, 0]), L[[46, 47]] - torch.tensor([0, 0.006, 0])),
            "R": (L[[37, 38]] + torch.tensor([0, 0.005, 0]), L[[40, 41]] - torch.tensor([0, 0.006, 0]))}
    for s in "LR":
        T[f"crows.{s}"] = _blob(v, face.outer_canthus(s), 0.014) * side[s]
        T[f"upper_lid.{s}"] = _blob(v, lids[s][0], 0.008)
        T[f"lower_lid.{s}"] = _blob(v, lids[s][1], 0.008)
        T[f"naso.{s}"] = _blob(v, segment_points(*face.nasolabial_line(s)), 0.007)
        T[f"marionette.{s}"] = _blob(v, segment_points(*face.marionette_line(s)), 0.009)
    return {k: m * face.skin for k, m in T.items()}


def region_vertex_masks(face: FaceLandmarks) -> dict[str, torch.Tensor]:
    """The wrinkle regions (REGIONS) as soft vertex masks (V,): unions of territories."""
    T = territories(face)
    both = lambda name: torch.maximum(T[f"{name}.L"], T[f"{name}.R"])  # noqa: E731
    union = lambda *ms: torch.stack(ms).max(0).values  # noqa: E731
    return {"forehead": T["forehead"], "glabella": union(T["glabella"], T["nose_root"]),
            "eyes": union(both("crows"), both("upper_lid"), both("lower_lid")),
            "nasolabial": both("naso"), "nose": T["bunny"], "perioral": T["perioral"],
            "lower_face": union(both("marionette"), T["chin"])}


def feathered_uv(model, size: int, per_vertex: torch.Tensor) -> torch.Tensor:
    """(V, C) per-vertex values -> (C, size, size) in UV space, borders feathered by two 5-tap
    binomial blurs so that blended maps show no seams."""
    import torch.nn.functional as Fn

    from ..render import interpolate
    from ..uvspace import uv_support

    raster = uv_support(model, size).raster
    uvm = interpolate(raster.fragments, model.faces.cpu(), per_vertex.cpu()[None])[0].permute(2, 0, 1)
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16
    for _ in range(2):
        uvm = Fn.conv2d(Fn.pad(uvm[:, None], (2, 2, 2, 2), mode="replicate"), (k[:, None] * k[None])[None, None])[:, 0]
    return uvm


def region_uv_masks(model, size: int) -> tuple[list[str], torch.Tensor]:
    """(REGIONS, (R, size, size)) the regions in UV, feathered, normalised to sum <= 1 per texel."""
    masks = region_vertex_masks(FaceLandmarks.of(model))
    uvm = feathered_uv(model, size, torch.stack([masks[r] for r in REGIONS], 1))
    return list(REGIONS), uvm / uvm.sum(0, keepdim=True).clamp(min=1.0)
