"""A tiny training run on the synthetic generator: the loss falls, and the run resumes."""
import json

from headsmith_training.train_detail import train


def test_short_training_run_loss_falls_and_resumes(tmp_path, openhead):
    cfg = {"architecture": "gated_texture", "texture_init": "generator", "texture_lr_scale": 0.1, "squared": True,
           "size": 64, "dataset_size": 64, "batch": 8, "steps": 40, "lr": 0.01, "grad_weight": 1.0,
           "seed": 0, "checkpoint_every": 20}
    res = train(cfg, tmp_path / "run", resume=False, model=openhead, log=lambda *a: None)
    h = res["history"]
    first = sum(x[1] for x in h[:5]) / 5
    last = sum(x[1] for x in h[-5:]) / 5
    assert last < 0.8 * first
    cfg["steps"] = 50
    res2 = train(cfg, tmp_path / "run", resume=True, model=openhead, log=lambda *a: None)
    assert res2["step"] == 50 and len(res2["history"]) == 50
    assert json.loads((tmp_path / "run" / "history.json").read_text())[-1][0] == 50
