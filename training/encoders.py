"""The image encoders' network (DECA's E_coarse and E_detail play these parts): a small strided CNN
(crop -> 256 features) and one linear head cut into named parameter groups. The head starts at
zero, so an untrained encoder gives every group's raw zero (the trainers map that to the mean
head, the default camera and light, the prior person code): the first steps see sensible renders.
Input: (B, 3, S, S) sRGB in [0, 1]; S a multiple of 32."""
from __future__ import annotations

import torch


class ImageEncoder(torch.nn.Module):
    def __init__(self, sizes: dict[str, int], width: int = 32):
        super().__init__()
        layers, c = [], 3
        for k in range(5):
            w = width * min(2 ** k, 8)
            # no conv bias: the GroupNorm after it removes it (its gradient would be float noise,
            # which Adam turns into full steps)
            layers += [torch.nn.Conv2d(c, w, 3, stride=2, padding=1, bias=False), torch.nn.GroupNorm(8, w), torch.nn.SiLU()]
            c = w
        self.features = torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                            torch.nn.Linear(c, 256), torch.nn.SiLU())
        self.sizes = dict(sizes)
        self.head = torch.nn.Linear(256, sum(self.sizes.values()))
        torch.nn.init.zeros_(self.head.weight)
        torch.nn.init.zeros_(self.head.bias)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """-> the raw outputs by group name."""
        out = self.head(self.features(images * 2 - 1))
        return dict(zip(self.sizes, torch.split(out, list(self.sizes.values()), 1)))


def crops_tensor(crops, device=None) -> torch.Tensor:
    """(B, S, S, 3) uint8 sRGB crops -> the encoders' input."""
    return torch.as_tensor(crops, device=device).permute(0, 3, 1, 2).float() / 255.0


def export_onnx(net: ImageEncoder, path, size: int) -> None:
    """ONNX: input `image` (B, 3, S, S), output `raw` (B, sum of the group sizes) in net.sizes' order."""

    class Flat(torch.nn.Module):
        def __init__(self, enc):
            super().__init__()
            self.enc = enc

        def forward(self, x):
            return torch.cat(list(self.enc(x).values()), 1)

    torch.onnx.export(Flat(net.eval()), torch.zeros(1, 3, size, size), path, input_names=["image"],
                      output_names=["raw"], opset_version=17, dynamo=False,
                      dynamic_axes={"image": {0: "batch"}, "raw": {0: "batch"}})
