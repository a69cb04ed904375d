"""Tests for gan_core.losses: golden values worked out by hand from a few scalar logits, registry
behaviour, and the WGAN-GP / DRAGAN gradient penalties on critics whose gradient is known exactly."""
from __future__ import annotations

import math

import pytest
import torch

from gan_core import losses
from gan_core.losses import LOSSES, PENALTIES, get_loss

# two real and two fake logits; every golden value below is computed from these by hand
R1, R2 = 1.5, -0.5
F1, F2 = 0.3, -2.0


def t(*xs):
    return torch.tensor(xs, dtype=torch.float64)


def softplus(x):  # log(1 + e^x), written out
    return math.log(1.0 + math.exp(x))


def num(x) -> float:
    return float(x.detach()) if torch.is_tensor(x) else float(x)


def close(a, b):
    return num(a) == pytest.approx(b, rel=1e-12, abs=1e-12)


# ---------------------------------------------------------------- discriminator terms

def test_d_bce_golden():
    lr, lf = losses.d_bce(t(R1, R2), t(F1, F2))
    # -log sigmoid(r) = log(1 + e^-r);  -log(1 - sigmoid(f)) = log(1 + e^f)
    want_real = (math.log(1 + math.exp(-1.5)) + math.log(1 + math.exp(0.5))) / 2
    want_fake = (math.log(1 + math.exp(0.3)) + math.log(1 + math.exp(-2.0))) / 2
    assert close(lr, want_real) and close(lf, want_fake)
    # the same through the probabilities, as the lecture notes write it
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert close(lr, -(math.log(sig(1.5)) + math.log(sig(-0.5))) / 2)
    assert close(lf, -(math.log(1 - sig(0.3)) + math.log(1 - sig(-2.0))) / 2)


def test_d_bce_label_smoothing_golden():
    tgt = 0.9
    lr, lf = losses.d_bce(t(R1, R2), t(F1, F2), tgt)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    # -[t log s(r) + (1 - t) log(1 - s(r))]
    per = [-(tgt * math.log(sig(r)) + (1 - tgt) * math.log(1 - sig(r))) for r in (1.5, -0.5)]
    assert close(lr, sum(per) / 2)
    assert close(lf, (softplus(0.3) + softplus(-2.0)) / 2)  # one-sided: fake term unchanged
    # with smoothing the real term is larger for a confident real logit than without
    assert float(losses.d_bce(t(5.0), t(0.0), 0.9)[0]) > float(losses.d_bce(t(5.0), t(0.0), 1.0)[0])


def test_d_least_squares_golden():
    lr, lf = losses.d_least_squares(t(R1, R2), t(F1, F2))
    assert close(lr, 0.5 * ((1.5 - 1) ** 2 + (-0.5 - 1) ** 2) / 2)  # 0.5 * (0.25 + 2.25) / 2 = 0.625
    assert close(lr, 0.625)
    assert close(lf, 0.5 * (0.3 ** 2 + 2.0 ** 2) / 2)  # 0.5 * 4.09 / 2 = 1.0225
    assert close(lf, 1.0225)


def test_d_least_squares_label_smoothing_golden():
    lr, lf = losses.d_least_squares(t(R1, R2), t(F1, F2), 0.8)
    assert close(lr, 0.5 * ((1.5 - 0.8) ** 2 + (-0.5 - 0.8) ** 2) / 2)  # 0.5 * (0.49 + 1.69) / 2 = 0.545
    assert close(lr, 0.545)
    assert close(lf, 1.0225)


def test_d_wgan_golden():
    lr, lf = losses.d_wgan(t(R1, R2), t(F1, F2), 0.7)  # smoothing does not apply
    assert close(lr, -(1.5 - 0.5) / 2) and close(lr, -0.5)
    assert close(lf, (0.3 - 2.0) / 2) and close(lf, -0.85)


def test_d_hinge_golden():
    lr, lf = losses.d_hinge(t(R1, R2, 0.25), t(F1, F2, -0.5))
    # relu(1 - r): 0, 1.5, 0.75 ;  relu(1 + f): 1.3, 0, 0.5
    assert close(lr, (0 + 1.5 + 0.75) / 3) and close(lr, 0.75)
    assert close(lf, (1.3 + 0 + 0.5) / 3) and close(lf, 0.6)


# ---------------------------------------------------------------- generator losses

