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


ZOOMS = (1.0, 1.5, 2.0, 3.0)  # the 2D view widens in these steps to follow generated points (quantised, so
# the picture does not jitter); beyond the widest, points are counted as outside


def view_bounds(bounds, points: np.ndarray) -> tuple[tuple, tuple, int]:
    """The data bounds widened just enough (in ``ZOOMS`` steps, about the same centre) to hold 99% of
    ``points`` (N, 2); returns (x range, y range, number of points still outside)."""
    (x0, x1), (y0, y1) = bounds
    cx, cy, hx, hy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    finite = points[np.isfinite(points).all(1)]
    reach = float(np.percentile(np.maximum(np.abs(finite[:, 0] - cx) / hx, np.abs(finite[:, 1] - cy) / hy), 99)
                  ) if len(finite) else 1.0
    zoom = next((z for z in ZOOMS if reach <= z), ZOOMS[-1])
    xr, yr = (cx - zoom * hx, cx + zoom * hx), (cy - zoom * hy, cy + zoom * hy)
    inside = ((points[:, 0] >= xr[0]) & (points[:, 0] <= xr[1]) & (points[:, 1] >= yr[0]) & (points[:, 1] <= yr[1]))
    return xr, yr, int(len(points) - inside.sum())


def visual_2d(tr, n_points: int = 512, grid: int = 48, n_arrows: int = 128) -> dict:
    with torch.no_grad():
        real, _ = tr.data.sample(n_points, tr.eval_gen, tr.device)
        fake = tr.g_eval(tr.viz_z[:n_points])
    fake_np = fake.cpu().numpy()
    bounds = tr.data.bounds
    if tr.source is not None:  # show domain A too
        bounds = tuple((min(a[0], b[0]), max(a[1], b[1])) for a, b in zip(bounds, tr.source.bounds))
    (x0, x1), (y0, y1), outside = view_bounds(bounds, fake_np)
    with torch.no_grad():
        xs, ys = torch.linspace(x0, x1, grid), torch.linspace(y0, y1, grid)
        pts = torch.cartesian_prod(ys, xs).flip(1).to(tr.device)  # (grid*grid, 2) row-major in y
        heat = _shown(tr.D(pts), tr.loss.output).view(grid, grid)
    out = {"kind": "2d", "real": real.cpu().numpy(), "fake": fake_np, "heat": heat.cpu().numpy(),
           "heat_x": xs.numpy(), "heat_y": ys.numpy(), "output": tr.loss.output, "bounds": ((x0, x1), (y0, y1)),
           "outside": outside}
    if tr.source is not None:  # a translation: arrows from each domain-A point to where G_AB sends it
        source = tr.viz_z[:n_arrows]
        out.update(source=tr.viz_z[:n_points].cpu().numpy(), arrow_xy=source.cpu().numpy(),
                   arrow_uv=(fake[:n_arrows] - source).cpu().numpy(), arrow_map=True)
        return out
    arrows_at = fake[:n_arrows].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(tr.loss.g(tr.D(arrows_at)), arrows_at)
    push = -g * n_arrows  # per-sample direction of steepest descent of G's loss
    out.update(arrow_xy=arrows_at.detach().cpu().numpy(), arrow_uv=push.cpu().numpy())
    return out


def visual_1d(tr, n: int = 4096, bins: int = 60, curve: int = 200) -> dict:
    lo, hi = tr.data.bounds[0]
    with torch.no_grad():
        real, _ = tr.data.sample(n, tr.eval_gen, tr.device)
        fake = tr.sample(n)  # noise (or domain-A points) from the eval generator
        xs = torch.linspace(lo, hi, curve, device=tr.device)
        d = _shown(tr.D(xs[:, None]), tr.loss.output)
    edges = np.linspace(lo, hi, bins + 1)
    fake_np = fake.cpu().numpy().ravel()
    real_h, _ = np.histogram(real.cpu().numpy().ravel(), edges)
    fake_h, _ = np.histogram(fake_np, edges)
    width = edges[1] - edges[0]
    real_h, fake_h = real_h / (n * width), fake_h / (n * width)  # densities of ALL samples: mass outside is missing
    return {"kind": "1d", "edges": edges, "real_hist": real_h, "fake_hist": fake_h, "curve_x": xs.cpu().numpy(),
            "curve_d": d.cpu().numpy(), "fake_mean": float(fake.mean()), "fake_std": float(fake.std()),
            "output": tr.loss.output, "n": n, "outside": int(((fake_np < lo) | (fake_np > hi)).sum())}


def visual_images(tr, n: int = 64) -> dict:
    if tr.source is not None:
        return visual_translation(tr)
    samples = tr.fixed_samples()[:n]
    return {"kind": "images", "grid": tile_images(samples), "n": int(samples.shape[0])}


@torch.no_grad()
def visual_translation(tr, n: int = 16, per_row: int = 8) -> dict:
    """CycleGAN's strip: for ``n`` fixed domain-A images, rows of A, G_AB(A) and G_BA(G_AB(A)), ``per_row`` at a
    time (a block of three rows per group)."""
    a = tr.fixed_z[:n]
    b = tr.g_eval.ab(a)
    back = tr.g_eval.ba(b)
    rows = []
    for i in range(0, n, per_row):
        rows += [a[i:i + per_row], b[i:i + per_row], back[i:i + per_row]]
    return {"kind": "images", "grid": tile_images(torch.cat(rows), nrow=per_row), "n": int(n), "strip": True,
            "rows": ("A", "A → B", "A → B → A")}


def png_bytes(image: np.ndarray) -> bytes:
    """A uint8 image (H, W) or (H, W, 3) as PNG bytes."""
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def make_visual(tr) -> dict:
    """The picture for the trainer's data kind."""
    if tr.is_image:
        return visual_images(tr)
    return visual_1d(tr) if tr.data.dim == 1 else visual_2d(tr)
