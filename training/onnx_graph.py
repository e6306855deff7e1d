"""A converted MediaPipe model (assets/mediapipe/*.onnx) as a trainable torch module, and its
trained weights written back into the same ONNX graph, so that fine-tuning changes numbers only:
the backend runs the result exactly as it runs the original (onnxruntime, same inputs and outputs).

Only the plain operators tools/build_mediapipe_onnx.py writes for the face mesh are understood
(Transpose, Conv, Identity, PRelu, Add, MaxPool, Pad, Sigmoid, Reshape); another graph is refused
with the operator it lacks. Float initialisers become parameters, integer ones (shapes, pads)
stay constants. A Reshape keeps the batch dimension, so the module runs batches although the
graph was written for one image."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OPS = {"Transpose", "Conv", "Identity", "PRelu", "Add", "MaxPool", "Pad", "Sigmoid", "Reshape"}


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b, at):
    top, left, bottom, right = at.get("pads", [0, 0, 0, 0])
    x = F.pad(x, (left, right, top, bottom))
    return F.conv2d(x, w, b, stride=at.get("strides", [1, 1]), dilation=at.get("dilations", [1, 1]),
                    groups=at.get("group", 1))


def _pad(x, pads):
    n = len(pads) // 2
    flat = []
    for d in reversed(range(n)):        # torch pads the last dimension first
        flat += [int(pads[d]), int(pads[d + n])]
    return F.pad(x, flat)


class OnnxGraph(torch.nn.Module):
    """The graph of an ONNX file run by torch: forward(x (B, ...) as the graph's input) -> the
    graph's outputs in order, each with batch B."""

    def __init__(self, path: Path):
        super().__init__()
        import onnx
        from onnx import numpy_helper

        model = onnx.load(str(path))
        missing = sorted({n.op_type for n in model.graph.node} - OPS)
        if missing:
            raise ValueError(f"{path}: operators {missing} are not supported for training")
        self.nodes = [(n.op_type, list(n.input), list(n.output), _attrs(n)) for n in model.graph.node]
        self.input_name = model.graph.input[0].name
        self.output_names = [o.name for o in model.graph.output]
        self.names = {}                                 # initializer name -> attribute name
        for i, init in enumerate(model.graph.initializer):
            a = numpy_helper.to_array(init).copy()
            key = f"p{i}"
            self.names[init.name] = key
            if a.dtype == np.float32:
                self.register_parameter(key, torch.nn.Parameter(torch.from_numpy(a)))
            else:
                self.register_buffer(key, torch.from_numpy(a), persistent=False)

    def _value(self, env: dict, name: str):
        return env[name] if name in env else getattr(self, self.names[name])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        env = {self.input_name: x}
        for op, ins, outs, at in self.nodes:
            v = [self._value(env, n) for n in ins if n]
            if op == "Transpose":
                y = v[0].permute(*at["perm"])
            elif op == "Conv":
                y = _conv(v[0], v[1], v[2] if len(v) > 2 else None, at)
            elif op == "Identity":
                y = v[0]
            elif op == "PRelu":
                y = torch.where(v[0] >= 0, v[0], v[0] * v[1])
            elif op == "Add":
                y = v[0] + v[1]
            elif op == "MaxPool":
                top, left, bottom, right = at.get("pads", [0, 0, 0, 0])
                y = F.max_pool2d(F.pad(v[0], (left, right, top, bottom), value=float("-inf")), at["kernel_shape"],
                                 at.get("strides", at["kernel_shape"]))
            elif op == "Pad":
                y = _pad(v[0], v[1].tolist())
            elif op == "Sigmoid":
                y = torch.sigmoid(v[0])
            else:                                       # Reshape, the batch kept
                shape = [int(s) for s in v[1].tolist()]
                y = v[0].reshape([v[0].shape[0]] + shape[1:])
            env[outs[0]] = y
        return [env[n] for n in self.output_names]


def write_weights(net: OnnxGraph, source: Path, target: Path) -> None:
    """Copy `source` (the graph `net` was built from) to `target` with net's trained parameters in
    place of its float initialisers; written atomically."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(source))
    for init in model.graph.initializer:
        p = getattr(net, net.names[init.name])
        if isinstance(p, torch.nn.Parameter):
            init.CopyFrom(numpy_helper.from_array(p.detach().cpu().numpy().astype(np.float32), init.name))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(target)
