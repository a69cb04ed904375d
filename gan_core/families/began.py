"""BEGAN, boundary equilibrium GAN (Berthelot et al. 2017): D is an autoencoder and L(x) = mean |x - D(x)|.
D minimises L(real) - k_t L(G(z)), G minimises L(G(z)), and after each step k_t += lambda_k (gamma L(real) -
L(G(z))), clipped to [0, 1]: the balance keeps E[L(fake)] = gamma E[L(real)]. gamma (``loss.began_gamma``,
live) trades diversity (high) for quality (low). M_global = L(real) + |gamma L(real) - L(G(z))| falls as
training converges (the paper's convergence measure, which a plain GAN's losses do not give).

The loss registry does not apply (BEGAN has its own); D accuracy and D(x) are not defined and stay empty."""
from __future__ import annotations

import torch

from ..metrics import grad_norm
from ..models.autoencoder import autoencoder_d
from ..models.build import generator
from .adversarial import g_apply
from .base import Chart, Family, Overview


def _build(m, shape, classes, image) -> dict:
    return {"G": generator(m, shape, 0, image), "D": autoencoder_d(m, shape, image)}


def _step(tr, which: str, parts: dict) -> None:
    D, lc, batch = tr.D, tr.cfg.loss, tr.cfg.train.batch_size
    std = tr.noise_std()
    fake = None
    if which in ("both", "d"):
        for i in range(tr.cfg.train.d_steps):
            keep_graph = which == "both" and i == tr.cfg.train.d_steps - 1
            real, _ = tr.data.sample(batch, tr.gen, tr.device)
            with torch.set_grad_enabled(keep_graph):
                fake = tr.G(tr._z(batch), None)
            real_in, fake_in = tr._noisy(real, std), tr._noisy(fake.detach(), std)
            l_real, l_fake = D.recon_error(real_in).mean(), D.recon_error(fake_in).mean()
            k = D.k.clone()
            loss = l_real - k * l_fake
            tr.opt_d.zero_grad(set_to_none=True)
            loss.backward()
            tr.opt_d.step()
            tr._d_updates += 1
            with torch.no_grad():
                balance = lc.began_gamma * l_real - l_fake
                D.k.copy_((D.k + lc.began_lambda_k * balance).clamp(0.0, 1.0))
                parts["d_losses"] = torch.stack([loss, l_real, -k * l_fake]).detach()
                parts["d_grad_norm"] = grad_norm(tr.d_params).view(1)
                parts["m_global"] = (l_real + balance.abs()).detach().view(1)
                parts["recon_real"] = l_real.detach().view(1)
                parts["recon_fake"] = l_fake.detach().view(1)
    if which in ("both", "g"):
        if fake is None:
            fake = tr.G(tr._z(batch), None)
        loss = D.recon_error(tr._noisy(fake, std)).mean()
        g_apply(tr, loss, loss, parts)
    parts["k_t"] = D.k.detach().view(1).clone()


def _check(cfg) -> None:
    if cfg.data.is_toy:
        raise ValueError(f"model.family = 'began' needs image data (its D reconstructs images), not "
                         f"data.dataset = {cfg.data.dataset!r}")


FAMILY = Family(
    "began", "BEGAN",
    "D is an autoencoder; G wins when D reconstructs its images as well as real ones. A balance k_t and a "
    "convergence measure M_global you can watch.",
    build=_build, step=_step, uses_loss=False, check=_check,
    metrics=("k_t", "m_global", "recon_real", "recon_fake"),
    overview=Overview(d="D (autoencoder)", out="|x − D(x)|", d_values=(("loss", "d_loss"), ("k_t", "k_t")),
                      out_values=(("real", "recon_real"), ("fake", "recon_fake"))),
    charts=(Chart("BEGAN convergence measure M_global", ("m_global",),
                  "L(real) + |gamma L(real) - L(fake)|: falls while the images improve and flattens when training "
                  "has converged (Berthelot et al. 2017, Fig. 3).", "M_global"),
            Chart("Balance k_t and reconstruction errors", ("k_t", "recon_real", "recon_fake"),
                  "k_t (0..1) is how hard D pushes fakes away; it rises while G's images reconstruct better "
                  "than gamma times the real ones; the errors are D's mean |x - D(x)| on real and on G's images.", "",
                  names=("k_t", "error on real", "error on fake"))),
    live_fields=("began_gamma", "began_lambda_k"))
