"""Unrolled GAN (Metz et al. 2017): G is scored not by today's D but by D after ``train.unroll_steps`` more
updates of its own, and G's gradient flows back through those updates (the second-order term that makes
G avoid moves D would punish next). D itself trains as in the plain GAN; the unrolled copy is thrown away.

The look-ahead uses D's loss (without penalties) on G's current batch and fresh real batches, and Adam's
update rule with D's learning rate, betas and current moment estimates (SGD and RMSprop runs unroll plain
gradient steps). ``unroll_steps`` = 0 is the plain GAN. The networks are gan's; PacGAN packing applies."""
from __future__ import annotations

import torch
from torch.func import functional_call

from ..models.build import standard_nets
from .adversarial import adversarial_step, judge, real_target
from .base import Family, Overview


def _adam_state(opt, p):
    state = opt.state.get(p, {})
    if "exp_avg" in state:
        step = state["step"]
        return state["exp_avg"], state["exp_avg_sq"], float(step.item() if torch.is_tensor(step) else step)
    return torch.zeros_like(p), torch.zeros_like(p), 0.0


def unrolled_critic(tr, fake, d_y):
    """(G's scores under D unrolled k steps, no features); plain D when k = 0."""
    k = tr.cfg.train.unroll_steps
    if k == 0:
        return judge(tr.D, fake, d_y)
    D = tr.nets["D"]  # the plain network (under torchrun tr.D routes through DDP; the look-ahead is local)
    t, spec, target = tr.cfg.train, tr.loss, real_target(tr)
    names = [n for n, _ in D.named_parameters()]
    params = [p for _, p in D.named_parameters()]
    buffers = {n: b.clone() for n, b in D.named_buffers()}  # BatchNorm statistics of the copy stay its own
    adam = t.optimizer == "adam"
    states = [_adam_state(tr.opt_d, p) for p in params] if adam else None
    b1, b2, lr = t.beta1, t.beta2, tr.opt_d.param_groups[0]["lr"]
    current = params
    for _ in range(k):
        real, _ = tr.data.sample(t.batch_size, tr.gen, tr.device)
        weights = {**dict(zip(names, current)), **buffers}
        d_real = functional_call(D, weights, (real, d_y))
        d_fake = functional_call(D, weights, (fake, d_y))
        loss_real, loss_fake = spec.d(d_real, d_fake, target)
        grads = torch.autograd.grad(loss_real + loss_fake, current, create_graph=True)
        if adam:
            new, new_states = [], []
            for p, g, (m, v, step) in zip(current, grads, states):
                m, v, step = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g, step + 1
                m_hat, v_hat = m / (1 - b1 ** step), v / (1 - b2 ** step)
                new.append(p - lr * m_hat / (v_hat + 1e-16).sqrt().add(1e-8))
                new_states.append((m, v, step))
            current, states = new, new_states
        else:
            current = [p - lr * g for p, g in zip(current, grads)]
    return functional_call(D, {**dict(zip(names, current)), **buffers}, (fake, d_y)), None


def _step(tr, which: str, parts: dict) -> None:
    adversarial_step(tr, which, parts, g_critic=unrolled_critic)


FAMILY = Family(
    "unrolled", "Unrolled GAN",
    "G plays against D a few updates into the future, so it stops hopping from mode to mode: the remedy for "
    "mode collapse in Metz et al. 2017.",
    build=lambda m, shape, classes, image: standard_nets(m, shape, 0, image), step=_step, packable=True,
    overview=Overview(g_note=lambda cfg: f"D {cfg.train.unroll_steps} updates ahead" if cfg.train.unroll_steps
                      else ""),
    live_fields=("unroll_steps",), extra_d_passes=lambda cfg: 6 * cfg.train.unroll_steps)  # 2 batches, 2nd order
