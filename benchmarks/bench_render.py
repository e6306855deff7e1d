"""Renderer benchmark: forward + backward of a shaded OpenHead render, CPU (and CUDA if present).

    python3 dev.py bench            (or: .venv/bin/python benchmarks/bench_render.py [--runs N])

Prints a table of median times over several runs (after warm-up) and describes the machine.
The loss is the mean of the shaded image; gradients flow to vertices, colours and light.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import cv2
import torch

from headsmith.headmodel import HeadPose, OpenHead
from headsmith.headmodel.appearance import part_colors
from headsmith.render import MeshRenderer, OrthographicCamera, default_light


def write_sheet(path, image_rgb) -> None:
    """A benchmark's picture: an RGB uint8 image written as PNG, its folder made."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads")


def bench(model, device, size, batch, runs):
    renderer = MeshRenderer(model.faces.to(device))
    colors = part_colors(model).to(device)
    pose = HeadPose.zeros(batch)
    pose.global_rot[:, 1] = torch.linspace(-0.4, 0.4, batch)
    with torch.no_grad():
        verts = model(pose=pose).vertices.to(device)
    cam = OrthographicCamera(torch.tensor([[6.0, 0.0, 0.03]], device=device).expand(batch, 3))
    light = default_light(batch, device=device)
    times = []
    for i in range(runs + 2):
        v = verts.clone().requires_grad_(True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        out = renderer.render(v, cam, (size, size), light=light, vertex_colors=colors.expand(batch, -1, -1))
        out.image.mean().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=10)
    a = p.parse_args()
    model = OpenHead()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"machine: {machine()}")
    if torch.cuda.is_available():
        print(f"gpu: {torch.cuda.get_device_name(0)}")
    print(f"mesh: OpenHead, {model.n_vertices} vertices, {model.faces.shape[0]} faces")
    print(f"{'device':<7} {'size':>9} {'batch':>5} {'fwd+bwd median ms':>18} {'per image ms':>13}")
    for dev in devices:
        for size in (224, 512):
            for batch in (1, 8):
                ms = bench(model, dev, size, batch, a.runs)
                print(f"{dev.type:<7} {f'{size}x{size}':>9} {batch:>5} {ms:>18.1f} {ms / batch:>13.1f}")


if __name__ == "__main__":
    main()