def test_g_minimax_golden():
    # G minimises log(1 - D(G(z))) = -log(1 + e^f)
    want = -(math.log(1 + math.exp(0.3)) + math.log(1 + math.exp(-2.0))) / 2
    assert close(losses.g_minimax(t(F1, F2)), want)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert close(losses.g_minimax(t(F1, F2)), (math.log(1 - sig(0.3)) + math.log(1 - sig(-2.0))) / 2)


def test_g_non_saturating_golden():
    # G minimises -log D(G(z)) = log(1 + e^-f)
    want = (math.log(1 + math.exp(-0.3)) + math.log(1 + math.exp(2.0))) / 2
    assert close(losses.g_non_saturating(t(F1, F2)), want)


def test_g_least_squares_golden():
    assert close(losses.g_least_squares(t(F1, F2)), 0.5 * ((0.3 - 1) ** 2 + (-2.0 - 1) ** 2) / 2)
    assert close(losses.g_least_squares(t(F1, F2)), 2.3725)  # 0.5 * (0.49 + 9) / 2


def test_g_wgan_golden():
    assert close(losses.g_wgan(t(F1, F2)), 0.85)


def test_minimax_saturates_but_non_saturating_does_not():
    # when D confidently rejects fakes (f very negative) the minimax gradient vanishes
    f = t(-10.0).requires_grad_(True)
    (g_mm,) = torch.autograd.grad(losses.g_minimax(f), f)
    f2 = t(-10.0).requires_grad_(True)
    (g_ns,) = torch.autograd.grad(losses.g_non_saturating(f2), f2)
    sig = 1 / (1 + math.exp(10.0))
    assert close(g_mm, -sig)  # d/df [-log(1+e^f)] = -sigmoid(f) ~ -4.5e-5
    assert close(g_ns, -(1 - sig))  # d/df [log(1+e^-f)] = -sigmoid(-f) ~ -1
    assert abs(float(g_ns)) > 1000 * abs(float(g_mm))


def test_every_registered_function_has_a_golden_test():
    names = {n for n in dir(losses) if n.startswith(("d_", "g_")) and callable(getattr(losses, n))}
    tested = {"d_bce", "d_least_squares", "d_wgan", "d_hinge", "g_minimax", "g_non_saturating",
              "g_least_squares", "g_wgan"}
    assert names == tested
    used = {spec.d.__name__ for spec in LOSSES.values()} | {spec.g.__name__ for spec in LOSSES.values()}
    assert used <= tested


# ---------------------------------------------------------------- the registry

@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_spec_finite_scalars_with_gradient(name):
    spec = get_loss(name)
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(6, generator=gen).requires_grad_(True)
    fake = torch.randn(6, generator=gen).requires_grad_(True)
    target = 0.9 if spec.smoothing else 1.0
    lr, lf = spec.d(real, fake, target)
    for v in (lr, lf):
        assert v.dim() == 0 and torch.isfinite(v)
    (lr + lf).backward()
    assert real.grad is not None and fake.grad is not None
    assert torch.isfinite(real.grad).all() and torch.isfinite(fake.grad).all()
    assert real.grad.abs().sum() > 0 and fake.grad.abs().sum() > 0
    fake2 = torch.randn(6, generator=gen).requires_grad_(True)
    lg = spec.g(fake2)
    assert lg.dim() == 0 and torch.isfinite(lg)
    lg.backward()
    assert torch.isfinite(fake2.grad).all() and fake2.grad.abs().sum() > 0
    # G's loss falls when D scores its samples as more real (for every loss in the table)
    assert float(spec.g(fake2.detach() + 1.0)) < float(lg.detach())
    assert spec.output in ("logit", "ls", "score")
    assert spec.penalty is None or spec.penalty in PENALTIES
    assert spec.about


@pytest.mark.parametrize("name", [n for n, s in LOSSES.items() if s.penalty])
def test_penalised_losses_penalty_finite_with_gradient(name):
    spec = get_loss(name)
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(5, 2, generator=gen), torch.randn(5, 2, generator=gen)
    p = PENALTIES[spec.penalty](lambda x: critic(x).view(-1), real, fake, 10.0, gen)
    assert p.dim() == 0 and torch.isfinite(p) and num(p) >= 0
    p.backward()
    # the output bias cannot change dD/dx, so it gets no gradient; every weight does
    for layer in (critic[0], critic[2]):
        assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()
        assert layer.weight.grad.abs().sum() > 0


