"""Kinds of GAN as a plain registry, like ``losses.LOSSES``: ``FAMILIES[name]`` is a ``Family``.

A family declares its networks (``build``), its one training iteration (``step``), how its generator's inputs
are drawn (``labels``: none, the data's classes, or a sampled categorical code), its extra live metrics (history
columns, charted by name), its ``evaluate`` figures, and how the Train page's model strip names its parts
(``overview``). The Trainer keeps what families share: device, seeded
generators, data, the two optimisers (G's networks and D's), schedules, instance noise and the metric vector.
Adding a family touches its own module, one line below, and presets.

    from gan_core.families import get_family; get_family("acgan").metrics  ->  ('aux_acc_real', 'aux_acc_fake')
"""
from __future__ import annotations

from .base import Chart, Family
from . import acgan, began, cyclegan, gan, infogan, unrolled

FAMILIES: dict[str, Family] = {
    "gan": gan.GAN,
    "cgan": gan.CGAN,
    "acgan": acgan.FAMILY,
    "infogan": infogan.FAMILY,
    "began": began.FAMILY,
    "unrolled": unrolled.FAMILY,
    "cyclegan": cyclegan.FAMILY,
}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise ValueError(f"unknown model.family {name!r}; choices: {list(FAMILIES)}")
    return FAMILIES[name]


__all__ = ["FAMILIES", "Family", "Chart", "get_family"]
