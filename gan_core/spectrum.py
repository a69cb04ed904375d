"""Frequency spectra of images: where upsampling artefacts show (Durall et al. 2020 plot GAN spectra this way).

``mean_power_spectrum`` is the mean over images of |FFT2|² of each image's channel mean, centred (fftshift)
and in log10 with a floor; ``radial_profile`` averages it over rings of equal distance from the centre (0 =
the mean brightness, the last rings = the corners, the highest frequencies in both directions). ``spectrum_report`` puts the real
and generated spectra side by side, with their radial difference and ``high_frequency_excess``: the mean
of that difference (generated minus real, log10 units) over the upper half of the radii, where transposed
convolutions put their checkerboard energy.
"""
from __future__ import annotations

import numpy as np
import torch

EPS = 1e-8  # power floor before the log (an all-constant image has no power off the centre)


def mean_power_spectrum(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) -> (H, W) float64: log10 of the mean centred power spectrum of the channel means."""
    if images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be a non-empty (N, C, H, W) batch, got shape {tuple(images.shape)}")
    gray = images.detach().double().cpu().mean(1)  # (N, H, W)
    power = torch.fft.fftshift(torch.fft.fft2(gray), dim=(-2, -1)).abs().pow(2).mean(0)
    return torch.log10(power + EPS).numpy()


def radial_profile(spectrum: np.ndarray) -> np.ndarray:
    """Mean of ``spectrum`` (H, W, centred) over rings of integer radius from the centre, out to the corners
    (the highest frequencies, where a period-2 checkerboard sits): (round(hypot(H/2, W/2)) + 1,)."""
    h, w = spectrum.shape
    cy, cx = h // 2, w // 2  # fftshift puts frequency 0 here
    yy, xx = np.indices((h, w))
    r = np.rint(np.hypot(yy - cy, xx - cx)).astype(int)
    sums = np.bincount(r.ravel(), weights=spectrum.ravel())
    counts = np.bincount(r.ravel())
    return sums / np.maximum(counts, 1)


def spectrum_report(fake: torch.Tensor, real: torch.Tensor) -> dict:
    """Spectra of generated and real images of the same size, and how they differ by frequency."""
    if fake.shape[1:] != real.shape[1:]:
        raise ValueError(f"generated images {tuple(fake.shape[1:])} and real ones {tuple(real.shape[1:])} differ in size")
    sf, sr = mean_power_spectrum(fake), mean_power_spectrum(real)
    pf, pr = radial_profile(sf), radial_profile(sr)
    diff = pf - pr
    upper = diff[len(diff) // 2:]
    return {"fake": sf, "real": sr, "difference": sf - sr, "radial_fake": pf, "radial_real": pr,
            "radial_difference": diff, "high_frequency_excess": float(upper.mean()),
            "n_fake": int(fake.shape[0]), "n_real": int(real.shape[0])}
