"""The generator's manifold on toy data: where G sends a regular grid of the latent plane.

A GAN's generator is a map from noise z to data x. On 2D data the picture of that map is a warped mesh:
take the lines of a regular grid in z (``grid_lines``: ``n_lines`` lines of constant z1 and as many of
constant z2 over [-span, span]^2) and draw G of each line in data space (``mesh``). A good G folds and
stretches the plane so that its mass lands on the data's modes; a collapsed G squashes it onto a point.

- ``latent_plane(view)``: the plane of z the grid spans. With z_dim = 2 it is the z1, z2 plane itself;
  with more dimensions the plane through z = 0 along the top two principal directions of G's output
  (``gan_core.latent.principal_directions``, orthonormalised), so the grid moves G's output the most;
  with z_dim = 1 a single line. ``align`` keeps the signs and the order of a new plane's directions
  in step with the previous one's, so a live picture does not flip between two refreshes.
- ``manifold_2d(generate, plane, samples)``: everything the 2D picture needs, as numpy arrays.
- ``lines_1d(generate, ...)``: for 1D data, evenly spaced quantiles of N(0, 1) along one latent
  direction and where G sends each one (Goodfellow et al. 2014, Fig. 1): where the lines crowd together,
  G puts much density.

``generate`` is any callable z (B, z_dim) -> (B, data_dim) tensor, typically a frozen copy of the generator
(``GeneratorView.generate``), so nothing here touches a model that is training. No Streamlit here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

GRID_LINES = 21  # lines per family: a line every 0.25 over [-2.5, 2.5]
GRID_SPAN = 2.5  # the grid covers [-span, span]^2 of the plane: ~99% of N(0, 1) along each axis
LINE_POINTS = 41  # points along each line (enough to show G's folds at toy scale)
BATCH = 4096  # rows per call of the generator


@dataclass
class Plane:
    """A plane (or line) of latent space: points origin + u * basis[0] + v * basis[1]."""
    origin: np.ndarray  # (z_dim,)
    basis: np.ndarray  # (k, z_dim), k in {1, 2}, orthonormal rows
    kind: str  # "axes": the z1 (, z2) axes themselves; "principal": top principal directions of G's output
    explained: Optional[np.ndarray] = None  # (k,) fraction of output variance of each principal component

    @property
    def k(self) -> int:
        return int(self.basis.shape[0])

    @property
    def z_dim(self) -> int:
        return int(self.basis.shape[1])

    def to_latent(self, coords: np.ndarray) -> np.ndarray:
        """Plane coordinates (..., k) -> latent vectors (..., z_dim)."""
        return self.origin + coords @ self.basis

    def project(self, z: np.ndarray) -> np.ndarray:
        """Latent vectors (..., z_dim) -> their coordinates on the plane (..., k) (orthogonal projection)."""
        return (z - self.origin) @ self.basis.T


def axes_plane(z_dim: int) -> Plane:
    """The plane of the first two latent coordinates through 0 (the line of z1 when z_dim = 1)."""
    if z_dim < 1:
        raise ValueError(f"z_dim = {z_dim}: the generator has no noise input")
    k = min(2, z_dim)
    return Plane(np.zeros(z_dim), np.eye(k, z_dim), "axes")


def principal_plane(generator, z_dim: int, n: int = 2048, seed: int = 0, labels=None, device=None) -> Plane:
    """The plane through z = 0 along the latent directions that move G's output along its top two principal
    components (``principal_directions``), orthonormalised (Gram-Schmidt, the first kept as it is)."""
    from .latent import principal_directions
    dirs = principal_directions(generator, z_dim, k=2, n=n, seed=seed, labels=labels, device=device)
    v = dirs.vectors.double().numpy()  # (k, z) unit rows, not necessarily orthogonal
    basis = [v[0] / max(np.linalg.norm(v[0]), 1e-12)]
    if v.shape[0] > 1:
        w = v[1] - (v[1] @ basis[0]) * basis[0]
        if np.linalg.norm(w) < 1e-6:  # both directions (nearly) parallel: any orthogonal one will do
            w = np.eye(z_dim)[int(np.argmin(np.abs(basis[0])))]
            w = w - (w @ basis[0]) * basis[0]
        basis.append(w / np.linalg.norm(w))
    return Plane(np.zeros(z_dim), np.stack(basis), "principal", np.asarray(dirs.explained, dtype=float))


def latent_plane(view, labels=None, previous: Optional[Plane] = None) -> Plane:
    """The plane a GeneratorView's grid spans: the axes for z_dim <= 2, else the principal plane (aligned
    with ``previous`` when given)."""
    if view.z_dim <= 2:
        return axes_plane(view.z_dim)
    plane = principal_plane(view.G, view.z_dim, labels=labels, device=view.device)
    return align(plane, previous) if previous is not None else plane


def align(plane: Plane, previous: Plane) -> Plane:
    """``plane`` with its two directions swapped and/or negated where that matches ``previous`` better
    (principal directions have no sign, and two of nearly equal variance can trade places between steps)."""
    if previous.basis.shape != plane.basis.shape or plane.kind != previous.kind:
        return plane
    basis, explained = plane.basis.copy(), None if plane.explained is None else plane.explained.copy()
    if plane.k == 2:
        same = abs(basis[0] @ previous.basis[0]) + abs(basis[1] @ previous.basis[1])
        swapped = abs(basis[1] @ previous.basis[0]) + abs(basis[0] @ previous.basis[1])
        if swapped > same:
            basis = basis[::-1].copy()
            explained = None if explained is None else explained[::-1].copy()
    signs = np.where(np.sum(basis * previous.basis, 1) < 0, -1.0, 1.0)
    return Plane(plane.origin, basis * signs[:, None], plane.kind, explained)


def grid_lines(n_lines: int = GRID_LINES, span: float = GRID_SPAN, points: int = LINE_POINTS) -> np.ndarray:
    """The lines of a regular grid over [-span, span]^2 of a plane: (2, n_lines, points, 2) coordinates.

    [0, i] is the line of constant first coordinate c_i (the second runs from -span to span);
    [1, j] the line of constant second coordinate c_j; c = linspace(-span, span, n_lines)."""
    if n_lines < 2 or points < 2:
        raise ValueError(f"a grid needs at least 2 lines of 2 points, got {n_lines} lines of {points}")
    c = np.linspace(-span, span, n_lines)
    t = np.linspace(-span, span, points)
    first = np.stack(np.broadcast_arrays(c[:, None], t[None, :]), -1)  # (n_lines, points, 2): (c_i, t)
    second = first[..., ::-1]  # (t, c_j)
    return np.stack([first, second])


def generate_batched(generate: Callable, z: np.ndarray, batch: int = BATCH) -> np.ndarray:
    """G of latent vectors (..., z_dim) in batches of ``batch`` rows: (..., data_dim) float64."""
    flat = torch.as_tensor(np.asarray(z, dtype=np.float32).reshape(-1, z.shape[-1]))
    out = [generate(chunk).detach().cpu().double().flatten(1) for chunk in flat.split(batch)]
    x = torch.cat(out).numpy() if out else np.zeros((0, 1))
    return x.reshape(*z.shape[:-1], x.shape[-1])


def mesh(generate: Callable, plane: Plane, lines: np.ndarray) -> np.ndarray:
    """Image under G of grid lines (..., k) on ``plane``: (..., data_dim)."""
    return generate_batched(generate, plane.to_latent(lines[..., :plane.k]))


def manifold_2d(generate: Callable, plane: Plane, z: np.ndarray, n_lines: int = GRID_LINES,
                span: float = GRID_SPAN, points: int = LINE_POINTS) -> dict:
    """The warped mesh of 2D data: the grid in plane coordinates ("grid", (2, L, P, 2); for a 1D latent
    (1, 1, P, 2) with the second coordinate 0), its image under G ("mesh", same shape but data coordinates),
    the noise samples ``z`` (N, z_dim) projected on the plane ("z_plane", (N, 2)) and G(z) ("fake", (N, 2))."""
    lines = grid_lines(n_lines, span, points)
    if plane.k == 1:
        lines = lines[1:, n_lines // 2:n_lines // 2 + 1]  # the one line (t, 0)
    coords = plane.project(np.asarray(z, dtype=np.float64))
    if plane.k == 1:
        coords = np.concatenate([coords, np.zeros_like(coords)], 1)
    fake = generate_batched(generate, z)
    if fake.shape[-1] != 2:
        raise ValueError(f"the warped mesh needs 2D data; the generator makes {fake.shape[-1]} values")
    return {"grid": lines, "mesh": mesh(generate, plane, lines), "z_plane": coords, "fake": fake,
            "span": span, "k": plane.k}


def normal_quantiles(n: int) -> np.ndarray:
    """``n`` evenly spaced quantiles of N(0, 1): Phi^-1((i + 0.5) / n), i = 0..n-1 (equal mass between two)."""
    return torch.special.ndtri((torch.arange(n, dtype=torch.float64) + 0.5) / n).numpy()


def lines_1d(generate: Callable, z_dim: int, n_lines: int = 41, direction: Optional[np.ndarray] = None) -> dict:
    """1D data: latent points t * direction for ``n_lines`` quantiles t of N(0, 1) and G of each, so equal
    probability sits between two neighbouring lines at both ends ("t", "x": (n_lines,)). ``direction``
    (z_dim,) defaults to z1."""
    d = np.eye(1, z_dim)[0] if direction is None else np.asarray(direction, dtype=np.float64)
    d = d / max(np.linalg.norm(d), 1e-12)
    t = normal_quantiles(n_lines)
    x = generate_batched(generate, t[:, None] * d[None])
    if x.shape[-1] != 1:
        raise ValueError(f"the 1D view needs 1D data; the generator makes {x.shape[-1]} values")
    return {"t": t, "x": x[:, 0], "direction": d}


def view_range(bounds, points: np.ndarray) -> tuple:
    """Axis ranges for the data panel: the data bounds, widened in fixed steps (about the same centre) until
    they hold 99% of ``points`` (N, 2) (``viz.ZOOMS``, as the Train page), so the picture does not jump at
    every refresh."""
    from .viz import view_bounds
    xr, yr, _ = view_bounds(bounds, np.asarray(points, dtype=np.float64))
    return xr, yr
