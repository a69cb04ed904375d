"""Live diagnostics measured inside the training loop: what a run learns beyond its losses.

- 2D mixtures (ring8, grid25): every ``metrics_every`` steps, on 2,500 samples: modes covered and the
  high-quality fraction (VEEGAN/PacGAN protocol, DESIGN.md) and the spread of the samples relative to the
  real data's (mean distance between random pairs) — near-identical samples mean collapse.
- Digit images with a shipped classifier (digits, mnist, stacked_mnist): on ~2,000 samples, the class
  histogram, classes covered, KL to uniform, mean confidence and the spread in classifier-feature space
  relative to real images. These run on a time budget: after a measurement costing c seconds the next one
  waits c / budget seconds, so they take at most ``budget`` (4%) of the training thread's time.
- All 1D and 2D point data (the mixtures above too): on the same samples, the Jensen-Shannon and both KL
  divergences between generated and real points on a grid histogram (gan_core.divergence; real: 2,500 points
  drawn once), every ``metrics_every`` steps. The Train page draws JS beside the losses.
"""
from __future__ import annotations

import time
from typing import Optional

import numpy as np
import torch

from .divergence import BINS, BINS_1D, divergences
from .metrics import mode_coverage

MODE_COLUMNS = ("step", "modes_covered", "hq_fraction", "diversity_ratio")
DIVERGENCE_COLUMNS = ("js", "kl_real_fake", "kl_fake_real")
CLASS_COLUMNS = ("step", "classes_covered", "kl_uniform", "mean_confidence", "diversity_ratio")
MODE_SAMPLES = 2500
CLASS_SAMPLES = 2000
BUDGET = 0.04


def spread(x: torch.Tensor, gen: torch.Generator, n_pairs: int = 2000) -> float:
    """Mean L2 distance between random pairs of rows of x (N, ...)."""
    flat = x.flatten(1).float()
    i = torch.randint(0, flat.shape[0], (n_pairs,), generator=gen, device=gen.device)
    j = torch.randint(0, flat.shape[0], (n_pairs,), generator=gen, device=gen.device)
    return float((flat[i.to(flat.device)] - flat[j.to(flat.device)]).norm(dim=1).mean())


def classifier_kind(dataset: str) -> Optional[str]:
    try:
        from .classifier import classifier_for
    except ImportError:  # pragma: no cover - the classifier ships with the project
        return None
    return classifier_for(dataset)


class Diagnostics:
    """Decides when to measure and measures; one per Trainer (rebuilt on Reset)."""

    def __init__(self, trainer, budget: float = BUDGET):
        self.budget = budget
        modes = getattr(trainer.data, "modes", None)
        self.kind = "modes" if modes is not None else (
            "classes" if trainer.is_image and classifier_kind(trainer.cfg.data.dataset) else None)
        self.divergence = not trainer.is_image and trainer.data_shape[0] in (1, 2)  # points: JS and KLs
        base = MODE_COLUMNS if self.kind == "modes" else CLASS_COLUMNS if self.kind == "classes" else ("step",)
        self.columns = base + (DIVERGENCE_COLUMNS if self.divergence else ())
        self.n_modes = 0 if modes is None else int(modes.shape[0])
        self.n_classes = 1000 if trainer.cfg.data.dataset == "stacked_mnist" else 10
        self.class_hist: Optional[np.ndarray] = None  # latest histogram of predicted classes
        self.real: dict = {}  # reference figures for the real data, computed once
        self._gen = torch.Generator().manual_seed(1234)  # pairs for spreads, apart from training RNG
        self._next_time = 0.0

    @property
    def measures(self) -> bool:
        """Whether this run has live evaluations at all."""
        return self.kind is not None or self.divergence

    def due(self, step: int, every: int, now: float) -> bool:
        if self.kind == "modes" or (self.kind is None and self.divergence):
            return step % every == 0
        return self.kind == "classes" and now >= self._next_time

    def measure(self, trainer) -> np.ndarray:
        """One row of ``self.columns`` for the trainer's current generator."""
        start = time.perf_counter()
        fake = trainer.sample(MODE_SAMPLES) if self.kind == "modes" or self.divergence else None  # one set for both
        row = (self._modes(trainer, fake) if self.kind == "modes" else
               self._classes(trainer) if self.kind == "classes" else ())
        if self.divergence:
            row = (*row, *self._divergences(trainer, fake))
        cost = time.perf_counter() - start
        self._next_time = time.perf_counter() + cost / self.budget
        return np.array([[trainer.step_count, *row]], dtype=np.float64)

    def _real_points(self, tr) -> torch.Tensor:
        if "points" not in self.real:
            real, _ = tr.data.sample(MODE_SAMPLES, torch.Generator(tr.device).manual_seed(99), tr.device)
            self.real["points"] = real.cpu()
        return self.real["points"]

    def _modes(self, tr, fake: torch.Tensor) -> tuple:
        covered, hq = mode_coverage(fake, tr.data.modes, tr.data.mode_std)
        if "spread" not in self.real:
            self.real["spread"] = spread(self._real_points(tr), self._gen)
        return covered, hq, spread(fake.cpu(), self._gen) / max(self.real["spread"], 1e-12)

    def _divergences(self, tr, fake: torch.Tensor) -> tuple:
        """JS, KL(real || fake), KL(fake || real) on the data's bounds (the Manifold page's estimate)."""
        real = self._real_points(tr).double().numpy()
        dim = real.shape[1]
        r = divergences(real, fake.detach().cpu().double().numpy(), tr.data.bounds[:dim],
                        BINS if dim == 2 else BINS_1D)
        return r["js"], r["kl_real_fake"], r["kl_fake_real"]

    def _classes(self, tr) -> tuple:
        from .classifier import load_classifier
        from .quality import class_stats, stacked_mnist_modes
        clf = load_classifier(classifier_kind(tr.cfg.data.dataset))
        fake = tr.sample(CLASS_SAMPLES)
        if "spread" not in self.real:
            real, _ = tr.data.sample(CLASS_SAMPLES, torch.Generator(tr.device).manual_seed(99), tr.device)
            self.real["spread"] = spread(self._features(clf, real), self._gen)
        if self.n_classes == 1000:
            ratio = spread(self._features(clf, fake), self._gen) / max(self.real["spread"], 1e-12)
            stats = stacked_mnist_modes(fake.cpu(), clf)
            self.class_hist = None
            return stats["modes_captured"], stats["kl_to_uniform"], float("nan"), ratio
        feats, probs = clf.embed(fake)  # one classifier pass for both
        ratio = spread(feats, self._gen) / max(self.real["spread"], 1e-12)
        stats = class_stats(probs, self.n_classes)
        self.class_hist = np.asarray(stats["hist"], dtype=np.float64)
        return stats["classes_covered"], stats["kl_to_uniform"], stats["mean_confidence"], ratio

    @staticmethod
    def _features(clf, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 3:  # stacked MNIST: features of each channel side by side
            return torch.cat([clf.features(x[:, c:c + 1]) for c in range(3)], 1)
        return clf.features(x)
