"""What an untrained DCGAN generator draws before it has learned anything (Odena et al. 2016, "Deconvolution and
Checkerboard Artifacts"): a freshly initialised generator of each upsampling kind, fed a constant feature map
(or random z), and how much of its output varies in a grid pattern.

With a constant input every output pixel of one upsampling layer sees the same input values, so whatever
varies inside the image comes from the layer itself: a transposed convolution multiplies each of its stride²
output phases by a different part of the kernel (a period-2 pattern, doubled at every layer: "artifacts of
frequency 2 and 4"), while a nearest resize followed by a convolution gives every interior pixel the same
value. Kernels of ones (gan_core.convmatrix.stacked_overlap) show only the overlap counts; learned or random
kernels show the phases too, which is why even kernel 4 with stride 2 is not free of checkerboards.
"""
from __future__ import annotations

import torch

from .models.dcgan import SIZES, UPSAMPLES, DCGANGenerator

INPUTS = ("constant", "random z")
LABELS = {"transposed": "transposed k4 s2", "transposed3": "transposed k3 s2", "resize": "resize + conv 3×3",
          "mixed": "mixed (transposed last 2)"}


@torch.no_grad()
def untrained_output(upsample: str, size: int = 32, seed: int = 0, source: str = "constant",
                     ngf: int = 64, z_dim: int = 100) -> torch.Tensor:
    """The (size, size) image a freshly initialised DCGAN generator (DCGAN's N(0, 0.02) weights, eval mode:
    BatchNorm with its initial statistics) draws, before the final tanh: ``source`` "constant" feeds the
    upsampling stack a map of ones where the projection of z would be; "random z" runs the whole generator on
    one z. The same seed gives the same weights for every upsampling kind that shares a layer's shape."""
    if upsample not in UPSAMPLES:
        raise ValueError(f"upsample {upsample!r} is not one of {list(UPSAMPLES)}")
    if size not in SIZES:
        raise ValueError(f"size {size} is not one of {list(SIZES)}")
    if source not in INPUTS:
        raise ValueError(f"input {source!r} is not one of {list(INPUTS)}")
    with torch.random.fork_rng(devices=[]):  # the demo leaves the caller's random stream alone
        torch.manual_seed(seed)
        g = DCGANGenerator(z_dim=z_dim, size=size, channels=1, ngf=ngf, upsample=upsample).eval()
        z = torch.randn(1, z_dim)
    layers = list(g.net)[:-1]  # without the tanh: the pattern, not its saturation
    if source == "constant":
        first = g.net[0]
        h = torch.ones(1, first.out_channels, SIZES[size], SIZES[size])
        layers = layers[3:]  # skip the projection of z (ConvTranspose2d, BatchNorm, ReLU)
    else:
        h = z[:, :, None, None]
    for layer in layers:
        h = layer(h)
    return h[0, 0]


def interior(img: torch.Tensor) -> torch.Tensor:
    """The image without a border of a quarter of its side (padding effects live there)."""
    n = img.shape[-1]
    return img[n // 4: n - n // 4, n // 4: n - n // 4]


def phase_share(img: torch.Tensor, period: int = 2) -> float:
    """The share of the interior's variance explained by its ``period``×``period`` phase pattern (pixels with the
    same row and column remainders share a mean): 1 for a pure checkerboard, 0 for noise or a flat interior."""
    x = interior(img).double()
    x = x[: x.shape[0] // period * period, : x.shape[1] // period * period]
    dev = x - x.mean()
    total = float((dev ** 2).sum())
    if total <= 1e-24 * x.numel():
        return 0.0
    means = torch.zeros_like(x)
    for i in range(period):
        for j in range(period):
            means[i::period, j::period] = x[i::period, j::period].mean()
    return float(((means - x.mean()) ** 2).sum()) / total


def period(img: torch.Tensor, periods=(2, 4, 8, 16)) -> int:
    """The shortest period after which the interior repeats exactly (its phase pattern explains > 99.9% of its
    variance); 1 for a flat interior, 0 when none of ``periods`` does (noise, or content)."""
    x = interior(img).double()
    if float((x - x.mean()).abs().max()) <= 1e-9 * max(float(x.abs().max()), 1e-30):
        return 1
    for p in periods:
        if p <= x.shape[0] // 2 and phase_share(img, p) > 0.999:
            return p
    return 0
