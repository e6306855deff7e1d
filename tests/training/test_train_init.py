"""`headsmith-train init` in small: the loss falls, the guess beats the mean on held-out heads, and
the exported ONNX network answers as the torch one does."""
import numpy as np
import torch

from headsmith_training.train_init import export, train

CFG = {"dataset_size": 4096, "shape_sd": 1.0, "expression_floor": 0.1, "expression_active": 0.08,
       "jaw_max": 0.4, "yaw_deg": 50, "pitch_deg": 25, "roll_deg": 20, "noise": 0.01, "width": 128, "batch": 128,
       "steps": 300, "lr": 0.003, "loss_weights": {"expression": 4.0, "jaw": 20.0, "rotation": 20.0},
       "seed": 0}


def test_tiny_training_learns_pose_and_exports(tmp_path, openhead):
    import onnxruntime as ort

    res = train(CFG, tmp_path / "run", log=lambda *a: None, model=openhead)
    r = res["record"]
    assert r["final_loss_mean_last100"] < 0.7 * r["first_loss"]
    assert r["heldout_rmse_rotation"] < 0.5 * r["heldout_rmse_rotation_of_mean_guess"]
    assert r["heldout_rmse_jaw"] < r["heldout_rmse_jaw_of_mean_guess"]
    export(res["net"], res["n_points"], tmp_path / "export", r)
    x = torch.randn(3, res["n_points"] * 2)
    with torch.no_grad():
        want = res["net"](x).numpy()
    sess = ort.InferenceSession(str(tmp_path / "export" / "openhead_init.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"points": x.numpy()})[0]
    assert np.allclose(got, want, atol=1e-4)
    assert (tmp_path / "export" / "openhead_init.json").is_file()
