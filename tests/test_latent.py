"""Unit tests for gan_core.latent (interpolation, arithmetic, class means, truncation, principal
directions, GeneratorView) and gan_core.checkpoint.generator_from_checkpoint. Known answers by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from gan_core import latent
from gan_core.checkpoint import generator_from_checkpoint
from gan_core.latent import GeneratorView
from gan_core.presets import preset_config
from gan_core.run import Run, stop_all
from gan_core.trainer import Trainer


@pytest.fixture(autouse=True)
def _no_threads():
    yield
    stop_all(timeout=None)


# ---------------------------------------------------------------- interpolation

E0, E1 = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])


@pytest.mark.parametrize("mode", ["linear", "spherical"])
def test_interpolation_endpoints_are_a_and_b(mode):
    a, b = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([-0.7, 0.4, 1.5])
    path = latent.interpolate(a, b, 7, mode)
    assert path.shape == (7, 3)
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b)


def test_slerp_of_orthogonal_equal_norm_vectors_keeps_the_norm():
    a, b = 2 * E0, 2 * E1  # |a| = |b| = 2, a ⟂ b: omega = pi/2, so slerp(t) = cos(t pi/2) a + sin(t pi/2) b
    path = latent.interpolate(a, b, 9, "spherical")
    torch.testing.assert_close(path.norm(dim=1), torch.full((9,), 2.0))
    t = torch.linspace(0, 1, 9)
    expected = torch.cos(t * math.pi / 2)[:, None] * a + torch.sin(t * math.pi / 2)[:, None] * b
    torch.testing.assert_close(path, expected)


def test_slerp_and_lerp_midpoints_by_hand():
    mid_s = latent.interpolate(E0, E1, 3, "spherical")[1]
    mid_l = latent.interpolate(E0, E1, 3, "linear")[1]
    torch.testing.assert_close(mid_s, (E0 + E1) / math.sqrt(2))  # on the unit circle
    torch.testing.assert_close(mid_l, (E0 + E1) / 2)  # cuts through the middle
    assert mid_s.norm().item() == pytest.approx(1.0, abs=1e-6)
    assert mid_l.norm().item() == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    assert mid_l.norm().item() == pytest.approx(mid_s.norm().item() / math.sqrt(2), abs=1e-6)


def test_slerp_of_parallel_vectors_falls_back_to_lerp():
    a = torch.tensor([1.0, 2.0, -1.0])
    path = latent.slerp(a, 3 * a, torch.tensor([0.0, 0.5, 1.0]))
    torch.testing.assert_close(path, torch.stack([a, 2 * a, 3 * a]))
    assert torch.isfinite(path).all()


@pytest.mark.parametrize("mode, steps", [("cubic", 5), ("linear", 1), ("spherical", 0), ("linear", 257)])
def test_interpolate_rejects_bad_mode_or_steps(mode, steps):
    with pytest.raises(ValueError):
        latent.interpolate(E0, E1, steps, mode)


def test_interpolate_accepts_the_step_limits():
    assert latent.interpolate(E0, E1, 2, "linear").shape == (2, 3)
    assert latent.interpolate(E0, E1, 256, "spherical").shape == (256, 3)


# ---------------------------------------------------------------- arithmetic, class means, truncation

def test_arithmetic_is_mean_a_minus_mean_b_plus_mean_c():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    b = torch.tensor([[0.0, 1.0]])  # mean (0, 1)
    c = torch.tensor([[1.0, 1.0], [3.0, 3.0], [5.0, 5.0]])  # mean (3, 3)
    torch.testing.assert_close(latent.arithmetic(a, b, c), torch.tensor([5.0, 5.0]))


@pytest.mark.parametrize("which", [0, 1, 2])
def test_arithmetic_rejects_an_empty_group(which):
    groups = [torch.ones(2, 3), torch.ones(1, 3), torch.ones(3, 3)]
    groups[which] = torch.zeros(0, 3)
    with pytest.raises(ValueError, match="ABC"[which]):
        latent.arithmetic(*groups)


def test_arithmetic_rejects_a_single_vector_instead_of_a_group():
    with pytest.raises(ValueError):
        latent.arithmetic(torch.ones(3), torch.ones(1, 3), torch.ones(1, 3))


def test_class_means_by_hand():
    z = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 4.0], [5.0, 5.0]])
    labels = torch.tensor([0, 0, 1, 1, 0])
    means, counts = latent.class_means(z, labels, 3)
    torch.testing.assert_close(means, torch.tensor([[3.0, 5.0 / 3.0], [0.0, 3.0], [0.0, 0.0]]))
    assert counts.tolist() == [3, 2, 0]  # an empty class keeps a zero mean instead of NaN


def test_truncate_scales_towards_the_mean_and_checks_psi():
    z = torch.tensor([[2.0, -4.0]])
    torch.testing.assert_close(latent.truncate(z, 0.5), torch.tensor([[1.0, -2.0]]))
    torch.testing.assert_close(latent.truncate(z, 1.0), z)
    torch.testing.assert_close(latent.truncate(z, 0.0), torch.zeros(1, 2))
    for psi in (-0.01, 1.01):
        with pytest.raises(ValueError):
            latent.truncate(z, psi)


# ---------------------------------------------------------------- principal directions

class LinearG(nn.Module):
    """G(z) = z @ W.T with W = diag(5, 1, 10, 0.1): output variances 25, 1, 100, 0.01 (total 126.01)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4, bias=False)
        with torch.no_grad():
            self.lin.weight.copy_(torch.diag(torch.tensor([5.0, 1.0, 10.0, 0.1])))

    def forward(self, z, y=None):
        return self.lin(z)


