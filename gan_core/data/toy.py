"""Toy 1D/2D distributions sampled on the fly (no files): gauss1d, line, quadratic, ring8, grid25, spiral,
and drawn (your own points: gan_core.data.drawn).

Mixtures follow the VEEGAN/PacGAN protocol (see DESIGN.md): ring8 = 8 Gaussians of std 0.02 on a circle
of radius 2 at angles 2*pi*i/8; grid25 = 25 Gaussians of std 0.05 at (-4+2i, -4+2j).
Every sampler takes an explicit ``torch.Generator`` so seeded runs are reproducible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch


def ring8_means() -> torch.Tensor:
    ang = torch.arange(8, dtype=torch.float64) * 2 * math.pi / 8  # not linspace: that repeats a mode
    return torch.stack([2 * torch.cos(ang), 2 * torch.sin(ang)], 1).float()


def grid25_means() -> torch.Tensor:
    v = torch.arange(5, dtype=torch.float32) * 2 - 4
    return torch.cartesian_prod(v, v)


def _mixture(means: torch.Tensor, std: float) -> Callable:
    def sample(n: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
        m = means.to(device)
        idx = torch.randint(0, m.shape[0], (n,), generator=gen, device=device)
        return m[idx] + std * torch.randn(n, 2, generator=gen, device=device)
    return sample


def _gauss1d(n, gen, device):
    return GAUSS1D_MEAN + GAUSS1D_STD * torch.randn(n, 1, generator=gen, device=device)


def _line(n, gen, device):
    t = torch.rand(n, 1, generator=gen, device=device) * 4 - 2  # (n, 1) in [-2, 2]
    pts = t * torch.tensor([1.0, 0.5], device=device)
    return pts + 0.02 * torch.randn(n, 2, generator=gen, device=device)


def _quadratic(n, gen, device):
    x = torch.rand(n, 1, generator=gen, device=device) * 4 - 2
    pts = torch.cat([x, 0.5 * x * x - 1], 1)
    return pts + 0.02 * torch.randn(n, 2, generator=gen, device=device)


def _spiral(n, gen, device):
    t = torch.rand(n, 1, generator=gen, device=device)
    r, a = 0.25 + 1.75 * t, 4 * math.pi * t  # two turns, radius 0.25 -> 2
    pts = torch.cat([r * torch.cos(a), r * torch.sin(a)], 1)
    return pts + 0.03 * torch.randn(n, 2, generator=gen, device=device)


GAUSS1D_MEAN, GAUSS1D_STD = 4.0, 0.5


@dataclass
class ToyDataset:
    name: str
    dim: int
    sampler: Callable
    bounds: tuple  # ((xmin, xmax), (ymin, ymax)) for plots; 1D uses the first pair
    modes: Optional[torch.Tensor] = None  # (K, 2) mixture means, for modes-covered metrics
    mode_std: float = 0.0
    labels = None
    num_classes = 0

    def sample(self, n: int, gen: torch.Generator, device: torch.device):
        return self.sampler(n, gen, device), None


TOY = {
    "gauss1d": lambda: ToyDataset("gauss1d", 1, _gauss1d, ((-1.0, 7.0), (0.0, 1.0))),
    "line": lambda: ToyDataset("line", 2, _line, ((-3.0, 3.0), (-3.0, 3.0))),
    "quadratic": lambda: ToyDataset("quadratic", 2, _quadratic, ((-3.0, 3.0), (-2.0, 2.5))),
    "ring8": lambda: ToyDataset("ring8", 2, _mixture(ring8_means(), 0.02), ((-3.0, 3.0), (-3.0, 3.0)),
                                ring8_means(), 0.02),
    "grid25": lambda: ToyDataset("grid25", 2, _mixture(grid25_means(), 0.05), ((-6.0, 6.0), (-6.0, 6.0)),
                                 grid25_means(), 0.05),
    "spiral": lambda: ToyDataset("spiral", 2, _spiral, ((-2.7, 2.7), (-2.7, 2.7))),
}


def load_toy(name: str, points=(), point_std: float = 0.05) -> ToyDataset:
    """A toy dataset by name; "drawn" is made of ``points`` with jitter ``point_std`` (data.points/point_std)."""
    if name == "drawn":
        from .drawn import drawn_dataset
        return drawn_dataset(points, point_std)
    if name not in TOY:
        raise ValueError(f"unknown toy dataset {name!r}; choices: {list(TOY) + ['drawn']}")
    return TOY[name]()
