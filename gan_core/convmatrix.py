"""Convolution as a matrix, and transposed convolution as its transpose (the lecture notes' seeds 003/004).

A 2D convolution of an n×n input with a k×k kernel, stride s and padding p (PyTorch's ``conv2d``: a cross-
correlation, no flip) is a matrix C of shape (m², n²), m = (n + 2p - k) // s + 1, applied to the flattened
input: z = C x. A transposed convolution of an m×m input with the same (k, s, p) is Cᵀ, from m² to n² with
n = (m - 1) s - 2p + k: x = Cᵀ z, exactly ``conv_transpose2d`` (tests check it). It restores the shape, not the
values: Cᵀ C is not the identity.

``overlap_map`` counts, for each output pixel of a transposed convolution, how many (input pixel, kernel
entry) pairs land on it: with stride 2 a kernel of 3 gives counts 1, 2, 1, 2, … along each axis (the uneven
overlap that draws checkerboards, Odena et al. 2016), a kernel of 4 an even 2, 2, … inside.
"""
from __future__ import annotations

import torch


def conv_out(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def transposed_out(m: int, k: int, s: int, p: int) -> int:
    return (m - 1) * s - 2 * p + k


def check(n: int, k: int, s: int, p: int, what: str = "input") -> None:
    """Raise ValueError naming the setting when (n, k, s, p) makes no convolution."""
    for name, value, lo, hi in (("input size", n, 1, 1024), ("kernel size", k, 1, 7), ("stride", s, 1, 4),
                                ("padding", p, 0, 3)):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{name} = {value!r} must be a whole number in [{lo}, {hi}]")
    if p >= k:
        raise ValueError(f"padding = {p} must be smaller than the kernel size {k}")
    if n + 2 * p < k:
        raise ValueError(f"the kernel ({k}) is larger than the padded {what} ({n} + 2×{p})")


def weight_index_matrix(n: int, k: int, s: int, p: int) -> torch.Tensor:
    """(m², n²) integer matrix of a convolution of an n×n input: entry = index i*k + j of the kernel weight
    w[i, j] that multiplies that input pixel for that output pixel, -1 where the matrix is 0."""
    check(n, k, s, p)
    m = conv_out(n, k, s, p)
    index = torch.full((m * m, n * n), -1, dtype=torch.long)
    for oi in range(m):
        for oj in range(m):
            for i in range(k):
                for j in range(k):
                    r, c = oi * s - p + i, oj * s - p + j
                    if 0 <= r < n and 0 <= c < n:
                        index[oi * m + oj, r * n + c] = i * k + j
    return index


def conv_matrix(weight: torch.Tensor, n: int, s: int, p: int) -> torch.Tensor:
    """The numeric matrix C for a k×k ``weight`` and an n×n input: conv2d(x, w) = (C @ x.flatten()).view(m, m)."""
    k = weight.shape[-1]
    index = weight_index_matrix(n, k, s, p)
    flat = torch.cat([weight.reshape(-1).double(), torch.zeros(1, dtype=torch.float64)])
    return flat[index.where(index >= 0, torch.full_like(index, k * k))]


def transposed_conv(z: torch.Tensor, weight: torch.Tensor, s: int, p: int) -> torch.Tensor:
    """conv_transpose2d of an m×m ``z`` computed as Cᵀ z (C: the convolution from n×n to m×m)."""
    m, k = z.shape[-1], weight.shape[-1]
    n = transposed_out(m, k, s, p)
    if n < 1:
        raise ValueError(f"a {m}×{m} input with kernel {k}, stride {s}, padding {p} has no output pixels")
    C = conv_matrix(weight, n, s, p)
    if C.shape[0] != m * m:
        raise ValueError(f"no convolution maps {n}×{n} to {m}×{m} with kernel {k}, stride {s}, padding {p}")
    return (C.T @ z.reshape(-1).double()).view(n, n)


def overlap_map(m: int, k: int, s: int, p: int) -> torch.Tensor:
    """(n, n) counts: how many (input pixel, kernel entry) pairs of a transposed convolution of an m×m input
    land on each output pixel (Cᵀ of a kernel of ones applied to an input of ones)."""
    return transposed_conv(torch.ones(m, m), torch.ones(k, k), s, p).round().long()


def stacked_overlap(m: int, k: int, s: int, p: int, layers: int) -> torch.Tensor:
    """A constant input through ``layers`` transposed convolutions with kernels of ones (an untrained
    generator's upsampling stack at its simplest): the overlap pattern compounds layer after layer."""
    x = torch.ones(m, m, dtype=torch.float64)
    for _ in range(layers):
        x = transposed_conv(x, torch.ones(k, k), s, p)
    return x