def test_principal_directions_of_a_linear_generator():
    dirs = latent.principal_directions(LinearG(), z_dim=4, k=8, n=2048, seed=0)
    assert dirs.vectors.shape == (4, 4)  # k is capped at z_dim
    torch.testing.assert_close(dirs.vectors.norm(dim=1), torch.ones(4))
    # the top component is output dim 2 (variance 100), moved by z[2]; the second is dim 0 (25) via z[0]
    assert abs(dirs.vectors[0, 2].item()) > 0.995, dirs.vectors[0]
    assert abs(dirs.vectors[1, 0].item()) > 0.995, dirs.vectors[1]
    assert abs(dirs.vectors[2, 1].item()) > 0.995, dirs.vectors[2]
    expected = np.array([100, 25, 1, 0.01]) / 126.01  # 0.7936, 0.1984, 0.0079, 0.00008
    np.testing.assert_allclose(dirs.explained, expected, atol=0.02)
    assert dirs.explained[0] > dirs.explained[1] > dirs.explained[2] > dirs.explained[3]
    np.testing.assert_allclose(dirs.fit, 1.0, atol=1e-6)  # a linear G is fit exactly from z


def test_principal_directions_fit_is_low_for_a_nonlinear_output():
    class SquareG(nn.Module):  # output = z0^2: uncorrelated with z, so no linear direction explains it
        def __init__(self):
            super().__init__()
            self.p = nn.Parameter(torch.zeros(()))

        def forward(self, z, y=None):
            return z[:, :1] ** 2 + self.p

    dirs = latent.principal_directions(SquareG(), z_dim=3, k=8, n=2048)
    assert dirs.vectors.shape == (1, 3)  # one output dimension -> one component
    assert dirs.explained[0] == pytest.approx(1.0)
    assert dirs.fit[0] < 0.05


# ---------------------------------------------------------------- GeneratorView

def test_generator_view_is_a_frozen_copy():
    tr = Trainer(preset_config("ring8", batch_size=16))
    view = GeneratorView.of(tr, made_at=1.5)
    assert view.G is not tr.G and not view.G.training
    assert all(not p.requires_grad for p in view.G.parameters())
    assert all(p.requires_grad for p in tr.G.parameters())  # the trainer's G still trains
    assert (view.step, view.z_dim, view.num_classes, view.data_shape, view.is_image, view.dataset,
            view.made_at) == (0, 2, 0, (2,), False, "ring8", 1.5)
    z = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    before = view.generate(z)
    assert before.shape == (16, 2) and before.device.type == "cpu"
    with torch.no_grad():
        for p in tr.G.parameters():
            p.add_(0.5)
    tr.step()
    with torch.no_grad():
        assert not torch.allclose(tr.G(z), before)  # the trainer's G did change...
    torch.testing.assert_close(view.generate(z), before, rtol=0, atol=0)  # ...the copy did not
    assert view.step == 0 and tr.step_count == 1


def test_conditional_generator_view_needs_a_class():
    tr = Trainer(preset_config("digits", conditional=True, batch_size=8))
    view = GeneratorView.of(tr)
    assert view.num_classes == 10 and view.class_names == [str(i) for i in range(10)]
    z = torch.randn(4, view.z_dim)
    with pytest.raises(ValueError, match="class"):
        view.generate(z)
    out = view.generate(z, torch.tensor([0, 1, 2, 3]))
    assert out.shape == (4, 1, 8, 8)
    # the label matters: the same z with other classes gives other images
    assert not torch.allclose(out, view.generate(z, torch.tensor([9, 9, 9, 9])))


def test_generator_from_checkpoint_matches_the_runs_view_without_the_data(tmp_path, monkeypatch):
    run = Run(preset_config("digits", batch_size=16))
    for _ in range(3):
        run.trainer.step()
    run.save(tmp_path / "digits")
    expected_view = run.generator_view()
    fresh = GeneratorView.of(Trainer(preset_config("digits", batch_size=16, seed=7)))  # an untrained G

    def no_data(*args, **kwargs):
        raise AssertionError("generator_from_checkpoint must not load the dataset")

    import gan_core.data
    import gan_core.data.images
    import gan_core.trainer
    monkeypatch.setattr(gan_core.data, "load_dataset", no_data)
    monkeypatch.setattr(gan_core.trainer, "load_dataset", no_data)
    monkeypatch.setattr(gan_core.data.images, "load_images", no_data)

    view = generator_from_checkpoint(tmp_path / "digits")
    assert (view.step, view.z_dim, view.num_classes, view.data_shape, view.is_image, view.dataset) == \
        (3, 32, 0, (1, 8, 8), True, "digits")
    assert view.class_names == [str(i) for i in range(10)]
    assert all(not p.requires_grad for p in view.G.parameters()) and not view.G.training
    z = torch.randn(32, 32, generator=torch.Generator().manual_seed(5))
    got, want = view.generate(z), expected_view.generate(z)
    assert got.shape == (32, 1, 8, 8)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert not torch.allclose(fresh.generate(z), want)  # not trivially equal: another G differs