def test_get_loss_unknown_names_choices():
    with pytest.raises(ValueError) as info:
        get_loss("nope")
    msg = str(info.value)
    assert "'nope'" in msg
    for name in LOSSES:
        assert name in msg


def test_loss_names_match_config_choices():
    from gan_core.config import LOSS_NAMES
    assert tuple(LOSSES) == LOSS_NAMES


# ---------------------------------------------------------------- penalties on known critics

def _linear_critic(w):
    return lambda x: x @ w  # grad wrt x is w for every point: |grad| = |w|


@pytest.mark.parametrize("penalty", list(PENALTIES))
def test_penalty_zero_for_unit_norm_linear_critic(penalty):
    gen = torch.Generator().manual_seed(1)
    w = torch.tensor([0.6, 0.8], dtype=torch.float64)  # |w| = 1
    real = torch.randn(16, 2, generator=gen, dtype=torch.float64)
    fake = torch.randn(16, 2, generator=gen, dtype=torch.float64) + 3
    p = PENALTIES[penalty](_linear_critic(w), real, fake, 10.0, gen)
    assert abs(num(p)) < 1e-9


@pytest.mark.parametrize("penalty", list(PENALTIES))
@pytest.mark.parametrize("norm", [0.5, 2.0, 5.0])
def test_penalty_of_linear_critic_is_weight_times_squared_norm_gap(penalty, norm):
    gen = torch.Generator().manual_seed(2)
    w = norm * torch.tensor([0.6, -0.8], dtype=torch.float64)
    real = torch.randn(16, 2, generator=gen, dtype=torch.float64)
    fake = torch.randn(16, 2, generator=gen, dtype=torch.float64)
    p = PENALTIES[penalty](_linear_critic(w), real, fake, 10.0, gen)
    # every point has |grad D| = norm, so the penalty is 10 * (norm - 1)^2 exactly
    assert num(p) == pytest.approx(10.0 * (norm - 1) ** 2, rel=1e-9)
    assert num(p) > 0


def test_wgan_gp_positive_for_nonlinear_critic():
    gen = torch.Generator().manual_seed(3)
    real = torch.randn(32, 2, generator=gen, dtype=torch.float64)
    fake = torch.randn(32, 2, generator=gen, dtype=torch.float64)
    critic = lambda x: (x ** 2).sum(1)  # noqa: E731  gradient 2x: norm varies from point to point
    assert num(losses.penalty_wgan_gp(critic, real, fake, 1.0, gen)) > 0.01


def test_dragan_penalty_positive_for_steep_critic():
    gen = torch.Generator().manual_seed(4)
    real = torch.randn(32, 2, generator=gen, dtype=torch.float64)
    fake = torch.randn(32, 2, generator=gen, dtype=torch.float64)
    steep = lambda x: 50 * torch.tanh(10 * x).sum(1)  # noqa: E731
    p = num(losses.penalty_dragan(steep, real, fake, 10.0, gen))
    assert p > 10.0
    flat_ = num(losses.penalty_dragan(_linear_critic(torch.tensor([1.0, 0.0], dtype=torch.float64)),
                                        real, fake, 10.0, gen))
    assert flat_ < 1e-9 < p


def test_dragan_ignores_fakes():
    # DRAGAN perturbs the real data only: the fakes must not change its value
    w = torch.tensor([3.0, 4.0], dtype=torch.float64)
    critic = lambda x: torch.sin(x @ w)  # noqa: E731
    real = torch.randn(8, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    a = losses.penalty_dragan(critic, real, torch.zeros(8, 2, dtype=torch.float64), 1.0,
                              torch.Generator().manual_seed(6))
    b = losses.penalty_dragan(critic, real, torch.full((8, 2), 9.0, dtype=torch.float64), 1.0,
                              torch.Generator().manual_seed(6))
    assert torch.equal(a, b)


def test_penalty_scales_with_weight():
    gen_a, gen_b = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    real = torch.randn(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    fake = real + 1
    critic = lambda x: (x ** 3).sum(1)  # noqa: E731
    a = losses.penalty_wgan_gp(critic, real, fake, 1.0, gen_a)
    b = losses.penalty_wgan_gp(critic, real, fake, 4.0, gen_b)
    assert num(b) == pytest.approx(4 * num(a), rel=1e-12)
