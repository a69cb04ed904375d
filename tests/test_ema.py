"""The averaged generator (train.g_ema, gan_core/ema.py): the average follows G by the decay after each G update
and never otherwise; samples, views and evaluations come from it; checkpoints keep it (and the Latent lab opens
it); a rollback restores it with the rest; it can be turned on and off during a run; a bad decay is refused."""
from __future__ import annotations

import math

import pytest
import torch

from helpers_ui import ROOT  # noqa: F401  (puts the repository root on sys.path)

from gan_core.presets import preset_config
from gan_core.run import Run
from gan_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


def flat(module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_the_average_follows_g_after_each_g_update_only():
    tr = Trainer(preset_config("gauss1d", g_ema=0.9))
    g0 = flat(tr.G)
    assert torch.equal(flat(tr.g_ema), g0)  # it starts at G
    tr.step("d")
    assert torch.equal(flat(tr.g_ema), g0)  # a D-only step leaves G, and its average, alone
    tr.step("both")
    g1 = flat(tr.G)
    assert not torch.equal(g1, g0)
    assert torch.allclose(flat(tr.g_ema), 0.9 * g0 + 0.1 * g1, atol=1e-7)
    assert not any(p.requires_grad for p in tr.g_ema.parameters())
    off = Trainer(preset_config("gauss1d"))
    assert off.g_ema is None and off.g_eval is off.G


def test_samples_views_and_pictures_come_from_the_average():
    from gan_core.latent import GeneratorView
    tr = Trainer(preset_config("ring8", g_ema=0.99))
    for _ in range(30):
        tr.step()
    state = tr.eval_gen.get_state()
    x = tr.sample(64)
    tr.eval_gen.set_state(state)
    z = torch.randn(64, tr.cfg.model.z_dim, generator=tr.eval_gen)
    with torch.no_grad():
        assert torch.allclose(x, tr.g_ema(z)) and not torch.allclose(x, tr.G(z))
        view = GeneratorView.of(tr)
        assert torch.allclose(view.generate(z), tr.g_ema(z))
        assert torch.allclose(tr.fixed_samples(), tr.g_ema(tr.fixed_z, tr.fixed_y))


def test_a_checkpoint_keeps_the_average_and_the_latent_lab_opens_it(tmp_path):
    from gan_core.checkpoint import generator_from_checkpoint
    run = Run(preset_config("ring8", g_ema=0.99))
    for _ in range(20):
        run.step_once()
    run.save(tmp_path / "r")
    run.stop()
    back = Run.from_checkpoint(tmp_path / "r")
    assert torch.equal(flat(back.trainer.g_ema), flat(run.trainer.g_ema))
    assert torch.equal(flat(back.trainer.G), flat(run.trainer.G))
    view = generator_from_checkpoint(tmp_path / "r")
    assert torch.equal(flat(view.G), flat(run.trainer.g_ema)) and not torch.equal(flat(view.G), flat(run.trainer.G))
    back.stop()


def test_turned_on_and_off_live_and_restored_by_a_rollback():
    run = Run(preset_config("ring8", snapshot_every=5))
    for _ in range(6):
        run.step_once()
    assert run.trainer.g_ema is None
    before = flat(run.trainer.G)
    run.set(g_ema=0.95)  # on during the run (adopted at the next step): the average starts at the current G
    run.step_once()
    assert torch.allclose(flat(run.trainer.g_ema), 0.95 * before + 0.05 * flat(run.trainer.G), atol=1e-7)
    for _ in range(10):
        run.step_once()
    saved = flat(run.trainer.g_ema)
    assert run.snapshots.latest_step is not None
    with torch.no_grad():  # a divergence poisons G and, through the averaging, its average
        for p in list(run.trainer.G.parameters()) + list(run.trainer.g_ema.parameters()):
            p.fill_(math.nan)
    run.rollback()
    restored = flat(run.trainer.g_ema)
    assert torch.isfinite(restored).all() and not torch.equal(restored, saved)  # the snapshot's average
    run.set(g_ema=0.0)
    run.step_once()
    assert run.trainer.g_ema is None
    run.stop()


@pytest.mark.parametrize("bad", [1.0, -0.1])
def test_a_decay_out_of_range_is_refused_by_name(bad):
    with pytest.raises(ValueError, match=r"g_ema.*0\.9999"):
        preset_config("ring8", g_ema=bad)
