"""Convert MediaPipe's face models (Apache-2.0) from TFLite to ONNX, once, into assets/mediapipe/.

Why: the wheels that carry these models (mediapipe <= 0.10.21) can vanish from PyPI any day, and
the newer ones ship no model; the product runs the converted ONNX files through onnxruntime, which
it already depends on. This script is the committed way to rebuild them:

    python3 -m venv /tmp/mpbuild
    /tmp/mpbuild/bin/pip install tflite==2.18.0 "numpy<2" onnx==1.23.2 onnxruntime ai-edge-litert==2.3.0
    /tmp/mpbuild/bin/pip download --no-deps mediapipe==0.10.21 -d /tmp/mpwheel   # the cp311 wheel
    /tmp/mpbuild/bin/python tools/build_mediapipe_onnx.py /tmp/mpwheel/mediapipe-0.10.21-*.whl

It reads the .tflite flatbuffers with the `tflite` package and writes an ONNX graph op by op (the
models use only CONV_2D, DEPTHWISE_CONV_2D, ADD, PRELU, RELU, MAX_POOL_2D, PAD, RESHAPE,
CONCATENATION and DEQUANTIZE of float16 weights, which become float32 initializers). Tensors are
NCHW inside; inputs and outputs keep TFLite's NHWC shapes, so the ONNX files are drop-in. With
ai-edge-litert installed it checks every output against the TFLite interpreter on real and random
inputs and prints the largest difference.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

import numpy as np

MODELS = {   # wheel path -> asset name
    "mediapipe/modules/face_landmark/face_landmark.tflite": "face_landmark.onnx",
    "mediapipe/modules/iris_landmark/iris_landmark.tflite": "iris_landmark.onnx",
    "mediapipe/modules/face_detection/face_detection_short_range.tflite": "face_detection_short_range.onnx",
}
ASSETS = Path(__file__).resolve().parents[1] / "assets" / "mediapipe"


class Converter:
    """One TFLite subgraph -> one ONNX graph. Names are the TFLite tensor indices ("t12")."""

    def __init__(self, model_bytes: bytes):
        import tflite

        self.tfl = tflite
        self.model = tflite.Model.GetRootAsModel(model_bytes, 0)
        self.graph = self.model.Subgraphs(0)
        self.ops = {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}
        self.nodes, self.inits, self.consts = [], [], {}
        self.layout = {}   # tensor index -> "nchw" or "plain" (ranks other than 4 or kept as in TFLite)

    # -- tensors -------------------------------------------------------------------------------
    def tensor(self, i: int):
        return self.graph.Tensors(i)

    def shape(self, i: int) -> list[int]:
        return [int(d) for d in self.tensor(i).ShapeAsNumpy()]

    def data(self, i: int) -> np.ndarray | None:
        """A constant tensor's value (float16 weights as they are), or None for an activation."""
        if i in self.consts:
            return self.consts[i]
        t = self.tensor(i)
        buf = self.model.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            return None
        dtype = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}[t.Type()]
        return np.frombuffer(buf.DataAsNumpy().tobytes(), dtype=dtype).reshape(self.shape(i))

    def init(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=output + "_" + op, **attrs))
        return output

    # -- the graph -----------------------------------------------------------------------------
    def convert(self, name: str):
        from onnx import TensorProto, helper

        g = self.graph
        inputs, outputs = [], []
        for k in range(g.InputsLength()):
            i = g.Inputs(k)
            inputs.append(helper.make_tensor_value_info(f"in{k}", TensorProto.FLOAT, self.shape(i)))
            self.node("Transpose", [f"in{k}"], f"t{i}", perm=[0, 3, 1, 2])
            self.layout[i] = "nchw"
        for k in range(g.OperatorsLength()):
            self.operator(g.Operators(k))
        for k in range(g.OutputsLength()):
            i = g.Outputs(k)
            out = f"out{k}_{self.tensor(i).Name().decode()}"
            if self.layout.get(i) == "nchw":
                self.node("Transpose", [f"t{i}"], out, perm=[0, 2, 3, 1])
            else:
                self.node("Identity", [f"t{i}"], out)
            outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, self.shape(i)))
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                                  producer_name="headsmith tools/build_mediapipe_onnx.py")
        model.ir_version = 8
        return model

    def operator(self, op) -> None:
        code = self.model.OperatorCodes(op.OpcodeIndex())
        kind = self.ops[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ins = [int(v) for v in op.InputsAsNumpy()]
        out = int(op.OutputsAsNumpy()[0])
        handler = getattr(self, "op_" + kind.lower(), None)
        if handler is None:
            raise NotImplementedError(f"TFLite op {kind} is not converted")
        handler(op, ins, out)

    def nchw(self, i: int) -> str:
        """The name of activation i in NCHW (4-D) layout."""
        if self.layout.get(i) != "nchw":
            raise ValueError(f"tensor {i} is not an NCHW activation")
        return f"t{i}"

    def activation(self, fused: int, name: str, out: int) -> None:
        if fused == 0:
            self.node("Identity", [name], f"t{out}")
        elif fused == 1:
            self.node("Relu", [name], f"t{out}")
        elif fused == 3:
            self.node("Clip", [name, self.init(f"c{out}_lo", np.float32(0)), self.init(f"c{out}_hi", np.float32(6))],
                      f"t{out}")
        else:
            raise NotImplementedError(f"fused activation {fused}")

    @staticmethod
    def same_pads(size: list[int], kernel: list[int], stride: list[int], dilation: list[int]) -> list[int]:
        """TensorFlow SAME padding as ONNX pads [top, left, bottom, right]."""
        before, after = [], []
        for n, k, s, d in zip(size, kernel, stride, dilation):
            out = -(-n // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
            before.append(total // 2)
            after.append(total - total // 2)
        return before + after

    # -- operators (TFLite NHWC semantics, written NCHW) -----------------------------------------
    def op_dequantize(self, op, ins, out) -> None:
        self.consts[out] = self.data(ins[0]).astype(np.float32)

    def _conv(self, op, ins, out, depthwise: bool) -> None:
        t = self.tfl
        opts = (t.DepthwiseConv2DOptions if depthwise else t.Conv2DOptions)()
        tab = op.BuiltinOptions()
        opts.Init(tab.Bytes, tab.Pos)
        w = self.data(ins[1]).astype(np.float32)          # conv: O,H,W,I   depthwise: 1,H,W,C*m
        if depthwise:
            if opts.DepthMultiplier() not in (0, 1):
                raise NotImplementedError("depth multiplier > 1")
            w = w.transpose(3, 0, 1, 2)                    # C,1,H,W
            group = w.shape[0]
        else:
            w = w.transpose(0, 3, 1, 2)                    # O,I,H,W
            group = 1
        names = [self.nchw(ins[0]), self.init(f"w{out}", w)]
        if len(ins) > 2 and ins[2] >= 0:
            names.append(self.init(f"b{out}", self.data(ins[2]).astype(np.float32)))
        stride = [opts.StrideH(), opts.StrideW()]
        dil = [opts.DilationHFactor() or 1, opts.DilationWFactor() or 1]
        size = self.shape(ins[0])[1:3]
        pads = self.same_pads(size, list(w.shape[2:]), stride, dil) if opts.Padding() == 0 else [0, 0, 0, 0]
        self.node("Conv", names, f"t{out}_conv", strides=stride, dilations=dil, pads=pads, group=group,
                  kernel_shape=list(w.shape[2:]))
        self.activation(opts.FusedActivationFunction(), f"t{out}_conv", out)
        self.layout[out] = "nchw"

    def op_conv_2d(self, op, ins, out) -> None:
        self._conv(op, ins, out, depthwise=False)

    def op_depthwise_conv_2d(self, op, ins, out) -> None:
        self._conv(op, ins, out, depthwise=True)

    def op_add(self, op, ins, out) -> None:
        opts = self.tfl.AddOptions()
        tab = op.BuiltinOptions()
        fused = 0
        if tab is not None:
            opts.Init(tab.Bytes, tab.Pos)
            fused = opts.FusedActivationFunction()
        self.node("Add", [self.nchw(ins[0]), self.nchw(ins[1])], f"t{out}_add")
        self.activation(fused, f"t{out}_add", out)
        self.layout[out] = "nchw"

    def op_prelu(self, op, ins, out) -> None:
        alpha = self.data(ins[1]).astype(np.float32).reshape(-1, 1, 1)   # per channel
        self.node("PRelu", [self.nchw(ins[0]), self.init(f"a{out}", alpha)], f"t{out}")
        self.layout[out] = "nchw"

    def op_relu(self, op, ins, out) -> None:
        self.node("Relu", [self.nchw(ins[0])], f"t{out}")
        self.layout[out] = "nchw"

    def op_max_pool_2d(self, op, ins, out) -> None:
        opts = self.tfl.Pool2DOptions()
        tab = op.BuiltinOptions()
        opts.Init(tab.Bytes, tab.Pos)
        k, s = [opts.FilterHeight(), opts.FilterWidth()], [opts.StrideH(), opts.StrideW()]
        pads = self.same_pads(self.shape(ins[0])[1:3], k, s, [1, 1]) if opts.Padding() == 0 else [0, 0, 0, 0]
        self.node("MaxPool", [self.nchw(ins[0])], f"t{out}_pool", kernel_shape=k, strides=s, pads=pads)
        self.activation(opts.FusedActivationFunction(), f"t{out}_pool", out)
        self.layout[out] = "nchw"

    def op_pad(self, op, ins, out) -> None:
        p = self.data(ins[1]).astype(np.int64)             # NHWC rows of (before, after)
        order = [0, 3, 1, 2]
        pads = [p[a, 0] for a in order] + [p[a, 1] for a in order]
        self.node("Pad", [self.nchw(ins[0]), self.init(f"p{out}", np.array(pads, np.int64))], f"t{out}")
        self.layout[out] = "nchw"

    def op_reshape(self, op, ins, out) -> None:
        src = f"t{ins[0]}"
        if self.layout.get(ins[0]) == "nchw":              # reshape means NHWC element order
            src = self.node("Transpose", [src], f"t{ins[0]}_nhwc_{out}", perm=[0, 2, 3, 1])
        shape = np.array(self.shape(out), np.int64)
        self.node("Reshape", [src, self.init(f"s{out}", shape)], f"t{out}")
        self.layout[out] = "plain"

    def op_concatenation(self, op, ins, out) -> None:
        opts = self.tfl.ConcatenationOptions()
        tab = op.BuiltinOptions()
        opts.Init(tab.Bytes, tab.Pos)
        if any(self.layout.get(i) == "nchw" for i in ins):
            raise NotImplementedError("concatenation of NCHW activations")
        self.node("Concat", [f"t{i}" for i in ins], f"t{out}_cat", axis=opts.Axis())
        self.activation(opts.FusedActivationFunction(), f"t{out}_cat", out)
        self.layout[out] = "plain"


def check_against_tflite(tflite_bytes: bytes, onnx_path: Path, photos: list[np.ndarray]) -> float:
    """Largest |ONNX - TFLite| over every output, on the given images (already at the input size,
    float32 in [-1, 1] or [0, 1] as the model wants) and random ones."""
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=tflite_bytes)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for x in photos + [rng.uniform(-1, 1, inp["shape"]).astype(np.float32) for _ in range(3)]:
        interp.set_tensor(inp["index"], x)
        interp.invoke()
        ref = [interp.get_tensor(o["index"]) for o in interp.get_output_details()]
        got = sess.run(None, {sess.get_inputs()[0].name: x})
        ref_by_shape = sorted(ref, key=lambda a: a.size)
        got_by_shape = sorted(got, key=lambda a: a.size)
        for r, g in zip(ref_by_shape, got_by_shape):
            worst = max(worst, float(np.abs(r - g).max()))
    return worst


def sample_inputs(shape: list[int]) -> list[np.ndarray]:
    """The astronaut (public domain) resized to the model's input, in [-1, 1] and [0, 1]."""
    try:
        import skimage.data
        from PIL import Image
    except ImportError:
        return []
    img = Image.fromarray(skimage.data.astronaut()).crop((130, 20, 310, 200)).resize((shape[2], shape[1]))
    a = np.asarray(img, np.float32)[None]
    return [a / 127.5 - 1, a / 255]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wheel", type=Path, help="the mediapipe 0.10.21 cp311 wheel")
    ap.add_argument("--out", type=Path, default=ASSETS)
    a = ap.parse_args(argv)
    import onnx

    a.out.mkdir(parents=True, exist_ok=True)
    provenance = {"source": a.wheel.name, "source_sha256": hashlib.sha256(a.wheel.read_bytes()).hexdigest(),
                  "licence": "Apache-2.0 (MediaPipe)", "built_by": "tools/build_mediapipe_onnx.py", "models": {}}
    with zipfile.ZipFile(a.wheel) as wheel:
        for src, dst in MODELS.items():
            data = wheel.read(src)
            model = Converter(data).convert(Path(src).stem)
            onnx.checker.check_model(model)
            onnx.save(model, a.out / dst)
            entry = {"from": src, "tflite_sha256": hashlib.sha256(data).hexdigest(),
                     "onnx_sha256": hashlib.sha256((a.out / dst).read_bytes()).hexdigest()}
            try:
                shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
                entry["max_abs_diff_vs_tflite"] = check_against_tflite(data, a.out / dst, sample_inputs(shape))
            except ImportError:
                entry["max_abs_diff_vs_tflite"] = None
            provenance["models"][dst] = entry
            print(dst, entry)
    (a.out / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
