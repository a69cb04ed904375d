"""Tests for gan_core.trainer.Trainer (no threads) and gan_core.metrics: learning on gauss1d, seeded
reproducibility, which network a step touches, every loss, clipping, schedules, R1 and mode coverage."""
from __future__ import annotations

import math

import pytest
import torch

from gan_core.data.images import ImageDataset
from gan_core.data.toy import GAUSS1D_MEAN, ring8_means
from gan_core.losses import LOSSES
from gan_core.metrics import STEP_METRICS, grad_norm, mode_coverage, modes_covered
from gan_core.presets import preset_config
from gan_core.trainer import Trainer

M = {name: i for i, name in enumerate(STEP_METRICS)}


def ring8(**kw) -> Trainer:
    kw.setdefault("batch_size", 32)
    kw.setdefault("lr_decay_steps", 0)  # the preset decays its lr; these tests set schedules explicitly
    return Trainer(preset_config("ring8", **kw))


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def max_abs(module) -> float:
    return max(float(p.detach().abs().max()) for p in module.parameters())


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def all_changed(a, b):
    return all(not torch.equal(x, y) for x, y in zip(a, b))


# ---------------------------------------------------------------- learning and reproducibility

def test_gauss1d_learns_the_mean():
    tr = Trainer(preset_config("gauss1d", seed=0))
    before = float(tr.sample(4000).mean())
    assert abs(before - GAUSS1D_MEAN) > 1.0  # an untrained G is nowhere near the data
    for _ in range(1000):
        out = tr.step()
    assert torch.isfinite(out).all()
    assert tr.step_count == 1000
    assert abs(float(tr.sample(4000).mean()) - GAUSS1D_MEAN) < 0.2


def test_same_seed_same_metrics_different_seed_differs():
    a, b, c = ring8(seed=3), ring8(seed=3), ring8(seed=4)
    va = [a.step() for _ in range(20)]
    vb = [b.step() for _ in range(20)]
    vc = [c.step() for _ in range(20)]
    assert all(v.shape == (len(STEP_METRICS),) and v.dtype == torch.float32 for v in va)
    assert all(torch.isfinite(v).all() for v in va)  # a "both" step fills every metric
    assert all(torch.equal(x, y) for x, y in zip(va, vb))
    assert not any(torch.equal(x, y) for x, y in zip(va, vc))
    assert same(params(a.G), params(b.G)) and not same(params(a.G), params(c.G))


def test_sampling_does_not_disturb_training_rng():
    a, b = ring8(seed=1), ring8(seed=1)
    a.step()
    b.step()
    a.sample(100)  # draws from eval_gen only
    a.fixed_samples()
    assert torch.equal(a.step(), b.step())


def test_fixed_samples_use_the_same_noise():
    tr = ring8()
    x1 = tr.fixed_samples()
    assert x1.shape == (64, 2)
    assert torch.equal(x1, tr.fixed_samples())
    tr.step()
    assert not torch.equal(x1, tr.fixed_samples())  # G changed, the noise did not


# ---------------------------------------------------------------- which network a step touches

def test_step_d_changes_only_d():
    tr = ring8()
    g0, d0 = params(tr.G), params(tr.D)
    out = tr.step("d")
    assert same(params(tr.G), g0)
    assert all_changed(params(tr.D), d0)
    assert math.isnan(out[M["g_loss"]]) and math.isnan(out[M["g_grad_norm"]])
    assert math.isfinite(out[M["d_loss"]]) and math.isfinite(out[M["d_grad_norm"]])
    assert tr.step_count == 1


def test_step_g_changes_only_g():
    tr = ring8()
    g0, d0 = params(tr.G), params(tr.D)
    out = tr.step("g")
    assert same(params(tr.D), d0)
    assert all_changed(params(tr.G), g0)
    assert all(p.grad is None for p in tr.D.parameters())  # no gradient leaked into D either
    assert math.isnan(out[M["d_loss"]]) and math.isfinite(out[M["g_loss"]])
    assert math.isfinite(out[M["d_fake_mean"]])  # D's view of the fakes it scored
    assert tr.step_count == 1


