"""Jensen-Shannon and Kullback-Leibler divergences between two point sets, estimated on a grid histogram
(GAN Lab plots both while it trains).

    divergences(real, fake, bounds)  ->  {"js": ..., "kl_real_fake": ..., "kl_fake_real": ...}

How the estimate is made (natural logarithms throughout):

- Each set of points (N, d), d = 1 or 2, is counted on ``bins`` equal cells per axis over ``bounds``
  ((lo, hi) per axis) plus ONE overflow cell for every point outside the bounds (or not finite). A
  generator that throws its points away therefore puts mass where the data has almost none and is
  penalised, instead of vanishing from the histogram.
- Counts become probabilities p (real) and q (generated). Cells that are empty get probability ``eps``
  (default 1e-6) and each histogram is renormalised to sum 1, so neither KL is infinite: a cell of the
  data with mass p_cell that G misses costs about p_cell * ln(p_cell / eps) in KL(real || fake) (a missed
  ring8 mode, 1/8: ~1.5 nats). eps is small enough that all 901 cells of a 30x30 grid, were they empty,
  would hold under 0.1% of the mass: with 1e-4 they held ~9% and two disjoint sets read JS 0.63, not ln 2.
- JS(p, q) = 0.5 KL(p || m) + 0.5 KL(q || m), m = (p + q) / 2: symmetric, in [0, ln 2] (ln 2 ~ 0.693 for
  disjoint sets). KL(real || fake) is large when G misses modes of the data; KL(fake || real) is large
  when G puts samples where there are no data.

The estimate depends on the cell size and the sample count: two samples of the same distribution do not
give exactly 0 (``floor`` in the result of the Manifold page is that real-vs-real value at the same count).
"""
from __future__ import annotations

import numpy as np

BINS = 30  # cells per axis: 0.2 wide over ring8's [-3, 3]^2, ten times the modes' std
BINS_1D = 60  # cells on a line (1D data)
EPS = 1e-6  # probability given to an empty cell before renormalising (see above)


def histogram(points: np.ndarray, bounds, bins: int = BINS) -> np.ndarray:
    """Counts of ``points`` (N, d) on ``bins`` cells per axis over ``bounds`` (d pairs (lo, hi)), flattened,
    with one overflow cell last for points outside (or NaN / inf): (bins**d + 1,) float64."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 1:
        pts = pts[:, None]
    d = pts.shape[1]
    bounds = [tuple(map(float, b)) for b in list(bounds)[:d]]
    if len(bounds) != d:
        raise ValueError(f"need bounds for {d} axes, got {len(bounds)}")
    if any(not hi > lo for lo, hi in bounds):
        raise ValueError(f"every bound needs lo < hi, got {bounds}")
    inside = np.isfinite(pts).all(1)
    for axis, (lo, hi) in enumerate(bounds):
        inside &= (pts[:, axis] >= lo) & (pts[:, axis] <= hi)
    counts, _ = np.histogramdd(pts[inside], bins=bins, range=bounds)
    return np.append(counts.ravel(), float((~inside).sum()))


def probabilities(counts: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Counts -> probabilities, empty cells set to ``eps`` and the whole renormalised to sum 1."""
    total = counts.sum()
    if total <= 0:
        raise ValueError("no points to estimate a distribution from")
    p = counts / total
    p = np.where(p > 0, p, eps)
    return p / p.sum()


def kl(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) = sum p ln(p / q) in nats, for strictly positive probability vectors."""
    return float(np.sum(p * np.log(p / q)))


def js(p: np.ndarray, q: np.ndarray) -> float:
    m = 0.5 * (p + q)
    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def divergences(real: np.ndarray, fake: np.ndarray, bounds, bins: int = BINS, eps: float = EPS) -> dict:
    """JS and both KLs (nats) between the grid histograms of ``real`` and ``fake`` (N, d) over ``bounds``,
    and the fraction of each set that fell in the overflow cell."""
    cr, cf = histogram(real, bounds, bins), histogram(fake, bounds, bins)
    p, q = probabilities(cr, eps), probabilities(cf, eps)
    return {"js": js(p, q), "kl_real_fake": kl(p, q), "kl_fake_real": kl(q, p),
            "outside_real": float(cr[-1] / cr.sum()), "outside_fake": float(cf[-1] / cf.sum()),
            "bins": bins, "eps": eps}
