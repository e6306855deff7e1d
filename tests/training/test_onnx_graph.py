"""The shipped face mesh run by torch (training/onnx_graph.py) answers as onnxruntime does, for a
batch, and trained weights written back into the graph are what onnxruntime then runs."""
import numpy as np
import pytest
import torch

from headsmith_training.onnx_graph import OnnxGraph, write_weights
from headsmith_training.train_landmarks import SOURCE


def _ort(path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_torch_graph_matches_onnxruntime_on_a_batch():
    net = OnnxGraph(SOURCE)
    x = np.random.default_rng(0).random((2, 256, 256, 3)).astype(np.float32)
    with torch.no_grad():
        got = [o.numpy() for o in net(torch.from_numpy(x))]
    sess = _ort(SOURCE)
    for b in range(2):
        want = sess.run(None, {"in0": x[b:b + 1]})
        for g, w in zip(got, want):
            assert np.abs(g[b:b + 1].reshape(w.shape) - w).max() < 2e-3 * max(1.0, np.abs(w).max() / 100)
    assert got[0].shape == (2, 1, 1, 1434)


def test_written_weights_are_what_onnxruntime_runs(tmp_path):
    net = OnnxGraph(SOURCE)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(0.97)
    write_weights(net, SOURCE, tmp_path / "changed.onnx")
    x = np.random.default_rng(1).random((1, 256, 256, 3)).astype(np.float32)
    with torch.no_grad():
        mine = net(torch.from_numpy(x))[0].numpy().reshape(-1)
    theirs = _ort(tmp_path / "changed.onnx").run(None, {"in0": x})[0].reshape(-1)
    original = _ort(SOURCE).run(None, {"in0": x})[0].reshape(-1)
    assert np.abs(mine - theirs).max() < 2e-3
    assert np.abs(original - theirs).max() > 0.5         # the new weights, not the old ones


def test_a_graph_with_other_operators_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Softmax", ["x"], ["y"])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    onnx.save(helper.make_model(g), str(tmp_path / "softmax.onnx"))
    with pytest.raises(ValueError, match="Softmax"):
        OnnxGraph(tmp_path / "softmax.onnx")