def test_step_rejects_unknown_kind():
    with pytest.raises(ValueError, match="'x'"):
        ring8().step("x")


def test_d_steps_runs_several_d_updates():
    tr = ring8(d_steps=3, r1_gamma=0.0)
    tr.step()
    d_state = tr.opt_d.state[tr.d_params[0]]
    g_state = tr.opt_g.state[tr.g_params[0]]
    assert int(d_state["step"]) == 3 and int(g_state["step"]) == 1


# ---------------------------------------------------------------- losses and regularisers

@pytest.mark.parametrize("loss", list(LOSSES))
def test_every_loss_runs_on_ring8(loss):
    tr = ring8(loss=loss, r1_gamma=0.0, label_smoothing=0.1)
    g0, d0 = params(tr.G), params(tr.D)
    for _ in range(5):
        out = tr.step()
        assert math.isfinite(out[M["d_loss"]]) and math.isfinite(out[M["g_loss"]])
        assert 0.0 <= float(out[M["d_acc_real"]]) <= 1.0 and 0.0 <= float(out[M["d_acc_fake"]]) <= 1.0
        assert float(out[M["d_loss"]]) == pytest.approx(float(out[M["d_loss_real"]] + out[M["d_loss_fake"]]),
                                                        rel=1e-5, abs=1e-6)
        has_penalty = LOSSES[loss].penalty is not None
        assert (float(out[M["penalty"]]) > 0) == has_penalty
    assert not same(params(tr.G), g0) and not same(params(tr.D), d0)


def test_wgan_clipping_bounds_d_weights():
    c = 0.01
    tr = ring8(loss="wgan", clip_value=c, optimizer="rmsprop", lr_d=5e-3)
    assert max_abs(tr.D) > c  # default init is far wider
    for _ in range(3):
        tr.step()
        biggest = max_abs(tr.D)
        assert biggest <= c
    assert biggest == pytest.approx(c)  # the bound is reached, so clipping really happened


def test_no_clipping_without_wgan():
    tr = ring8(loss="wgan_gp", clip_value=0.01)
    tr.step()
    assert max_abs(tr.D) > 0.01


def test_instance_noise_anneals_linearly_to_zero():
    tr = ring8(instance_noise=0.5, noise_anneal_steps=10)
    seen = []
    for _ in range(13):
        seen.append(tr.noise_std())
        tr.step()
    want = [0.5 * max(0.0, 1 - k / 10) for k in range(13)]  # 0.5, 0.45, ..., 0.05, 0, 0, 0
    assert seen == pytest.approx(want, abs=1e-12)
    assert seen[10:] == [0.0, 0.0, 0.0]


def test_instance_noise_constant_without_annealing_and_off_by_default():
    tr = ring8(instance_noise=0.3)
    for _ in range(3):
        assert tr.noise_std() == 0.3
        tr.step()
    assert ring8().noise_std() == 0.0


def test_instance_noise_changes_training():
    a, b = ring8(seed=2), ring8(seed=2, instance_noise=0.5)
    assert not torch.equal(a.step(), b.step())


def test_lr_decay_reaches_final_factor():
    tr = ring8(lr_g=1e-3, lr_d=2e-3, lr_decay_steps=10, lr_final_factor=0.1)
    lrs = []
    for _ in range(14):
        tr.step()  # the step uses the lr for the step count it started at
        lrs.append((tr.opt_g.param_groups[0]["lr"], tr.opt_d.param_groups[0]["lr"]))
    for k, (lg, ld) in enumerate(lrs):
        factor = 1 - 0.9 * min(1.0, k / 10)
        assert lg == pytest.approx(1e-3 * factor, rel=1e-9) and ld == pytest.approx(2e-3 * factor, rel=1e-9)
    assert lrs[5][0] == pytest.approx(5.5e-4)  # halfway: 1 - 0.9 * 0.5 = 0.55
    assert lrs[-1] == pytest.approx((1e-4, 2e-4))  # lr * final_factor, and it stays there


