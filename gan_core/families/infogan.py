"""InfoGAN (Chen et al. 2016): G's input is noise plus codes, a categorical code (``model.info_categories``
values, given to G like a class label) and ``model.info_continuous`` continuous codes (z's last entries, so
the Latent lab's sliders drive them). A head Q on D's features guesses the codes back from an image; G and Q
minimise that guess's error, which maximises a lower bound on the mutual information between codes and
images. Nobody tells it about digit classes: the categorical code tends to discover them.

Live: the bound for the categorical code, log K - cross-entropy (nats; it cannot exceed log K), and the
continuous codes' squared error. The continuous codes' prior is N(0, 1) like the rest of z (the paper used
U(-1, 1)); their loss is the Gaussian log-likelihood with unit variance, 0.5 * squared error."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..models.build import feature_head, standard_nets
from .adversarial import adversarial_step
from .base import Chart, Family, Overview
from .evaluation import code_purity


def _build(m, shape, classes, image) -> dict:
    nets = standard_nets(m, shape, m.info_categories, image)  # G: the categorical code as its "class"
    nets["D"].q = feature_head(nets["D"], m.info_categories + m.info_continuous, hidden=128)
    return nets


def _info_loss(tr, h, y, z, parts, key: str):
    m = tr.cfg.model
    out = tr.D.q(h)
    k, n_cont = m.info_categories, m.info_continuous
    ce = F.cross_entropy(out[:, :k], y)
    loss = ce
    mse = None
    if n_cont:
        mse = (out[:, k:] - z[:, -n_cont:]).pow(2).mean()
        loss = loss + 0.5 * mse
    if key:
        with torch.no_grad():
            parts["info_mi"] = (math.log(k) - ce).detach().view(1)
            parts["info_cont_mse"] = mse.detach().view(1) if mse is not None else tr._nan[1]
    return tr.cfg.loss.info_weight * loss


def _step(tr, which: str, parts: dict) -> None:
    adversarial_step(tr, which, parts,
                     d_extra=lambda tr, h_real, h_fake, y, z, parts: _info_loss(tr, h_fake, y, z, parts, ""),
                     g_extra=lambda tr, h_fake, y, z, parts: _info_loss(tr, h_fake, y, z, parts, "g"))


def _check(cfg) -> None:
    m = cfg.model
    if m.z_dim <= m.info_continuous:
        raise ValueError(f"model.z_dim = {m.z_dim} must be larger than model.info_continuous = "
                         f"{m.info_continuous}: the continuous codes are z's last entries, noise comes first")


FAMILY = Family(
    "infogan", "InfoGAN",
    "G gets codes besides noise and must make them recoverable from its images: a categorical code finds "
    "the digit classes by itself, continuous codes find stroke width and slant.",
    build=_build, step=_step, labels="code", check=_check,
    metrics=("info_mi", "info_cont_mse"),
    overview=Overview(d="D + Q", out="p(real), ĉ",
                      out_values=(("real", "d_real_mean"), ("fake", "d_fake_mean"), ("MI", "info_mi"))),
    charts=(Chart("Mutual information lower bound (categorical code)", ("info_mi",),
                  "log K minus Q's cross-entropy on G's images, in nats: how much of the categorical code can be "
                  "read back from the picture. It cannot exceed log K (the dashed line); near it, every code "
                  "value makes a distinguishable kind of image.", "nats",
                  lines=lambda cfg: {"log K": math.log(cfg.model.info_categories)}),
            Chart("Continuous codes: Q's squared error", ("info_cont_mse",),
                  "How far Q's guess of the continuous codes is from the truth (their variance is 1: 1 means "
                  "Q learned nothing, near 0 means they steer something visible).", "mean squared error")),
    evaluate=lambda view, clf, n: code_purity(view, clf, n), live_fields=("info_weight",),
    setup_fields=("info_categories", "info_continuous"),
    continuous_field="info_continuous")
