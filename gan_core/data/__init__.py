"""Datasets: toy distributions sampled on the fly and image sets held in memory.

Every dataset answers ``sample(n, generator, device) -> (x, labels or None)`` and carries ``num_classes``.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..config import DataConfig
from .toy import ToyDataset, load_toy


def load_dataset(cfg: DataConfig, progress: Optional[Callable[[str, float], None]] = None):
    """Toy datasets need nothing; image sets are read (or downloaded) and scaled to [-1, 1]."""
    if cfg.is_toy:
        return load_toy(cfg.dataset, cfg.points, cfg.point_std)
    from .images import load_images  # imported lazily: PIL/sklearn are not needed for toy runs
    return load_images(cfg, progress)


__all__ = ["load_dataset", "ToyDataset", "load_toy"]