def test_lr_constant_without_decay():
    tr = ring8(lr_g=1e-3)
    for _ in range(5):
        tr.step()
    assert tr.opt_g.param_groups[0]["lr"] == 1e-3


def test_r1_penalty_reported_every_step():
    tr = ring8(r1_gamma=1.0, r1_every=1)
    pens = [float(tr.step()[M["penalty"]]) for _ in range(4)]
    assert all(p > 0 for p in pens)


def test_lazy_r1_only_on_every_kth_d_update():
    tr = ring8(r1_gamma=1.0, r1_every=4)
    pens = [float(tr.step()[M["penalty"]]) for _ in range(9)]
    assert [p > 0 for p in pens] == [k % 4 == 0 for k in range(9)]
    assert [pens[k] for k in range(9) if k % 4] == [0.0] * 6


def test_r1_off_reports_zero_penalty():
    tr = ring8(r1_gamma=0.0)
    assert all(float(tr.step()[M["penalty"]]) == 0.0 for _ in range(3))


def test_r1_penalty_value_for_a_linear_critic():
    # with D(x) = x @ w the R1 term is gamma/2 * |w|^2 for every sample
    tr = ring8(r1_gamma=2.0, r1_every=1, depth=1)
    w = torch.tensor([[0.6, 0.8]])

    class Linear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(w.clone())

        def forward(self, x, y=None):
            return (x @ self.w.T).view(-1)

    tr.D = Linear()
    tr.d_params = list(tr.D.parameters())
    tr.opt_d = torch.optim.SGD(tr.d_params, lr=0.0)
    tr.apply_config(tr.cfg)
    out = tr.step("d")
    assert float(out[M["penalty"]]) == pytest.approx(0.5 * 2.0 * 1.0, rel=1e-5)


def test_apply_config_changes_optimizer_groups():
    tr = ring8(lr_g=1e-3, lr_d=1e-3)
    tr.step()
    new = tr.cfg.replace(lr_g=5e-4, lr_d=2e-4, beta1=0.0, beta2=0.9)
    tr.apply_config(new)
    assert tr.opt_g.param_groups[0]["initial_lr"] == 5e-4
    assert tr.opt_g.param_groups[0]["betas"] == (0.0, 0.9)
    tr.step()
    assert tr.opt_g.param_groups[0]["lr"] == 5e-4
    assert tr.opt_d.param_groups[0]["lr"] == 2e-4
    assert tr.cfg is new


def test_apply_config_switches_loss():
    tr = ring8(r1_gamma=0.0)
    tr.apply_config(tr.cfg.replace(loss="wgan_gp"))
    assert tr.loss is LOSSES["wgan_gp"]
    assert float(tr.step()[M["penalty"]]) > 0


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_optimizers(optimizer):
    tr = ring8(optimizer=optimizer)
    g0 = params(tr.G)
    out = tr.step()
    assert torch.isfinite(out).all() and not same(params(tr.G), g0)


# ---------------------------------------------------------------- conditional on images

def tiny_images(n=24, classes=3, c=1, size=8):
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(n, c, size, size, generator=gen) * 2 - 1
    return ImageDataset("tiny", images, torch.arange(n) % classes, classes, [str(i) for i in range(classes)])


