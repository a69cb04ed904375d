"""Network factory: ``build_nets(model_cfg, data_shape, num_classes, image)`` -> the family's named networks
({"G": ..., "D": ..., ...}); ``build_models`` returns just (G, D)."""
from __future__ import annotations

from ..config import ModelConfig
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import MLPDiscriminator, MLPGenerator

__all__ = ["build_nets", "build_models", "MLPGenerator", "MLPDiscriminator", "DCGANGenerator",
           "DCGANDiscriminator"]


def build_nets(m: ModelConfig, data_shape: tuple, num_classes: int = 0, image: bool = False) -> dict:
    """``data_shape`` is (dim,) for toy data or (C, H, W) for images; ``image`` selects a tanh output;
    ``num_classes`` is the data's (a family without class inputs ignores it)."""
    from ..families import get_family
    if m.arch not in ("mlp", "dcgan"):
        raise ValueError(f"unknown model.arch {m.arch!r}; choices: ['mlp', 'dcgan']")
    return get_family(m.family).build(m, tuple(data_shape), num_classes, image)


def build_models(m: ModelConfig, data_shape: tuple, num_classes: int = 0, image: bool = False):
    nets = build_nets(m, data_shape, num_classes, image)
    return nets["G"], nets["D"]
