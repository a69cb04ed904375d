"""The plain GAN (Goodfellow et al. 2014) and the conditional GAN (Mirza & Osindero 2014): one G, one D, the
loss registry's adversarial terms. cgan feeds the data's class labels to G (an embedding beside z) and to D
(a projection term, Miyato & Koyama 2018)."""
from __future__ import annotations

from ..models.build import need_classes, standard_nets
from .adversarial import adversarial_step
from .base import Family, Overview
from .evaluation import class_agreement


def _step(tr, which: str, parts: dict) -> None:
    adversarial_step(tr, which, parts)


def _check_labels(cfg) -> None:
    if cfg.data.is_toy:
        raise ValueError(f"model.family = {cfg.model.family!r} (class-conditional, model.conditional) needs labelled "
                         f"image data, not data.dataset = {cfg.data.dataset!r}")


GAN = Family("gan", "GAN", "One generator, one discriminator: the loss table's adversarial game.",
             build=lambda m, shape, classes, image: standard_nets(m, shape, 0, image), step=_step, packable=True)

CGAN = Family("cgan", "Conditional GAN", "G and D both see the class label: ask for a digit and get it.",
              build=lambda m, shape, classes, image: (need_classes(classes),
                                                      standard_nets(m, shape, classes, image, d_classes=classes))[1],
              step=_step, labels="data", check=_check_labels,
              overview=Overview(real="x, y", out="p(real | y)"),
              evaluate=lambda view, clf, n: class_agreement(view, clf, n))