def test_conditional_mlp_trains_on_labelled_images():
    cfg = preset_config("digits", conditional=True, z_dim=4, g_hidden=16, d_hidden=16, batch_size=8)
    tr = Trainer(cfg, dataset=tiny_images())
    assert tr.num_classes == 3 and tr.is_image and tr.data_shape == (1, 8, 8)
    assert tr.G.embed is not None and tr.D.embed is not None
    e0 = tr.G.embed.weight.detach().clone()
    for _ in range(3):
        out = tr.step()
        assert torch.isfinite(out).all()
    assert not torch.equal(e0, tr.G.embed.weight)  # the label embedding is trained
    x = tr.sample(5, torch.tensor([0, 1, 2, 0, 1]))
    assert x.shape == (5, 1, 8, 8) and x.min() >= -1 and x.max() <= 1
    assert tr.sample(6).shape == (6, 1, 8, 8)
    assert tr.fixed_samples().shape == (64, 1, 8, 8)
    assert torch.equal(tr.fixed_y[:6], torch.tensor([0, 1, 2, 0, 1, 2]))


def test_unconditional_on_labelled_images_ignores_labels():
    cfg = preset_config("digits", z_dim=4, g_hidden=16, d_hidden=16, batch_size=8)
    tr = Trainer(cfg, dataset=tiny_images())
    assert tr.num_classes == 0 and tr.G.embed is None and tr.fixed_y is None
    assert torch.isfinite(tr.step()).all()


def test_dcgan_trainer_with_batchnorm_steps():
    cfg = preset_config("digits", arch="dcgan", image_size=28, ngf=4, ndf=4, z_dim=4, batch_size=4,
                        g_norm="batch", d_norm="batch", cpu_threads=1)
    tr = Trainer(cfg, dataset=tiny_images(n=8, size=28))
    assert not tr.d_concat  # batch statistics: real and fake go through D separately
    assert torch.isfinite(tr.step()).all()


# ---------------------------------------------------------------- metrics

def test_mode_coverage_hand_placed():
    means = ring8_means()
    assert means.shape == (8, 2)
    assert torch.allclose(means[0], torch.tensor([2.0, 0.0])) and torch.allclose(means[2], torch.tensor([0.0, 2.0]))
    assert mode_coverage(means.clone(), means, 0.02) == (8, 1.0)
    assert mode_coverage(means[3:4].repeat(10, 1), means, 0.02) == (1, 1.0)
    assert mode_coverage(torch.full((10, 2), 50.0), means, 0.02) == (0, 0.0)
    # 3 std = 0.06: a point 0.05 from a mode counts, one 0.07 away does not
    pts = torch.stack([means[0] + torch.tensor([0.05, 0.0]), means[1] + torch.tensor([0.0, 0.07]),
                       means[5], torch.zeros(2)])
    assert mode_coverage(pts, means, 0.02) == (2, 0.5)


def test_modes_covered_says_which_modes():
    means = ring8_means()
    pts = torch.cat([means[[5, 2, 5]], means[[7]] + torch.tensor([0.05, 0.0]), torch.zeros(1, 2)])
    captured, hq = modes_covered(pts, means, 0.02)
    assert captured.tolist() == [2, 5, 7] and hq.tolist() == [True, True, True, True, False]
    assert mode_coverage(pts, means, 0.02) == (3, pytest.approx(0.8))  # one implementation: counts agree
    captured, hq = modes_covered(torch.full((4, 2), 50.0), means, 0.02)
    assert captured.numel() == 0 and not hq.any()


@pytest.mark.parametrize("bias, acc_real, acc_fake", [(1.0, 1.0, 0.0), (-1.0, 0.0, 1.0), (0.0, 0.5, 0.5)])
def test_accuracy_from_a_constant_discriminator(bias, acc_real, acc_fake):
    # D's last layer outputs the constant `bias` for every input: above 0 every sample is called real
    # (right on reals, wrong on fakes); exactly 0 is undecided and counts half right on each side.
    # Metrics use the scores before D's update.
    tr = ring8(loss="non_saturating")
    with torch.no_grad():
        tr.D.head.weight.zero_()
        tr.D.head.bias.fill_(bias)
    out = tr.step("d")
    assert float(out[M["d_acc_real"]]) == acc_real and float(out[M["d_acc_fake"]]) == acc_fake
    p = 1 / (1 + math.exp(-bias))
    assert float(out[M["d_real_mean"]]) == pytest.approx(p) and float(out[M["d_fake_mean"]]) == pytest.approx(p)
    assert math.isnan(float(out[M["g_loss"]])) and math.isnan(float(out[M["g_grad_norm"]]))



