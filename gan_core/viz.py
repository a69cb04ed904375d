"""What the pages draw, computed as plain numpy arrays from a Trainer (no plotting library here).

- 2D toy data: real and generated points, D's output on a grid (the decision heatmap) and, at the
  generated points, the direction the generator's loss pushes them (GAN Lab's gradient arrows).
- 1D toy data: histograms of real and generated samples and D's output along the axis.
- Images: one tiled uint8 grid of the samples from the fixed noise vectors.
Runs inside the training thread (or when no thread runs), so it never races the optimiser.
"""
from __future__ import annotations

import math

import numpy as np
import torch


def tile_images(x: torch.Tensor, nrow: int = 8, pad: int = 1) -> np.ndarray:
    """(B, C, H, W) in [-1, 1] -> uint8 grid (rows*(H+pad)+pad, nrow*(W+pad)+pad[, 3])."""
    x = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    b, c, h, w = x.shape
    rows = math.ceil(b / nrow)
    grid = torch.full((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), 40, dtype=torch.uint8)
    for i in range(b):
        r, col = divmod(i, nrow)
        grid[:, pad + r * (h + pad): pad + r * (h + pad) + h, pad + col * (w + pad): pad + col * (w + pad) + w] = x[i]
    grid = grid.permute(1, 2, 0).numpy()
    return grid[:, :, 0] if c == 1 else grid


def _shown(scores: torch.Tensor, output: str) -> torch.Tensor:
    return torch.sigmoid(scores) if output == "logit" else scores


def visual_2d(tr, n_points: int = 512, grid: int = 48, n_arrows: int = 128) -> dict:
    (x0, x1), (y0, y1) = tr.data.bounds
    with torch.no_grad():
        real, _ = tr.data.sample(n_points, tr.eval_gen, tr.device)
        fake = tr.G(tr.viz_z[:n_points])
        xs, ys = torch.linspace(x0, x1, grid), torch.linspace(y0, y1, grid)
        pts = torch.cartesian_prod(ys, xs).flip(1).to(tr.device)  # (grid*grid, 2) row-major in y
        heat = _shown(tr.D(pts), tr.loss.output).view(grid, grid)
    arrows_at = fake[:n_arrows].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(tr.loss.g(tr.D(arrows_at)), arrows_at)
    push = -g * n_arrows  # per-sample direction of steepest descent of G's loss
    return {"kind": "2d", "real": real.cpu().numpy(), "fake": fake.cpu().numpy(), "heat": heat.cpu().numpy(),
            "heat_x": xs.numpy(), "heat_y": ys.numpy(), "arrow_xy": arrows_at.detach().cpu().numpy(),
            "arrow_uv": push.cpu().numpy(), "output": tr.loss.output, "bounds": tr.data.bounds}


def visual_1d(tr, n: int = 4096, bins: int = 60, curve: int = 200) -> dict:
    lo, hi = tr.data.bounds[0]
    with torch.no_grad():
        real, _ = tr.data.sample(n, tr.eval_gen, tr.device)
        fake = tr.G(torch.randn(n, tr.cfg.model.z_dim, generator=tr.eval_gen, device=tr.device))
        xs = torch.linspace(lo, hi, curve, device=tr.device)
        d = _shown(tr.D(xs[:, None]), tr.loss.output)
    edges = np.linspace(lo, hi, bins + 1)
    real_h, _ = np.histogram(real.cpu().numpy().ravel(), edges, density=True)
    fake_h, _ = np.histogram(fake.cpu().numpy().ravel(), edges, density=True)
    return {"kind": "1d", "edges": edges, "real_hist": real_h, "fake_hist": fake_h, "curve_x": xs.cpu().numpy(),
            "curve_d": d.cpu().numpy(), "fake_mean": float(fake.mean()), "fake_std": float(fake.std()),
            "output": tr.loss.output}


def visual_images(tr, n: int = 64) -> dict:
    samples = tr.fixed_samples()[:n]
    return {"kind": "images", "grid": tile_images(samples), "n": int(samples.shape[0])}


def make_visual(tr) -> dict:
    """The picture for the trainer's data kind."""
    if tr.is_image:
        return visual_images(tr)
    return visual_1d(tr) if tr.data.dim == 1 else visual_2d(tr)
