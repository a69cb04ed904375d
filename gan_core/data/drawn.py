"""Your own 2D data: the points drawn in Setup → Data (or given as ``data.points``), sampled with jitter.

Sampling picks drawn points uniformly and adds Gaussian noise of std ``data.point_std`` (0.05 by default),
so a stroke becomes a thin continuous band and an isolated click a small Gaussian blob: a drawing of K
points is a mixture of K equal Gaussians. Seeded like every toy sampler (an explicit ``torch.Generator``).

    ds = drawn_dataset(((0, 0), (1, 1), (2, 0)), std=0.05)
    x, _ = ds.sample(256, torch.Generator().manual_seed(0), torch.device("cpu"))   # (256, 2)

``STARTERS`` are a few shapes to start from (smiley, heart, the letters GAN, three dots), each a list of
strokes: lists of points spaced ``SPACING`` apart along polylines and arcs, the way the canvas records a drag.
"""
from __future__ import annotations

import math

import torch

from ..config import MIN_POINTS, Points

SPACING = 0.1  # distance between successive points of a drawn stroke (canvas and starter shapes)
DECIMALS = 3  # drawn coordinates are rounded to this many decimals (0.001 = a twentieth of a canvas pixel)


def fit_bounds(points: torch.Tensor, std: float) -> tuple:
    """A square view around the drawing: its bounding box widened by 15% plus three jitter stds (at least
    ±0.75 about its centre), so the data-space picture shows the drawing at its own scale, undistorted."""
    lo, hi = points.min(0).values, points.max(0).values
    cx, cy = ((lo + hi) / 2).tolist()
    half = max(float((hi - lo).max()) / 2 * 1.15 + 3 * std, 0.75)
    return (cx - half, cx + half), (cy - half, cy + half)


def drawn_dataset(points, std: float = 0.05):
    """The toy dataset of ``points`` ((K, 2) pairs, at least ``MIN_POINTS``) with jitter ``std``."""
    from .toy import ToyDataset, _mixture
    pts = Points().convert("data.points", points)
    if len(pts) < MIN_POINTS:
        raise ValueError(f"data.points holds {len(pts)} points; data.dataset = 'drawn' needs at least {MIN_POINTS}")
    means = torch.tensor(pts, dtype=torch.float32)  # (K, 2)
    return ToyDataset("drawn", 2, _mixture(means, float(std)), fit_bounds(means, std))


def near_fraction(samples: torch.Tensor, points, radius: float) -> float:
    """The fraction of ``samples`` (N, 2) within ``radius`` of their nearest point of ``points`` (K, 2)."""
    pts = torch.as_tensor(points, dtype=torch.float32, device=samples.device)
    return float((torch.cdist(samples.float(), pts).min(1).values <= radius).float().mean())


def fit_radius(std: float) -> float:
    """How near a drawn point counts as "on the drawing": three jitter stds (at least half a stroke spacing)."""
    return max(3 * std, SPACING / 2)


def drawing_fit(samples: torch.Tensor, points, std: float) -> tuple[float, float]:
    """(on the drawing, drawing covered): the share of ``samples`` within ``fit_radius`` of a drawn point,
    and the share of drawn points with a sample that near (a precision / recall pair for a drawing)."""
    radius = fit_radius(std)
    pts = torch.as_tensor(points, dtype=torch.float32)
    return near_fraction(samples, pts, radius), near_fraction(pts, samples.cpu().float(), radius)


# ---------------------------------------------------------------- starter shapes

def _along(path: list, spacing: float = SPACING) -> list:
    """Points every ``spacing`` along a polyline (its vertices ``path``), the ends included."""
    out = [path[0]]
    for (x0, y0), (x1, y1) in zip(path, path[1:]):
        n = max(1, round(math.hypot(x1 - x0, y1 - y0) / spacing))
        out += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return out


def _arc(cx: float, cy: float, r: float, a0: float, a1: float, spacing: float = SPACING) -> list:
    """Points every ``spacing`` along a circular arc from angle ``a0`` to ``a1`` (degrees)."""
    n = max(2, round(abs(math.radians(a1 - a0)) * r / spacing) + 1)
    return [(cx + r * math.cos(math.radians(a0 + (a1 - a0) * i / (n - 1))),
             cy + r * math.sin(math.radians(a0 + (a1 - a0) * i / (n - 1)))) for i in range(n)]


def _rounded(strokes: list) -> list:
    return [[(round(x, DECIMALS), round(y, DECIMALS)) for x, y in s] for s in strokes]


def _smiley() -> list:
    return [_arc(0, 0, 2.5, 0, 360)[:-1], _arc(-0.9, 0.8, 0.25, 0, 360)[:-1], _arc(0.9, 0.8, 0.25, 0, 360)[:-1],
            _arc(0, 0.2, 1.5, 200, 340)]


def _even(path: list, spacing: float = SPACING) -> list:
    """A dense polyline resampled every ``spacing`` of arc length (what a steady drag records)."""
    out, carry = [path[0]], 0.0
    for (x0, y0), (x1, y1) in zip(path, path[1:]):
        seg = math.hypot(x1 - x0, y1 - y0)
        t = spacing - carry
        while t <= seg:
            out.append((x0 + (x1 - x0) * t / seg, y0 + (y1 - y0) * t / seg))
            t += spacing
        carry = seg - (t - spacing)
    return out


def _heart() -> list:
    t = [2 * math.pi * i / 2000 for i in range(2001)]  # the classic parametric heart, scaled into the box
    dense = [(0.17 * 16 * math.sin(a) ** 3,
              0.17 * (13 * math.cos(a) - 5 * math.cos(2 * a) - 2 * math.cos(3 * a) - math.cos(4 * a)) + 0.3)
             for a in t]
    return [_even(dense)]


def _letters_gan() -> list:
    g = _arc(-2.4, 0, 1.0, 45, 315) + _along([(-2.4 + 0.707, -0.707), (-1.4, -0.3), (-2.0, -0.3)])[1:]
    a = _along([(-1.0, -1.0), (-0.3, 1.0), (0.4, -1.0)])
    bar = _along([(-0.72, -0.2), (0.12, -0.2)])
    n = _along([(1.0, -1.0), (1.0, 1.0), (2.4, -1.0), (2.4, 1.0)])
    return [g, a, bar, n]


def _three_dots() -> list:
    return [[(-2.0, -1.0)], [(2.0, -1.0)], [(0.0, 2.0)]]


STARTERS = {
    "smiley": ("Smiley", _smiley),
    "heart": ("Heart", _heart),
    "gan": ("GAN", _letters_gan),
    "dots": ("Three dots", _three_dots),
}


def starter_strokes(name: str) -> list:
    """The strokes of a starter shape, rounded like drawn points; unknown names raise ValueError."""
    if name not in STARTERS:
        raise ValueError(f"unknown starter shape {name!r}; choices: {list(STARTERS)}")
    return _rounded(STARTERS[name][1]())


def starter_points(name: str) -> tuple:
    """A starter shape as one flat tuple of points (what ``data.points`` holds)."""
    return tuple(p for s in starter_strokes(name) for p in s)
