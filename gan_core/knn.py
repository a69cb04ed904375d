"""Exact k-nearest-neighbour geometry for the quality metrics (precision/recall, density/coverage, the
memorisation check).

A matrix product gives all pairwise squared distances fast, but ``|a|^2 + |b|^2 - 2 a.b`` cancels
catastrophically when features share a large offset (float32 on features near 1000 with spread 0.05 gets
every ball wrong), and its rounding breaks ties that decide ``<`` against ``<=`` (exact copies, integer
features). So here:

1. features become float64 on the CPU and are centred on the first set's mean (every metric here is
   translation invariant), and the product ranks candidates;
2. every decision the product could get wrong - any pair whose approximate distance lies within the
   product's rounding bound of the threshold, and every candidate for a k-th neighbour - is settled with
   ``sum((a - b)^2)`` on the original (uncentred) float64 values, one code path for every pair, so equal
   inputs give bit-equal distances and a tie stays a tie.

The results equal a brute-force difference-based float64 computation (tests check this), at about the
cost of a float64 matrix product. Squared distances are compared throughout; ``radius`` = sqrt.
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch
from torch import Tensor

Array = Union[np.ndarray, Tensor]
EPS64 = float(np.finfo(np.float64).eps)
EXTRA = 8  # candidates re-ranked exactly beyond the k + 1 needed


def as_f64(x: Array, name: str = "features") -> Tensor:
    """2-D float64 CPU tensor of ``x`` (N, F); float64 input keeps every digit."""
    t = x.detach().cpu() if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x))
    if t.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, F) array, got shape {tuple(t.shape)}")
    return t.double()


def exact_sq(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise squared distance of aligned (P, F) arrays: the one exact formula every decision uses."""
    return (a - b).pow(2).sum(1)


class Geometry:
    """Two point sets (float64, original values) with their centred copies and squared norms.

    The fast part works on ``M = a.b - |b|^2 / 2`` (one fused matrix product per block): the squared
    distance is ``|a|^2 - 2 M``, so ranking a row by distance is ranking it by -M, and a threshold on the
    distance is a per-row threshold on M - no (c, N) distance matrix is ever formed."""

    def __init__(self, a: Tensor, b: Tensor, centre: Tensor):
        self.a, self.b = a, b
        self.ca, self.cb = a - centre, b - centre
        self.na, self.nb = self.ca.pow(2).sum(1), self.cb.pow(2).sum(1)
        self.half_nb = (-0.5 * self.nb)[None, :]
        # |approx - exact| of a squared distance <= scale * (|a|^2 + |b|^2): the product's rounding
        # ~ (F + 2) eps, the centring's ~ 8 eps and the exact formula's own ~ F eps, with room to spare;
        # taken at the largest |b|^2 so the bound is one number per row
        self.scale = 8.0 * (a.shape[1] + 4) * EPS64
        self.bound = self.scale * (self.na + (self.nb.max() if len(self.nb) else 0.0)) + 1e-300  # (Na,)

    def half_gap(self, i0: int, i1: int) -> Tensor:
        """M = a.b - |b|^2 / 2 for rows i0:i1 of a (c, Nb): squared distance = |a|^2 - 2 M."""
        return torch.addmm(self.half_nb, self.ca[i0:i1], self.cb.T)

    def pairs(self, i: Tensor, j: Tensor) -> Tensor:
        return exact_sq(self.a[i], self.b[j])

    def row(self, i: int) -> Tensor:
        """Exact squared distances from a[i] to every row of b."""
        return exact_sq(self.a[i].expand_as(self.b), self.b)


