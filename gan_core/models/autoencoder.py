"""BEGAN's discriminator: an autoencoder that scores an image by how badly it reconstructs it (Berthelot et
al. 2017). MLP: image -> hidden layers -> ``code`` units -> hidden layers -> image; DCGAN sizes: D's conv trunk
-> ``code`` units -> a resize-convolution decoder (no checkerboard of its own). The balance term k_t is a
buffer, so snapshots and checkpoints keep it with the weights."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch import Tensor

from .dcgan import DCGANDiscriminator, DCGANGenerator
from .mlp import MLPGenerator, activation


class AutoencoderD(nn.Module):
    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.register_buffer("k", torch.zeros(()))  # BEGAN's k_t

    def forward(self, x: Tensor, y=None) -> Tensor:
        return self.decoder(self.encoder(x), None)  # (B, *x.shape[1:])

    def recon_error(self, x: Tensor) -> Tensor:
        """Per-sample mean |x - D(x)| (B,)."""
        return (self(x) - x).abs().flatten(1).mean(1)


class _MLPEncoder(nn.Module):
    def __init__(self, in_shape, hidden, depth, act, code):
        super().__init__()
        layers, width = [], math.prod(in_shape)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), activation(act)]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, code))

    def forward(self, x):
        return self.net(x.flatten(1))


class _ConvEncoder(nn.Module):
    def __init__(self, size, channels, ndf, code):
        super().__init__()
        trunk = DCGANDiscriminator(size, channels, ndf, "none")
        self.trunk = trunk.trunk
        self.fc = nn.Linear(trunk.feature_dim, code)

    def forward(self, x):
        return self.fc(self.trunk(x).flatten(1))


def autoencoder_d(m, data_shape: tuple, image: bool) -> AutoencoderD:
    code = m.z_dim
    if m.arch == "mlp":
        enc = _MLPEncoder(data_shape, m.d_hidden, m.depth, m.activation, code)
        dec = MLPGenerator(code, data_shape, m.d_hidden, m.depth, m.activation, "none",
                           "tanh" if image else "none")
        return AutoencoderD(enc, dec)
    c, size = data_shape[0], data_shape[1]
    return AutoencoderD(_ConvEncoder(size, c, m.ndf, code), DCGANGenerator(code, size, c, m.ndf, "resize", "none"))
