"""An exponential moving average of the generator's weights (``train.g_ema``, the decay; 0 = off), the averaged
generator of Karras et al. 2018 and Yazıcı et al. 2019 that BigGAN, StyleGAN and StudioGAN sample from. After each
G update: ema = decay * ema + (1 - decay) * G for every parameter, buffers (BatchNorm statistics) copied. When on,
every sample, picture, view and evaluation uses the average; training itself never does.

Why here: on MNIST the training G swings between good and poor class-consistency from one minute to the next,
its average does not (docs/BENCHMARKS.md, "The GAN family")."""
from __future__ import annotations

import copy

import torch
from torch import nn


def averaged_copy(g: nn.Module) -> nn.Module:
    """The average's starting point: a frozen copy of ``g`` in eval mode."""
    return copy.deepcopy(g).eval().requires_grad_(False)


@torch.no_grad()
def update(ema: nn.Module, g: nn.Module, decay: float) -> None:
    """One averaging step of ``ema`` towards ``g`` (same architecture)."""
    e_params, g_params = list(ema.parameters()), list(g.parameters())
    if e_params:
        torch._foreach_lerp_(e_params, g_params, 1.0 - decay)
    for be, b in zip(ema.buffers(), g.buffers()):
        be.copy_(b)
