"""The adversarial iteration that gan, cgan, acgan, infogan and unrolled share: ``d_steps`` discriminator
updates and one generator update under the loss registry, with hooks where a family adds a head's loss
(ACGAN's classes, InfoGAN's codes) or changes what G is scored by (unrolled D).

Hooks get D's features ``h`` (``D.features(x)``) so a head costs no second pass:
- ``d_extra(tr, h_real, h_fake, y, z, parts) -> loss or None`` (added to D's loss; fakes detached),
- ``g_extra(tr, h_fake, y, z, parts) -> loss or None`` (added to G's loss),
- ``g_critic(tr, fake, y) -> (scores, h or None)`` replaces D's scoring of G's batch.
"""
from __future__ import annotations

import torch

from ..losses import PENALTIES
from ..metrics import grad_norm


def g_inputs(tr, n: int, y_data) -> tuple:
    """(z, y) for ``n`` generated samples from the training RNG: y is the data's labels, a uniform code, or
    None (by family)."""
    z = tr._z(n)
    labels = tr.family.labels
    if labels == "data":
        return z, y_data
    if labels == "code":
        return z, torch.randint(0, tr.num_classes, (n,), generator=tr.gen, device=tr.device)
    return z, None


def real_target(tr) -> float:
    """The target D's loss sets for real samples: 1, or 1 - s under one-sided label smoothing."""
    return 1.0 - tr.cfg.loss.label_smoothing if tr.loss.smoothing else 1.0


def judge(D, x, y) -> tuple:
    """(D's scores, its features or None for a D without a ``features``/``score`` split)."""
    if hasattr(D, "features"):
        h = D.features(x)
        return D.score(h, y), h
    return D(x, y), None


def adversarial_step(tr, which: str, parts: dict, d_extra=None, g_extra=None, g_critic=None) -> None:
    cfg, spec = tr.cfg, tr.loss
    batch, std = cfg.train.batch_size, tr.noise_std()
    target = real_target(tr)
    fake = y = z = None
    if which in ("both", "d"):
        for k in range(cfg.train.d_steps):
            keep_graph = which == "both" and k == cfg.train.d_steps - 1  # reuse this fake for the G step
            real, y_data = tr.data.sample(batch, tr.gen, tr.device)
            z, y = g_inputs(tr, batch, y_data)
            with torch.set_grad_enabled(keep_graph):
                fake = tr.G(z, y)
            _d_update(tr, real, fake.detach(), y, z, spec, target, std, parts, d_extra)
    if which in ("both", "g"):
        if fake is None:
            y_data = tr.data.sample(batch, tr.gen, tr.device)[1] if tr.family.labels == "data" else None
            z, y = g_inputs(tr, batch, y_data)
            fake = tr.G(z, y)
        _g_update(tr, fake, y, z, spec, std, parts, g_extra, g_critic)


def _d_update(tr, real, fake, y, z, spec, target, std, parts, d_extra) -> None:
    d_y = y if tr.family.labels == "data" else None  # D's projection term sees the data's labels only
    loss, loss_real, loss_fake, both, penalty, h_real, h_fake = d_loss(tr, tr.D, real, fake, d_y, spec, target, std,
                                                                       r1_factor(tr))
    if d_extra is not None:
        head_loss = d_extra(tr, h_real, h_fake, y, z, parts)
        if head_loss is not None:
            loss = loss + head_loss
    d_apply(tr, loss, spec)
    record_d(tr, spec, loss_real, loss_fake, both, penalty, parts)


def r1_factor(tr) -> float:
    """R1's weight for this D update (0 between lazy R1 updates); counts the update."""
    lc = tr.cfg.loss
    r1 = lc.r1_gamma * lc.r1_every if lc.r1_gamma > 0 and tr._d_updates % lc.r1_every == 0 else 0.0
    tr._d_updates += 1
    return r1