class ConstantD(torch.nn.Module):
    """A discriminator that gives every input the same score (a learnable constant)."""

    def __init__(self, value: float):
        super().__init__()
        self.value = torch.nn.Parameter(torch.tensor(float(value)))

    def forward(self, x, y=None):
        return self.value + 0.0 * x.flatten(1).sum(1)  # (B,); depends on x (zero gradient) for penalties


@pytest.mark.parametrize("loss, value", [("minimax", 0.0), ("non_saturating", 0.0), ("least_squares", 0.5),
                                         ("hinge", 0.0), ("wgan", 3.0), ("wgan_gp", -2.0)])
def test_a_discriminator_at_its_threshold_reads_50_percent_on_both_sides(loss, value):
    # D(x) = 0.5 everywhere (the gauss1d equilibrium): ties count half right, so accuracy does not flip
    # between 0% and 100% from one step to the next; score losses use the midpoint, which a constant equals
    tr = ring8(loss=loss)
    tr.D = ConstantD(value)
    for _ in range(3):
        out = tr.step("d")
        assert float(out[M["d_acc_real"]]) == 0.5 and float(out[M["d_acc_fake"]]) == 0.5
    out = tr.step()
    assert float(out[M["d_acc_real"]]) == 0.5 and float(out[M["d_acc_fake"]]) == 0.5


class ShiftD(torch.nn.Module):
    """D(x) = x - shift on 1D data: calls "real" everything right of ``shift``."""

    def __init__(self, shift: float):
        super().__init__()
        self.shift = torch.nn.Parameter(torch.tensor(float(shift)))

    def forward(self, x, y=None):
        return x.flatten(1)[:, 0] - self.shift  # (B,)


@pytest.mark.parametrize("fake_at, acc_fake", [(0.0, 1.0), (6.0, 0.0)])
def test_accuracies_of_a_deciding_discriminator_are_unchanged(fake_at, acc_fake):
    # gauss1d reals ~ N(4, 0.5); D calls "real" whatever lies right of 4: about half of the reals, each
    # counted exactly as before (no ties); G outputs one point, left (all fakes spotted) or right of 4
    tr = Trainer(preset_config("gauss1d", seed=0, batch_size=512))
    tr.D = ShiftD(4.0)
    with torch.no_grad():
        last = tr.G.net[-1]
        last.weight.zero_()
        last.bias.fill_(fake_at)
    replay = torch.Generator().set_state(tr.gen.get_state())  # the step's first draw is the real batch
    real, _ = tr.data.sample(512, replay, tr.device)
    expected = float((real[:, 0] > 4.0).float().mean())
    assert 0.3 < expected < 0.7
    out = tr.step("d")
    assert float(out[M["d_acc_real"]]) == pytest.approx(expected, abs=1e-6)
    assert float(out[M["d_acc_fake"]]) == acc_fake

def test_grad_norm():
    a = torch.nn.Parameter(torch.zeros(2))
    b = torch.nn.Parameter(torch.zeros(1))
    assert float(grad_norm([a, b])) == 0.0  # no gradients yet
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([4.0])
    assert float(grad_norm([a, b])) == pytest.approx(5.0)


def test_d_outputs_reported_as_probabilities_for_logit_losses():
    tr = ring8(loss="non_saturating")
    out = tr.step()
    assert 0 < float(out[M["d_real_mean"]]) < 1 and 0 < float(out[M["d_fake_mean"]]) < 1
