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
    def __init__(self, in_shape: tuple, hidden: int = 64, depth: int = 2, act: str = "relu",
                 norm: str = "none", num_classes: int = 0):
        super().__init__()
        layers, width = [], math.prod(in_shape)
        for _ in range(depth):
            layers += [_maybe_sn(nn.Linear(width, hidden), norm)]
            if norm == "batch":
                layers += [nn.BatchNorm1d(hidden)]
            layers += [activation(act)]
            width = hidden
        self.trunk = nn.Sequential(*layers)
        self.head = _maybe_sn(nn.Linear(width, 1), norm)
        self.embed = nn.Embedding(num_classes, width) if num_classes else None

    def forward(self, x: Tensor, y: Optional[Tensor] = None) -> Tensor:
        h = self.trunk(x.flatten(1))  # (B, hidden)
        out = self.head(h).view(-1)  # (B,)
        if self.embed is not None:
            out = out + (self.embed(y) * h).sum(1)  # projection: <embed(y), features>
        return out