def _smallest(geo: Geometry, rank: int, chunk: int) -> tuple[Tensor, Tensor]:
    """Per row of a: (exact squared distance of its rank-th nearest row of b (0 = nearest), that row's index)."""
    n_b = geo.b.shape[0]
    m = min(rank + 1 + EXTRA, n_b)
    values = torch.empty(geo.a.shape[0], dtype=torch.float64)
    index = torch.empty(geo.a.shape[0], dtype=torch.int64)
    for i0 in range(0, geo.a.shape[0], chunk):
        top = geo.half_gap(i0, i0 + chunk).topk(m, dim=1, largest=True)  # the m nearest by the fast formula
        cand = top.indices  # (c, m)
        rows = torch.arange(i0, i0 + cand.shape[0])
        exact = geo.pairs(rows[:, None].expand_as(cand).reshape(-1), cand.reshape(-1)).view_as(cand)
        exact_s, cand_s = _sorted(exact, cand)
        val, idx = exact_s[:, rank].clone(), cand_s[:, rank].clone()
        # any row of b outside the candidates is at least (largest candidate approx - bound) away;
        # where that could undercut the answer, settle the row with every distance computed exactly
        na, bound = geo.na[rows], geo.bound[rows]
        worst_out = (na - 2.0 * top.values[:, -1]) - bound
        for r in torch.nonzero((worst_out <= val) & (m < n_b)).flatten().tolist():
            full = geo.row(i0 + r)
            order_full = torch.argsort(full, stable=True)
            val[r], idx[r] = full[order_full[rank]], order_full[rank]
        values[i0:i0 + cand.shape[0]], index[i0:i0 + cand.shape[0]] = val, idx
    return values, index


def _sorted(exact: Tensor, cand: Tensor) -> tuple[Tensor, Tensor]:
    """Order each row by exact distance, ties by candidate index (lexicographic sort)."""
    order = torch.argsort(cand, dim=1, stable=True)
    exact, cand = exact.gather(1, order), cand.gather(1, order)
    order = torch.argsort(exact, dim=1, stable=True)
    return exact.gather(1, order), cand.gather(1, order)


def kth_sq_distance(x: Tensor, k: int, chunk: int) -> Tensor:
    """(N,) exact squared distance from each row of x (float64) to its k-th nearest other row.

    Duplicates count as separate points (a copy is a neighbour at distance 0), as in the references."""
    geo = Geometry(x, x, x.mean(0))
    return _smallest(geo, k, chunk)[0]  # rank k counts the point itself at rank 0


def ball_hits(centres: Tensor, radii_sq: Tensor, queries: Tensor, strict: bool, chunk: int,
              centre: Tensor) -> tuple[Tensor, Tensor]:
    """(per query: balls containing it (Q,), per centre: whether any query lies inside (C,)).

    A query is inside a ball when its squared distance is < (strict) or <= the squared radius."""
    geo = Geometry(centres, queries, centre)
    counts = torch.zeros(queries.shape[0], dtype=torch.int64)
    hit = torch.zeros(centres.shape[0], dtype=torch.bool)
    for i0 in range(0, centres.shape[0], chunk):
        i1 = min(i0 + chunk, centres.shape[0])
        half = geo.half_gap(i0, i1)  # d2 = na - 2 M: d2 < r2 - bound  <=>  M > (na - r2 + bound) / 2
        base = (geo.na[i0:i1] - radii_sq[i0:i1])[:, None]
        bound = geo.bound[i0:i1, None]
        inside = half > (base + bound) / 2  # surely inside
        unsure = (half >= (base - bound) / 2) & ~inside  # within the bound of the edge: decide exactly
        if unsure.any():
            ci, qi = torch.nonzero(unsure, as_tuple=True)
            exact = geo.pairs(ci + i0, qi)
            r2 = radii_sq[ci + i0]
            inside[ci, qi] = exact < r2 if strict else exact <= r2
        counts += inside.sum(0)
        hit[i0:i1] = inside.any(1)
    return counts, hit


def nearest(samples: Tensor, train: Tensor, chunk: int) -> tuple[Tensor, Tensor]:
    """For float64 rows: (index of the nearest train row (ties: lowest index), exact squared distance)."""
    geo = Geometry(samples, train, train.mean(0))
    values, index = _smallest(geo, 0, chunk)
    return index, values
