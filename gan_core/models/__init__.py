"""Generator/discriminator factory: ``build_models(model_cfg, data_shape, num_classes) -> (G, D)``."""
from __future__ import annotations

from ..config import ModelConfig
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import MLPDiscriminator, MLPGenerator

__all__ = ["build_models", "MLPGenerator", "MLPDiscriminator", "DCGANGenerator", "DCGANDiscriminator"]


def build_models(m: ModelConfig, data_shape: tuple, num_classes: int = 0, image: bool = False):
    """``data_shape`` is (dim,) for toy data or (C, H, W) for images; ``image`` selects a tanh output."""
    classes = num_classes if m.conditional else 0
    if m.conditional and num_classes < 2:
        raise ValueError("model.conditional needs a labelled dataset with at least 2 classes")
    if m.arch == "mlp":
        g = MLPGenerator(m.z_dim, data_shape, m.g_hidden, m.depth, m.activation, m.g_norm,
                         "tanh" if image else "none", classes, m.embed_dim)
        d = MLPDiscriminator(data_shape, m.d_hidden, m.depth, m.activation, m.d_norm, classes)
        return g, d
    if m.arch == "dcgan":
        if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
            raise ValueError(f"DCGAN needs square images, got data shape {tuple(data_shape)}")
        c, size = data_shape[0], data_shape[1]
        g = DCGANGenerator(m.z_dim, size, c, m.ngf, m.upsample, m.g_norm, classes, m.embed_dim)
        d = DCGANDiscriminator(size, c, m.ndf, m.d_norm, classes)
        return g, d
    raise ValueError(f"unknown model.arch {m.arch!r}; choices: ['mlp', 'dcgan']")
