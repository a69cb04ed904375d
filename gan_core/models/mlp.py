"""Fully connected generator and discriminator for toy 1D/2D data and small images (e.g. 8x8 digits).

Depth, width and activation are constructor arguments; a class-conditional variant appears when
``num_classes > 0`` (G concatenates a label embedding to z; D adds a projection term, Miyato & Koyama 2018).
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

ACT = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}


def activation(name: str) -> nn.Module:
    if name not in ACT:
        raise ValueError(f"unknown activation {name!r}; choices: {list(ACT)}")
    return ACT[name]()


def _maybe_sn(layer: nn.Module, norm: str) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(layer) if norm == "spectral" else layer


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, out_shape: tuple, hidden: int = 64, depth: int = 2, act: str = "relu",
                 norm: str = "none", out_act: str = "none", num_classes: int = 0, embed_dim: int = 16):
        super().__init__()
        self.z_dim, self.out_shape, self.num_classes = z_dim, tuple(out_shape), num_classes
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        layers, width = [], z_dim + (embed_dim if num_classes else 0)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden)]
            if norm == "batch":
                layers += [nn.BatchNorm1d(hidden)]
            layers += [activation(act)]
            width = hidden
        layers += [nn.Linear(width, math.prod(self.out_shape))]
        if out_act == "tanh":
            layers += [nn.Tanh()]  # images live in [-1, 1]
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor, y: Optional[Tensor] = None) -> Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(y)], 1)  # (B, z_dim + embed_dim)
        return self.net(z).view(z.shape[0], *self.out_shape)  # (B, *out_shape)


class MLPDiscriminator(nn.Module):
    """``pack`` > 1 (PacGAN): D judges packs of that many samples concatenated, and returns one score per pack;
    ``mbstd`` (Karras et al. 2018): the trunk's features get one more, the mean standard deviation of the
    features over groups of up to 4 samples (a collapsed batch has ~0 there). ``features``/``score`` split
    ``forward`` so families can put heads (classes, codes) on the same features."""

    def __init__(self, in_shape: tuple, hidden: int = 64, depth: int = 2, act: str = "relu",
                 norm: str = "none", num_classes: int = 0, pack: int = 1, mbstd: bool = False):
        super().__init__()
        self.pack, self.mbstd = pack, mbstd
        layers, width = [], math.prod(in_shape) * pack
        for _ in range(depth):
            layers += [_maybe_sn(nn.Linear(width, hidden), norm)]
            if norm == "batch":
                layers += [nn.BatchNorm1d(hidden)]
            layers += [activation(act)]
            width = hidden
        self.trunk = nn.Sequential(*layers)
        self.feature_dim = width + int(mbstd)
        self.head = _maybe_sn(nn.Linear(self.feature_dim, 1), norm)
        self.embed = nn.Embedding(num_classes, self.feature_dim) if num_classes else None

    def features(self, x: Tensor) -> Tensor:
        """(B, ...) -> (B / pack, feature_dim)."""
        h = self.trunk(x.reshape(x.shape[0] // self.pack, -1))
        return minibatch_std(h) if self.mbstd else h

    def score(self, h: Tensor, y: Optional[Tensor] = None) -> Tensor:
        out = self.head(h).view(-1)  # (B,)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(1)  # projection: <embed(y), features>
        return out

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        return self.score(self.features(x), y)


def minibatch_std(h: Tensor, group: int = 4) -> Tensor:
    """Append one feature (channel, for (B, C, H, W) maps): the standard deviation of each feature over groups
    of ``gcd(group, B)`` consecutive samples, averaged over features. Groups never straddle a real and a fake
    half when the two are judged in separate passes (as the trainer does when this is on)."""
    g = math.gcd(group, h.shape[0])
    grouped = h.reshape(-1, g, *h.shape[1:])  # (B/g, g, ...)
    std = grouped.var(1, unbiased=False).add(1e-8).sqrt()  # (B/g, ...)
    s = std.flatten(1).mean(1)  # (B/g,)
    s = s.repeat_interleave(g)  # (B,)
    if h.dim() == 2:
        return torch.cat([h, s[:, None]], 1)
    return torch.cat([h, s.view(-1, 1, 1, 1).expand(-1, 1, *h.shape[2:])], 1)
