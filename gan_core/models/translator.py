"""Networks of a translation GAN (CycleGAN): a generator maps a sample of domain A to domain B (not noise).

- ``MLPTranslator``: the MLP generator's layers from a flattened sample to a sample; for points it predicts
  an offset (G(x) = x + f(x)), so an untrained G is close to the identity and the arrows start short;
- ``ConvTranslator``: CycleGAN's encoder / residual blocks / decoder (Zhu et al. 2017, scaled down): one
  stride-2 convolution down (none for images under 16 px), ``blocks`` residual blocks, resize-convolution
  up, instance norm, tanh. Images always get it (the paper's design: a convolution keeps each stroke where it
  is, where an MLP learns to hide the image in a pattern only G_BA can read); ``model.arch`` picks the Ds;
- ``CycleG`` holds G_AB and G_BA (and a bank of domain-A samples, a buffer, so views and checkpoints carry
  the inputs G is shown with), ``CycleD`` holds D_B and D_A. Both answer ``forward(x, y=None)`` with the
  A -> B direction, so the Trainer's pictures, snapshots and checkpoints treat them as one G and one D.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from .mlp import MLPGenerator

BANK_TOY, BANK_IMAGES = 512, 64  # domain-A samples kept in G for pictures and pages


class MLPTranslator(nn.Module):
    def __init__(self, shape: tuple, hidden: int, depth: int, act: str, norm: str, image: bool):
        super().__init__()
        self.shape, self.residual = tuple(shape), not image
        self.net = MLPGenerator(math.prod(shape), shape, hidden, depth, act, norm, "tanh" if image else "none")

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x.flatten(1))
        return x + out if self.residual else out


class _Residual(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.InstanceNorm2d(c, affine=True), nn.ReLU(True),
                                  nn.Conv2d(c, c, 3, 1, 1), nn.InstanceNorm2d(c, affine=True))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ConvTranslator(nn.Module):
    """(B, C, H, W) -> (B, C, H, W); ``nf`` channels at full size and, with ``down`` (even H, W), 2 nf at half
    size."""

    def __init__(self, channels: int, nf: int, blocks: int = 2, down: bool = True):
        super().__init__()

        def block(c_in, c_out, *conv):
            return [nn.Conv2d(c_in, c_out, *conv), nn.InstanceNorm2d(c_out, affine=True), nn.ReLU(True)]
        if down:
            middle = [*block(nf, 2 * nf, 4, 2, 1), *[_Residual(2 * nf) for _ in range(blocks)],
                      nn.Upsample(scale_factor=2, mode="nearest"), *block(2 * nf, nf, 3, 1, 1)]
        else:
            middle = [_Residual(nf) for _ in range(blocks)]
        self.net = nn.Sequential(*block(channels, nf, 3 if not down else 5, 1, 1 if not down else 2), *middle,
                                 nn.Conv2d(nf, channels, 3, 1, 1), nn.Tanh())

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def translator(m, shape: tuple, image: bool) -> nn.Module:
    """Images: ``ConvTranslator`` of ``model.ngf`` channels; points: ``MLPTranslator`` (``g_hidden``, ``depth``)."""
    if image:
        down = min(shape[1:]) >= 16
        if down and (shape[1] % 2 or shape[2] % 2):
            raise ValueError(f"CycleGAN's translator needs images of even size, got data shape {tuple(shape)}")
        return ConvTranslator(shape[0], m.ngf, down=down)
    return MLPTranslator(shape, m.g_hidden, m.depth, m.activation, m.g_norm, image)


class CycleG(nn.Module):
    def __init__(self, ab: nn.Module, ba: nn.Module, shape: tuple, image: bool):
        super().__init__()
        self.ab, self.ba = ab, ba
        n = BANK_IMAGES if image else BANK_TOY
        self.register_buffer("bank", torch.zeros(n, *shape))  # domain-A samples (filled by the Trainer)
        self.register_buffer("bank_labels", torch.full((n,), -1, dtype=torch.long))  # -1: unlabelled

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.ab(x)


class CycleD(nn.Module):
    def __init__(self, b: nn.Module, a: nn.Module):
        super().__init__()
        self.b, self.a = b, a

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.b(x)
