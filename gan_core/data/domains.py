"""Domain A of a translation (CycleGAN): ``data.source`` (and ``data.source_path``) is loaded like a dataset
and brought to domain B's form (``data.dataset``, the Trainer's data): images to B's size and channels, toy
points of the same dimension. B stays the Trainer's data, so every live diagnostic judges G's translations
against domain B as it judges any generator's samples.

    load_source(cfg.data, target)  ->  a dataset answering ``sample(n, gen, device)`` like ``target``
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

from ..config import DataConfig
from . import load_dataset
from .errors import DataError


def source_config(cfg: DataConfig, target) -> DataConfig:
    """Domain A's DataConfig: the same data folder and limits, at domain B's image size and channels."""
    if not cfg.source:
        raise ValueError("data.source must name domain A (the dataset G translates from) for model.family = "
                         "'cyclegan'")
    image = not cfg.is_toy
    shape = tuple(target.shape) if image else ()
    return dataclasses.replace(cfg, dataset=cfg.source, path=cfg.source_path, source="", source_path="",
                               image_size=shape[-1] if image else 0, channels=shape[0] if image else 0)


def load_source(cfg: DataConfig, target, progress: Optional[Callable[[str, float], None]] = None):
    """Domain A, checked to have the form of domain B (``target``), with a message naming ``data.source``."""
    src_cfg = source_config(cfg, target)
    if src_cfg.is_toy != cfg.is_toy:
        kinds = ("points", "images") if cfg.is_toy else ("images", "points")
        raise ValueError(f"data.source = {cfg.source!r} holds {kinds[1]} but data.dataset = {cfg.dataset!r} holds "
                         f"{kinds[0]}: CycleGAN translates between two datasets of the same kind")
    try:
        source = load_dataset(src_cfg, progress)
    except DataError as exc:
        raise DataError(f"domain A (data.source = {cfg.source!r}): {exc}") from None
    if cfg.is_toy and source.dim != target.dim:
        raise ValueError(f"data.source = {cfg.source!r} is {source.dim}-D but data.dataset = {cfg.dataset!r} is "
                         f"{target.dim}-D: CycleGAN maps points onto points of the same dimension")
    if not cfg.is_toy and tuple(source.shape) != tuple(target.shape):
        raise ValueError(f"domain A's images are {tuple(source.shape)}, domain B's {tuple(target.shape)}; set "
                         "data.image_size and data.channels so they agree")
    return source
