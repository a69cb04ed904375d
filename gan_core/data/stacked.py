"""Stacked MNIST: three random MNIST digits as the R, G and B channels of one image = 1000 modes
(Metz et al. 2017; Lin et al. 2018, PacGAN). See DESIGN.md "Reference protocols and numbers".

Only the 1-channel MNIST tensor is kept in memory (read from the same IDX files, data directory and
download as ``dataset = "mnist"``); every batch is stacked on the fly, so no (N, 3, H, W) copy exists.
Labels are the joint class 100*a + 10*b + c of the three digits.

    from gan_core.config import DataConfig
    from gan_core.data.stacked import load_stacked
    ds = load_stacked(DataConfig(dataset="stacked_mnist"))
    x, y = ds.sample(64, torch.Generator(), "cpu")     # (64, 3, 28, 28) in [-1, 1], (64,) in 0..999
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import Tensor

from ..config import DataConfig
from .images import DataError, ImageDataset, _load_idx_set

CHANNELS = 3
NUM_MODES = 10 ** CHANNELS
PLACE = torch.tensor([100, 10, 1])  # channel -> decimal place of its digit in the joint label


@dataclass
class StackedMNIST:
    """Stacked MNIST built batch by batch from ``digits`` (an ImageDataset of (N, 1, H, W) MNIST images)."""

    digits: ImageDataset
    name: str = "stacked_mnist"

    @property
    def num_classes(self) -> int:
        return NUM_MODES if self.digits.labels is not None else 0

    @property
    def class_names(self) -> list[str]:
        return [f"{i:03d}" for i in range(NUM_MODES)] if self.num_classes else []

    @property
    def shape(self) -> tuple:
        return (CHANNELS,) + tuple(self.digits.images.shape[2:])  # (3, H, W)

    @property
    def dim(self) -> int:
        return math.prod(self.shape)

    def __len__(self) -> int:
        return len(self.digits)  # the MNIST images the stacks are drawn from

    def _stack(self, idx: Tensor, device) -> tuple[Tensor, Optional[Tensor]]:
        """idx (n, 3) into the digits -> images (n, 3, H, W), labels (n,) or None, on ``device``."""
        x = self.digits.images[idx].squeeze(2)  # (n, 3, 1, H, W) -> (n, 3, H, W)
        y = None
        if self.digits.labels is not None:
            y = (self.digits.labels[idx] * PLACE.to(idx.device)).sum(1).to(device)  # (n,)
        return x.to(device), y

    def sample(self, n: int, gen: torch.Generator, device) -> tuple[Tensor, Optional[Tensor]]:
        """``n`` stacks of 3 random digits (with replacement); ``gen`` must live on the digits' device."""
        idx = torch.randint(0, len(self), (n, CHANNELS), generator=gen, device=self.digits.images.device)
        return self._stack(idx, device)

    def reference(self, n: int, seed: int = 0) -> tuple[Tensor, Optional[Tensor]]:
        """A fixed set of ``n`` real stacks for metrics: the same ``seed`` gives the same set on any device."""
        if n < 1:
            raise ValueError(f"reference set size n = {n} must be >= 1")
        g = torch.Generator().manual_seed(seed)
        idx = torch.randint(0, len(self), (n, CHANNELS), generator=g).to(self.digits.images.device)
        return self._stack(idx, self.digits.images.device)

    def to(self, device) -> "StackedMNIST":
        return dataclasses.replace(self, digits=self.digits.to(device))


def load_stacked(cfg: DataConfig, progress: Optional[Callable[[str, float], None]] = None) -> StackedMNIST:
    """Stacked MNIST from the MNIST IDX files (downloaded when absent and allowed), resized to
    ``cfg.image_size`` like ``dataset = "mnist"``; ``cfg.channels`` must be 0 (native) or 3."""
    if cfg.channels not in (0, CHANNELS):
        raise DataError(f"data.channels = {cfg.channels} does not fit stacked_mnist, which has 3 channels "
                        "(one digit each); use 0 or 3")
    mnist_cfg = dataclasses.replace(cfg, dataset="mnist", channels=1)
    digits = _load_idx_set("mnist", mnist_cfg, progress)
    if digits.images.shape[1] != 1:
        raise DataError(f"expected 1-channel MNIST images, got shape {tuple(digits.images.shape)}")
    return StackedMNIST(digits)
