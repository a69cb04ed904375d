"""Bounded metric history: every step is kept until ``capacity`` rows, then neighbouring rows are averaged
in pairs (and later arrivals in groups of the new stride), so memory stays fixed on runs of any length
while the curve keeps its shape. ``view(max_points)`` returns float32 columns bucketed for charts.
"""
from __future__ import annotations

import warnings

import numpy as np


def _group_mean(rows: np.ndarray, group: int) -> np.ndarray:
    """Mean over consecutive groups of ``group`` rows, ignoring NaNs (sparse metrics stay sparse)."""
    n = (rows.shape[0] // group) * group
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN groups stay NaN
        return np.nanmean(rows[:n].reshape(-1, group, rows.shape[1]), axis=1)


class History:
    def __init__(self, names: tuple, capacity: int = 20_000):
        if capacity < 4 or capacity % 2:
            raise ValueError(f"capacity = {capacity} must be an even number >= 4")
        self.names = tuple(names)
        self.col = {n: i for i, n in enumerate(self.names)}
        self.capacity = capacity
        self.data = np.full((capacity, len(self.names)), np.nan)
        self.n = 0
        self.stride = 1  # raw rows per stored row
        self._pending = np.empty((0, len(self.names)))
        self.last = np.full(len(self.names), np.nan)  # the newest raw row, for headline numbers

    def __len__(self) -> int:
        return self.n

    def append(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.float64)
        if rows.ndim == 1:  # one row, or a column of values for a one-column history
            rows = rows.reshape(-1, 1) if len(self.names) == 1 else rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != len(self.names):
            raise ValueError(f"rows of shape {rows.shape} do not match the {len(self.names)} history columns")
        if rows.shape[0] == 0:
            return
        self.last = rows[-1].copy()
        pending = np.concatenate([self._pending, rows])
        while pending.shape[0] >= self.stride:
            groups = min(pending.shape[0] // self.stride, self.capacity - self.n)
            used = groups * self.stride
            self.data[self.n:self.n + groups] = _group_mean(pending[:used], self.stride)
            self.n += groups
            pending = pending[used:]
            if self.n == self.capacity:  # full: halve the resolution of everything stored so far
                self.data[: self.capacity // 2] = _group_mean(self.data, 2)
                self.data[self.capacity // 2:] = np.nan
                self.n = self.capacity // 2
                self.stride *= 2
        self._pending = pending

    def view(self, max_points: int = 2000) -> dict[str, np.ndarray]:
        """Columns as float32 arrays of at most ``max_points`` rows (bucket means)."""
        rows = self.data[: self.n]
        if rows.shape[0] > max_points:
            group = -(-rows.shape[0] // max_points)
            tail = rows.shape[0] % group
            head = _group_mean(rows[: rows.shape[0] - tail], group)
            rows = np.concatenate([head, _group_mean(rows[rows.shape[0] - tail:], tail)]) if tail else head
        return {name: rows[:, i].astype(np.float32) for i, name in enumerate(self.names)}

    def truncate_after(self, step: float) -> None:
        """Drop every row whose ``step`` column is above ``step`` (a rollback)."""
        steps = self.data[: self.n, self.col["step"]]
        keep = int(np.searchsorted(steps, step, side="right")) if self.n else 0
        self.data[keep: self.n] = np.nan
        self.n = keep
        self._pending = self._pending[self._pending[:, self.col["step"]] <= step]
        self.last = self.data[keep - 1].copy() if keep else np.full(len(self.names), np.nan)

    def column(self, name: str) -> np.ndarray:
        return self.data[: self.n, self.col[name]].copy()
