"""DCGAN generator and discriminator for 28, 32 and 64 px images (Radford et al. 2015).

The generator projects z to a 4x4 map (7x7 for 28 px) and doubles the resolution with either transposed
convolutions (``upsample="transposed"``, the paper's choice, prone to checkerboard artefacts) or
resize-convolutions (``upsample="resize"``: nearest upsample then a 3x3 conv). At 64 px with default widths
this is exactly the pytorch/examples DCGAN. Conditional variants: G concatenates a label embedding to z;
D adds a projection term on its final features.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from .mlp import minibatch_std

SIZES = {28: 7, 32: 4, 64: 4}  # image size -> side of the first feature map


def _levels(size: int) -> tuple[int, int]:
    if size not in SIZES:
        raise ValueError(f"DCGAN image size {size} is not one of {list(SIZES)}")
    s0 = SIZES[size]
    return s0, int(round(math.log2(size // s0)))


def dcgan_init(m: nn.Module) -> None:
    """Weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02), as in the DCGAN paper."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        parametrized = nn.utils.parametrize.is_parametrized(m, "weight")  # spectral norm: init the raw weight
        nn.init.normal_(m.parametrizations.weight.original if parametrized else m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


UPSAMPLES = ("transposed", "resize", "mixed", "transposed3")


def _up(c_in: int, c_out: int, mode: str, from_end: int = 0) -> nn.Module:
    """One doubling of resolution. ``from_end`` counts the layers after this one (0 = the last):
    transposed: ConvTranspose2d kernel 4 stride 2 (even overlap); transposed3: kernel 3 stride 2 (+ output
    padding 1), whose uneven overlap draws checkerboards on purpose (Odena et al. 2016); resize: nearest
    upsample + 3x3 conv; mixed: resize except transposed (kernel 4) in the last two layers (the lecture's
    design, seed 000)."""
    if mode == "mixed":
        mode = "transposed" if from_end < 2 else "resize"
    if mode == "transposed":
        return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)
    if mode == "transposed3":
        return nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, output_padding=1, bias=False)
    if mode == "resize":
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False))
    raise ValueError(f"unknown upsample {mode!r}; choices: {list(UPSAMPLES)}")


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int = 100, size: int = 64, channels: int = 1, ngf: int = 64,
                 upsample: str = "transposed", norm: str = "batch", num_classes: int = 0, embed_dim: int = 16):
        super().__init__()
        s0, n_up = _levels(size)
        self.z_dim, self.out_shape, self.num_classes = z_dim, (channels, size, size), num_classes
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        widths = [ngf * 2 ** (n_up - 1 - i) for i in range(n_up)] + [channels]
        bn = (lambda c: nn.BatchNorm2d(c)) if norm == "batch" else (lambda c: nn.Identity())
        c_in = z_dim + (embed_dim if num_classes else 0)
        layers = [nn.ConvTranspose2d(c_in, widths[0], s0, 1, 0, bias=False), bn(widths[0]), nn.ReLU(True)]
        for i in range(n_up):  # (B, w_i, s, s) -> (B, w_{i+1}, 2s, 2s)
            layers.append(_up(widths[i], widths[i + 1], upsample, n_up - 1 - i))
            layers += [bn(widths[i + 1]), nn.ReLU(True)] if i < n_up - 1 else [nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], 1)
        return self.net(z[:, :, None, None])  # (B, z, 1, 1) -> (B, C, H, W)


class DCGANDiscriminator(nn.Module):
    """``pack`` (PacGAN: packs of samples stacked along channels, one score per pack) and ``mbstd`` (one more
    feature map before the head: the batch's feature std) as in ``MLPDiscriminator``."""

    def __init__(self, size: int = 64, channels: int = 1, ndf: int = 64, norm: str = "batch", num_classes: int = 0,
                 pack: int = 1, mbstd: bool = False):
        super().__init__()
        s0, n_down = _levels(size)
        self.pack, self.mbstd = pack, mbstd
        sn = nn.utils.parametrizations.spectral_norm if norm == "spectral" else (lambda m: m)
        layers, c_in = [], channels * pack
        for i in range(n_down):  # (B, c, s, s) -> (B, ndf*2^i, s/2, s/2)
            c_out = ndf * 2 ** i
            layers.append(sn(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm != "batch")))
            if norm == "batch" and i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.trunk = nn.Sequential(*layers)  # (B, c_in, s0, s0)
        c_in += int(mbstd)
        self.feature_dim = c_in * s0 * s0
        self.head = sn(nn.Conv2d(c_in, 1, s0, 1, 0, bias=False))
        self.embed = nn.Embedding(num_classes, self.feature_dim) if num_classes else None
        self.apply(dcgan_init)

    def features(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B / pack, c, s0, s0) feature maps."""
        if self.pack > 1:
            x = x.reshape(x.shape[0] // self.pack, -1, *x.shape[2:])
        h = self.trunk(x)
        return minibatch_std(h) if self.mbstd else h

    def score(self, h: Tensor, y: Optional[Tensor] = None) -> Tensor:
        out = self.head(h).view(-1)  # (B,) raw score
        if self.embed is not None:
            out = out + (self.embed(y) * h.flatten(1)).sum(1)
        return out

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.score(self.features(x), y)
