"""The networks every adversarial family starts from: ``standard_nets`` (an MLP or DCGAN generator and
discriminator, with optional class inputs, PacGAN packing and minibatch std) and ``feature_head``."""
from __future__ import annotations

import torch.nn as nn

from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import MLPDiscriminator, MLPGenerator


def need_classes(n: int) -> None:
    if n < 2:
        raise ValueError("a class-conditional model (model.family cgan/acgan) needs a labelled dataset with "
                         "at least 2 classes")


def generator(m, data_shape: tuple, classes: int, image: bool) -> nn.Module:
    if m.arch == "mlp":
        return MLPGenerator(m.z_dim, data_shape, m.g_hidden, m.depth, m.activation, m.g_norm,
                            "tanh" if image else "none", classes, m.embed_dim)
    if m.arch == "dcgan":
        c, size = _square(data_shape)
        return DCGANGenerator(m.z_dim, size, c, m.ngf, m.upsample, m.g_norm, classes, m.embed_dim)
    raise ValueError(f"unknown model.arch {m.arch!r}; choices: ['mlp', 'dcgan']")


def discriminator(m, data_shape: tuple, classes: int = 0, pack: int = 1, mbstd: bool = False,
                  norm: str = None) -> nn.Module:
    norm = m.d_norm if norm is None else norm
    if m.arch == "mlp":
        return MLPDiscriminator(data_shape, m.d_hidden, m.depth, m.activation, norm, classes, pack, mbstd)
    if m.arch == "dcgan":
        c, size = _square(data_shape)
        return DCGANDiscriminator(size, c, m.ndf, norm, classes, pack, mbstd)
    raise ValueError(f"unknown model.arch {m.arch!r}; choices: ['mlp', 'dcgan']")


def _square(data_shape: tuple) -> tuple:
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ValueError(f"DCGAN needs square images, got data shape {tuple(data_shape)}")
    return data_shape[0], data_shape[1]


def standard_nets(m, data_shape: tuple, g_classes: int, image: bool, d_classes: int = 0) -> dict:
    """{"G", "D"}; G takes ``g_classes`` labels (0: none), D a projection over ``d_classes`` (0: none)."""
    if m.arch == "dcgan":
        _square(data_shape)
    if g_classes or d_classes:
        need_classes(max(g_classes, d_classes))
    g = generator(m, data_shape, g_classes, image)
    d = discriminator(m, data_shape, d_classes, m.pack, m.mbstd)
    return {"G": g, "D": d}


def feature_head(D: nn.Module, out: int, hidden: int = 0) -> nn.Module:
    """A head on D's features (flattened): linear, or one hidden layer of ``hidden`` units."""
    width = D.feature_dim
    if not hidden:
        return nn.Sequential(nn.Flatten(), nn.Linear(width, out))
    return nn.Sequential(nn.Flatten(), nn.Linear(width, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out))


__all__ = ["need_classes", "standard_nets", "generator", "discriminator", "feature_head"]
