"""The in-memory avatar run: the wrinkle maps are baked in the same run as the reconstruction,
with the head model and the wrinkle decoder built once, and they are what a re-bake of the
written bundle gives."""
from collections import Counter

import cv2

from headsmith.pipeline import ReconstructSettings, rebake_bundle, reconstruct


def _count_constructions(monkeypatch, counts: Counter) -> None:
    import headsmith.pipeline.stages as stages
    from headsmith.headmodel import OpenHead
    from headsmith.wrinkles.decoder import OnnxWrinkleDecoder

    def counted(cls, key):
        init = cls.__init__

        def wrapper(self, *a, **k):
            counts[key] += 1
            init(self, *a, **k)
        monkeypatch.setattr(cls, "__init__", wrapper)

    counted(OpenHead, "OpenHead")
    counted(OnnxWrinkleDecoder, "wrinkle decoder")
    load = stages.load_head_model
    monkeypatch.setattr(stages, "load_head_model", lambda *a, **k: counts.update(["factory"]) or load(*a, **k))


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted((folder / "wrinkles").iterdir())}


def test_wrinkles_are_baked_in_the_same_run(astronaut_path, tmp_path, monkeypatch):
    counts = Counter()
    _count_constructions(monkeypatch, counts)
    out = tmp_path / "bundle"
    res = reconstruct([astronaut_path], out, ReconstructSettings(quality="fast"), wrinkles=True)
    assert counts == {"OpenHead": 1, "factory": 1, "wrinkle decoder": 1}
    assert res.wrinkle_blend_error["mean_um"] < res.wrinkle_blend_error["signal_mean_um"]
    assert set(res.timings) >= {"fit", "detail", "wrinkles", "bundle"}
    baked = _files(out)
    assert "wrinkles.json" in baked and any(n.startswith("wrinkle_brows_up") for n in baked)
    assert cv2.imread(str(out / "wrinkles.png")) is not None
    # baking the written bundle again (it reads the code, shape and residual back from disk)
    # gives the same files: the run baked from exactly what the bundle stores
    rebake_bundle(out)
    assert _files(out) == baked
