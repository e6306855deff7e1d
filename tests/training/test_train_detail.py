"""A tiny training run on the synthetic generator: the loss falls, and the run resumes."""
import json

from headsmith_training.train_detail import train


def test_short_training_run_loss_falls_and_resumes(tmp_path, openhead):
    cfg = {"architecture": "key_blend", "texture_init": "generator", "texture_lr_scale": 0.1, "squared": True,
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


def test_run_writes_a_tensorboard_log(tmp_path, openhead):
    """Every step's losses and learning rate in RUN/tensorboard, read back with TensorBoard's own
    reader; a resumed run continues the same curve."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = {"architecture": "key_blend", "texture_init": "generator", "texture_lr_scale": 0.1, "squared": True,
           "size": 32, "dataset_size": 24, "batch": 4, "steps": 6, "lr": 0.01, "grad_weight": 1.0,
           "seed": 1, "checkpoint_every": 3}
    train(cfg, tmp_path / "run", resume=False, model=openhead, log=lambda *a: None, stop_at=4)
    train(cfg, tmp_path / "run", resume=True, model=openhead, log=lambda *a: None)
    acc = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    acc.Reload()
    steps = sorted({e.step for e in acc.Scalars("train/loss")})
    assert steps == list(range(1, 7)) and len(acc.Scalars("train/lr")) >= 6
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    last = {e.step: e.value for e in acc.Scalars("train/loss")}
    assert abs(last[6] - history[-1][1]) < 1e-6
    record = json.loads((tmp_path / "run" / "run.json").read_text())        # config and seed with the run
    assert record["config"] == cfg and record["seed"] == 1 and [s["resume"] for s in record["starts"]] == [False, True]
