"""GAN losses as a plain registry of small pure functions.

``d_<name>(real, fake, real_target) -> (loss_on_real, loss_on_fake)`` takes the discriminator's raw outputs
(shape (B,)) and returns the two terms whose sum D minimises; ``g_<name>(fake) -> loss`` is what G
minimises. ``LOSSES[name]`` bundles a pair with how its outputs are read (for accuracy and D(x) plots)
and which gradient penalty or weight clipping it needs. Penalties take a ``critic`` callable (D with any
labels bound) so conditional models work unchanged.

    >>> spec = get_loss("hinge"); lr, lf = spec.d(real_scores, fake_scores, 1.0)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor


# --- discriminator terms -------------------------------------------------------------------------------
def d_bce(real: Tensor, fake: Tensor, real_target: float = 1.0) -> tuple[Tensor, Tensor]:
    # -[t log s(r) + (1-t) log(1-s(r))] with log s(x) = -softplus(-x), log(1-s(x)) = -softplus(x)
    loss_real = real_target * F.softplus(-real) + (1.0 - real_target) * F.softplus(real)
    return loss_real.mean(), F.softplus(fake).mean()


def d_least_squares(real: Tensor, fake: Tensor, real_target: float = 1.0) -> tuple[Tensor, Tensor]:
    return 0.5 * (real - real_target).pow(2).mean(), 0.5 * fake.pow(2).mean()


def d_wgan(real: Tensor, fake: Tensor, real_target: float = 1.0) -> tuple[Tensor, Tensor]:
    return -real.mean(), fake.mean()  # critic maximises E[D(x)] - E[D(G(z))]; label smoothing n/a


def d_hinge(real: Tensor, fake: Tensor, real_target: float = 1.0) -> tuple[Tensor, Tensor]:
    return F.relu(1.0 - real).mean(), F.relu(1.0 + fake).mean()


# --- generator losses ----------------------------------------------------------------------------------
def g_minimax(fake: Tensor) -> Tensor:
    return -F.softplus(fake).mean()  # minimise log(1 - D(G(z))): saturates when D rejects fakes


def g_non_saturating(fake: Tensor) -> Tensor:
    return F.softplus(-fake).mean()  # minimise -log D(G(z))


def g_least_squares(fake: Tensor) -> Tensor:
    return 0.5 * (fake - 1.0).pow(2).mean()


def g_wgan(fake: Tensor) -> Tensor:
    return -fake.mean()


# --- penalties -----------------------------------------------------------------------------------------
def _grad_sq_norm(critic: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(1)  # (B,)


def penalty_wgan_gp(critic, real: Tensor, fake: Tensor, weight: float, gen: torch.Generator) -> Tensor:
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=gen, device=real.device)
    mixed = eps * real + (1 - eps) * fake.detach()
    return weight * (_grad_sq_norm(critic, mixed).add(1e-12).sqrt() - 1).pow(2).mean()


def penalty_dragan(critic, real: Tensor, fake: Tensor, weight: float, gen: torch.Generator) -> Tensor:
    noise = 0.5 * real.std() * torch.rand(real.shape, generator=gen, device=real.device)
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), generator=gen, device=real.device)
    perturbed = eps * real + (1 - eps) * (real + noise)  # points near the data manifold
    return weight * (_grad_sq_norm(critic, perturbed).add(1e-12).sqrt() - 1).pow(2).mean()


PENALTIES = {"wgan_gp": penalty_wgan_gp, "dragan": penalty_dragan}


@dataclass(frozen=True)
class LossSpec:
    d: Callable  # d_<name>
    g: Callable  # g_<name>
    output: str  # "logit" (report sigmoid as D(x)), "ls" (target 1 vs 0), "score" (unbounded critic)
    threshold: Optional[float]  # D says "real" above this; None = midpoint of mean real/fake outputs
    penalty: Optional[str] = None  # key of PENALTIES
    clip: bool = False  # WGAN weight clipping after each D step
    smoothing: bool = True  # whether one-sided label smoothing applies
    about: str = ""


LOSSES: dict[str, LossSpec] = {
    "minimax": LossSpec(d_bce, g_minimax, "logit", 0.0,
                        about="Original GAN: G minimises log(1 - D(G(z))); gradients vanish when D wins."),
    "non_saturating": LossSpec(d_bce, g_non_saturating, "logit", 0.0,
                               about="G maximises log D(G(z)): strong gradients early in training."),
    "least_squares": LossSpec(d_least_squares, g_least_squares, "ls", 0.5,
                              about="LSGAN: squared error to targets 1 (real) and 0 (fake)."),
    "wgan": LossSpec(d_wgan, g_wgan, "score", None, clip=True, smoothing=False,
                     about="Wasserstein critic with weight clipping (use RMSprop, lr ~5e-5)."),
    "wgan_gp": LossSpec(d_wgan, g_wgan, "score", None, penalty="wgan_gp", smoothing=False,
                        about="Wasserstein critic with gradient penalty on interpolates (Adam 1e-4, beta1 0)."),
    "hinge": LossSpec(d_hinge, g_wgan, "score", 0.0, smoothing=False,
                      about="Hinge loss (SN-GAN, BigGAN): D pushes real > 1 and fake < -1."),
    "dragan": LossSpec(d_bce, g_non_saturating, "logit", 0.0, penalty="dragan",
                       about="Non-saturating loss + gradient penalty around the real data."),
}


def get_loss(name: str) -> LossSpec:
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choices: {list(LOSSES)}")
    return LOSSES[name]