def d_loss(tr, D, real, fake, d_y, spec, target, std, r1: float) -> tuple:
    """D's loss on one real and one (detached) fake batch: (loss with penalties, loss on real, on fake,
    scores (2, B) [real; fake], penalty or None, D's features on real and on fake or None)."""
    real_in, fake_in = tr._noisy(real, std), tr._noisy(fake, std)
    lc = tr.cfg.loss
    if r1 > 0:
        real_in = real_in.detach().requires_grad_(True)
    if tr.d_concat:
        yy = torch.cat([d_y, d_y]) if d_y is not None else None
        scores, h = judge(D, torch.cat([real_in, fake_in]), yy)
        n = scores.shape[0] // 2
        d_real, d_fake = scores[:n], scores[n:]
        h_real, h_fake = (h[:n], h[n:]) if h is not None else (None, None)
    else:  # batch statistics (BatchNorm, minibatch std, packs) must not mix real and fake
        (d_real, h_real), (d_fake, h_fake) = judge(D, real_in, d_y), judge(D, fake_in, d_y)
        scores = torch.cat([d_real, d_fake])
    loss_real, loss_fake = spec.d(d_real, d_fake, target)
    loss = loss_real + loss_fake
    penalty = None
    if r1 > 0:
        (grad,) = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
        penalty = 0.5 * r1 * grad.flatten(1).pow(2).sum(1).mean()
    if spec.penalty:
        critic = (lambda x: D(x, d_y)) if d_y is not None else D
        extra = PENALTIES[spec.penalty](critic, real, fake, lc.gp_weight, tr.gen)
        penalty = extra if penalty is None else penalty + extra
    if penalty is not None:
        loss = loss + penalty
    return loss, loss_real, loss_fake, scores.detach().view(2, -1), penalty, h_real, h_fake


def d_apply(tr, loss, spec) -> None:
    """One optimiser step of D's networks on ``loss`` (then weight clipping, for the clipped WGAN)."""
    tr.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    tr.opt_d.step()
    if spec.clip:
        c = tr.cfg.loss.clip_value
        with torch.no_grad():
            for p in tr.d_params:
                p.clamp_(-c, c)


@torch.no_grad()
def record_d(tr, spec, loss_real, loss_fake, both, penalty, parts) -> None:
    """D's metric groups from one update: losses, accuracy on real and fake, mean D(x), gradient norm."""
    thr = spec.threshold if spec.threshold is not None else both.mean()
    # fraction called "real", [of reals, of fakes]; a score exactly at the threshold is undecided and
    # counts half on each side (a constant D reads 50% / 50%, not 0% / 100%)
    above = torch.sign(both - thr).mean(1).mul(0.5).add(0.5)
    shown = torch.sigmoid(both) if spec.output == "logit" else both
    parts["d_losses"] = torch.stack([loss_real + loss_fake, loss_real, loss_fake]).detach()
    parts["d_acc"] = (above - tr._acc_flip).abs()  # [acc on real, 1 - above on fake]
    parts["d_means"] = shown.mean(1)
    parts["d_grad_norm"] = grad_norm(tr.d_params).view(1)
    parts["penalty"] = penalty.detach().view(1) if penalty is not None else tr._zero


def _g_update(tr, fake, y, z, spec, std, parts, g_extra, g_critic) -> None:
    d_y = y if tr.family.labels == "data" else None
    if g_critic is not None:
        scores, h = g_critic(tr, tr._noisy(fake, std), d_y)
    else:
        scores, h = judge(tr.D, tr._noisy(fake, std), d_y)
    adversarial = spec.g(scores)
    loss = adversarial
    if g_extra is not None:
        head_loss = g_extra(tr, h, y, z, parts)
        if head_loss is not None:
            loss = loss + head_loss
    g_apply(tr, loss, adversarial, parts)  # a head's loss is its own metric
    with torch.no_grad():
        if "d_means" not in parts:  # G-only step: report D's view of the fakes it just saw
            shown = (torch.sigmoid(scores) if spec.output == "logit" else scores).mean().view(1)
            parts["d_means"] = torch.cat([tr._nan[1], shown])


def g_apply(tr, loss, shown, parts) -> None:
    """One optimiser step of G's networks on ``loss`` (no gradients accumulated into D); records ``shown`` as
    G's loss and G's gradient norm. The twin of ``d_apply``."""
    tr.opt_g.zero_grad(set_to_none=True)
    loss.backward(inputs=tr.g_params)
    tr.opt_g.step()
    with torch.no_grad():
        parts["g_loss"] = shown.detach().view(1)
        parts["g_grad_norm"] = grad_norm(tr.g_params).view(1)
