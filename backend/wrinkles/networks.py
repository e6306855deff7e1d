"""DECA-compatible networks, written for this project (same layer layout and state-dict key
names as DECA's released checkpoint, so a user's own `deca_model.tar` loads into them).

- `DetailDecoder` F_d: cat(jaw 3, expression 50, detail code 128) = 181 -> Linear -> 128 x 8 x 8
  -> five (bilinear x2, conv 3x3, BatchNorm eps 0.8, LeakyReLU 0.2) stages to 16 x 256 x 256
  -> conv 3x3 -> tanh -> x 0.01: a UV displacement map in metres (+-1 cm).
- `ParamEncoder`: a ResNet-50 trunk (torchvision key names, no classifier) + a two-layer head;
  DECA's E_flame (236 outputs) and E_detail (128 outputs) have this form.
"""
from __future__ import annotations

import torch
import torch.nn as nn

DETAIL_CODE = 128
DECA_EXPRESSION = 50
JAW = 3


def _upsample_stage(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(cin, cout, 3, 1, 1),
            nn.BatchNorm2d(cout, eps=0.8), nn.LeakyReLU(0.2)]


class DetailDecoder(nn.Module):
    """Input layout: cat(jaw (B, 3), expression (B, n_exp), code (B, 128)); output (B, 1, 256, 256)
    metres. Attribute names `l1` and `conv_blocks` match DECA's D_detail keys."""

    def __init__(self, latent_dim: int = JAW + DECA_EXPRESSION + DETAIL_CODE, out_scale: float = 0.01,
                 base: int = 8):
        super().__init__()
        self.latent_dim = latent_dim
        self.out_scale = out_scale
        self.base = base
        self.l1 = nn.Sequential(nn.Linear(latent_dim, 128 * base * base))
        layers: list[nn.Module] = [nn.BatchNorm2d(128)]
        for cin, cout in ((128, 128), (128, 64), (64, 64), (64, 32), (32, 16)):
            layers += _upsample_stage(cin, cout)
        layers += [nn.Conv2d(16, 1, 3, 1, 1), nn.Tanh()]
        self.conv_blocks = nn.Sequential(*layers)

    @property
    def size(self) -> int:
        return self.base * 32

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        x = self.l1(latent).view(latent.shape[0], 128, self.base, self.base)
        return self.conv_blocks(x) * self.out_scale


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet50Trunk(nn.Module):
    """(B, 3, 224, 224) RGB in [0, 1] -> (B, 2048) pooled features."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (planes, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))):
            down = None
            if stride != 1 or cin != planes * 4:
                down = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))
            mods = [Bottleneck(cin, planes, stride, down)]
            cin = planes * 4
            mods += [Bottleneck(cin, planes) for _ in range(blocks - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*mods))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


class ParamEncoder(nn.Module):
    def __init__(self, out_dim: int):
        super().__init__()
        self.encoder = ResNet50Trunk()
        self.layers = nn.Sequential(nn.Linear(2048, 1024), nn.ReLU(), nn.Linear(1024, out_dim))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.layers(self.encoder(image))
