"""The detail encoder's training (training/train_detail_encoder.py) on synthetic people whose skin
detail comes from known person codes of the OpenHead detail decoder: supervised pre-training with
the self-supervised terms alongside. (At these sizes the photometric term alone does not find the
codes: the true code shades the photos no better than the prior's; benchmarks/NOTES.md.)"""
import json

import numpy as np

TINY = {"size": 96, "uv_size": 64, "texture_size": 256, "width": 16, "people_per_batch": 4,
        "images_per_person": 2, "steps": 80, "lr": 0.002, "checkpoint_every": 100, "seed": 0,
        "weights": {"photometric": 1.0, "detail_consistency": 0.5, "smooth": 0.03, "symmetry": 0.01,
                    "code_prior": 0.001, "supervised": 1.0}}


def test_tiny_training_reads_the_person_code(people, tmp_path, run_cli):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(TINY))
    code, out = run_cli(["detail-encoder", "--data", str(people), "--config", str(cfg), "--run",
                         str(tmp_path / "run"), "--export", str(tmp_path / "export")])
    assert code == 0, out.err
    rec = json.loads(out.out[out.out.index("{"):])
    hist = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(hist) == TINY["steps"]
    assert np.mean([h[1] for h in hist[-10:]]) < 0.7 * np.mean([h[1] for h in hist[:5]])    # the losses fall
    # over all the photos, the encoder's codes sit closer to the people's true codes than the prior
    assert rec["rmse_code"] < 0.8 * rec["rmse_code_of_prior"], rec
    assert np.isfinite([h[1] for h in hist]).all()
    assert (tmp_path / "export" / "detail_encoder.onnx").is_file()


def test_flame_users_fine_tune_decas_detail_encoder(people, flame_standin, tmp_path, run_cli):
    """With --head flame --deca, the encoder starts as DECA's E_detail and the decoder is DECA's
    D_detail (a synthetic checkpoint here: its wiring is real, its weights random)."""
    import torch

    from headsmith.wrinkles.deca_checkpoint import load_deca_checkpoint
    from headsmith_training.train_detail_encoder import DecaDetailEncoder

    x = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(DecaDetailEncoder(flame_standin["deca_path"]).eval()(x)["code"],
                              load_deca_checkpoint(flame_standin["deca_path"]).E_detail.eval()(x), atol=1e-5)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(dict(TINY, steps=2, weights=dict(TINY["weights"], supervised=0.0))))
    args = ["detail-encoder", "--data", str(people), "--config", str(cfg), "--run", str(tmp_path / "run"),
            "--head", "flame", "--flame", flame_standin["flame_path"], "--flame-mediapipe", flame_standin["flame_mediapipe"]]
    code, out = run_cli(args + ["--flame-uv", flame_standin["flame_uv"], "--deca", flame_standin["deca_path"]])
    assert code == 0, out.err
    rec = json.loads(out.out[out.out.index("{"):])
    assert rec["head_model"] == "flame" and rec["steps_done"] == 2 and np.isfinite(rec["first_loss"])
    code, out = run_cli(args + ["--flame-uv", flame_standin["flame_uv"]])              # no DECA networks
    assert code == 2 and "--deca" in out.err
    code, out = run_cli(args + ["--deca", flame_standin["deca_path"]])                # no UV layout
    assert code == 2 and "--flame-uv" in out.err
