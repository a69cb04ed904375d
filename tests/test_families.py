"""The GAN family registry (gan_core.families): configuration, networks, one iteration per family, exact
resume from checkpoints, `evaluate`'s family figures, and the family-specific pieces (PacGAN packs,
minibatch std, the unrolled look-ahead, BEGAN's balance). The seeded "it learns" checks live in
tests/test_family_learning.py."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from helpers_ui import ROOT  # noqa: F401  (puts the repository root on sys.path)

from gan_core.checkpoint import generator_from_checkpoint
from gan_core.config import Config
from gan_core.evaluate import evaluate_checkpoint
from gan_core.families import FAMILIES, get_family
from gan_core.metrics import STEP_METRICS
from gan_core.models.mlp import minibatch_std
from gan_core.presets import PRESETS, preset_config
from gan_core.run import Run, columns_for
from gan_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = dict(g_hidden=32, d_hidden=32, batch_size=16)
FAMILY_CONFIG = {  # a small config each family accepts
    "gan": dict(dataset="ring8"), "unrolled": dict(dataset="ring8", unroll_steps=2),
    "cgan": dict(dataset="digits", z_dim=8), "acgan": dict(dataset="digits", z_dim=8),
    "infogan": dict(dataset="digits", z_dim=8), "began": dict(dataset="digits", z_dim=8),
    "cyclegan": dict(dataset="digits_inverted", source="digits", ngf=4),
}


def same(a, b) -> bool:
    """Bit-equal metric vectors (NaN where a metric was not computed matches NaN)."""
    return torch.allclose(a, b, rtol=0, atol=0, equal_nan=True)


def small(family: str, **kw) -> Config:
    return Config().replace(**{**SMALL, **FAMILY_CONFIG[family], "family": family, **kw})


def test_every_family_has_a_small_config_here():
    assert set(FAMILY_CONFIG) == set(FAMILIES)


# ---------------------------------------------------------------- configuration

def test_family_is_a_validated_setting_from_dicts_and_the_cli():
    assert Config().model.family == "gan"
    assert Config().with_overrides(["family=acgan", "dataset=digits"]).model.family == "acgan"
    with pytest.raises(ValueError, match=r"model.family = 'nope' is not one of \['gan', 'cgan'"):
        Config().replace(family="nope")


@pytest.mark.parametrize("changes, message", [
    (dict(family="cgan"), "model.family = 'cgan'.*labelled image data.*ring8"),
    (dict(family="acgan"), "model.family = 'acgan'.*labelled image data"),
    (dict(family="began"), "model.family = 'began' needs image data"),
    (dict(family="infogan", dataset="digits", z_dim=2), r"model.z_dim = 2 must be larger than model.info_continuous"),
    (dict(family="acgan", dataset="digits", pack=2), "model.pack = 2 needs a family whose D is a plain critic"),
    (dict(pack=3, batch_size=64), "train.batch_size = 64 must be a multiple of model.pack = 3"),
    (dict(pack=2, d_norm="batch"), "model.pack and model.mbstd need batch statistics"),
    (dict(pack=9), r"model.pack = 9 is out of range \[1, 8\]"),
    (dict(unroll_steps=21), r"train.unroll_steps = 21 is out of range \[0, 20\]"),
    (dict(family="began", dataset="digits", mbstd=True), "model.mbstd needs a classifying D"),
])
def test_bad_family_settings_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Config().replace(**changes)


def test_legacy_conditional_flag_means_the_cgan_family():
    cfg = Config.from_dict({"dataset": "digits", "conditional": True})
    assert cfg.model.family == "cgan" and cfg.model.conditional
    assert cfg.with_overrides(["conditional=false"]).model.family == "gan"
    old = {"model": {"arch": "mlp", "conditional": True}, "data": {"dataset": "digits"}}  # a pre-family checkpoint
    assert Config.from_dict(old).model.family == "cgan"
    with pytest.raises(ValueError, match="contradicts model.family = 'infogan'"):
        Config.from_dict({"dataset": "digits", "family": "infogan", "conditional": True})
    assert "conditional" not in Config().flat()  # saved configs carry the family only


def test_live_fields_of_families_change_during_a_run():
    run = Run(small("unrolled"))
    run.set(unroll_steps=0)
    run.set(began_gamma=0.7, info_weight=2.0, aux_weight=0.5)
    assert run.config.train.unroll_steps == 0 and run.config.loss.began_gamma == 0.7
    with pytest.raises(ValueError, match="cannot change during a run"):
        run.set(family="gan")


# ---------------------------------------------------------------- one iteration, every family

@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_steps_samples_and_reports_its_metrics(family):
    tr = Trainer(small(family))
    spec = get_family(family)
    assert tr.metric_names == STEP_METRICS + spec.metrics
    before = [p.detach().clone() for p in tr.G.parameters()]
    rows = torch.stack([tr.step() for _ in range(3)])
    assert rows.shape == (3, len(STEP_METRICS) + len(spec.metrics))
    assert (rows[:, STEP_METRICS.index("finite")] == 1).all()
    for name in spec.metrics:  # a family's own metric is measured on a full step
        assert torch.isfinite(rows[:, tr.metric_names.index(name)]).all(), name
    assert any(not torch.equal(a, b) for a, b in zip(before, tr.G.parameters())), "G did not learn"
    x = tr.sample(5)
    assert x.shape == (5,) + tuple(tr.data_shape) and torch.isfinite(x).all()
    for chart in spec.charts:  # charts draw history columns by name
        assert set(chart.columns) <= set(spec.metrics)
    assert set(columns_for(tr)) >= set(spec.metrics)


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("which", ["d", "g"])
def test_d_only_and_g_only_steps_train_only_that_network(family, which):
    tr = Trainer(small(family))
    g0 = [p.detach().clone() for p in tr.G.parameters()]
    d0 = [p.detach().clone() for p in tr.D.parameters()]
    out = tr.step(which)
    g_moved = any(not torch.equal(a, b) for a, b in zip(g0, tr.G.parameters()))
    d_moved = any(not torch.equal(a, b) for a, b in zip(d0, tr.D.parameters()))
    assert (g_moved, d_moved) == (which == "g", which == "d")
    assert out[STEP_METRICS.index("finite")] == 1


def test_same_seed_same_metrics_for_every_family():
    for family in FAMILIES:
        a, b = Trainer(small(family, seed=3)), Trainer(small(family, seed=3))
        for _ in range(3):
            assert same(a.step(), b.step()), family


def test_the_plain_gan_is_unchanged_by_the_registry():
    """gan's iteration is the pre-registry one: pinned losses of ring8's first steps (seed 0)."""
    tr = Trainer(preset_config("ring8"))
    d_losses = [round(float(tr.step()[0]), 4) for _ in range(3)]
    unrolled0 = Trainer(preset_config("ring8", family="unrolled", unroll_steps=0))
    assert [round(float(unrolled0.step()[0]), 4) for _ in range(3)] == d_losses  # k = 0 is the plain GAN


@pytest.fixture
def tiny_mnist(tmp_path):
    """A 40-image MNIST-format folder (random pixels, labels 0..9): presets load without the real files."""
    from test_stacked import write_idx
    g = np.random.default_rng(0)
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte.gz", g.integers(0, 256, (40, 28, 28)))
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", np.arange(40) % 10)
    return tmp_path


@pytest.mark.parametrize("name", [n for n in PRESETS if PRESETS[n][1].get("family")])
def test_family_presets_build_step_and_sample(name, tiny_mnist):
    over = {"data_dir": str(tiny_mnist), "download": False} if "mnist" in name else {}
    cfg = preset_config(name, **over, batch_size=8)
    if cfg.model.arch == "dcgan":
        cfg = cfg.replace(ngf=8, ndf=8)
    tr = Trainer(cfg)
    assert tr.step()[STEP_METRICS.index("finite")] == 1
    assert tr.sample(4).shape[0] == 4


# ---------------------------------------------------------------- checkpoints

@pytest.mark.parametrize("family", list(FAMILIES))
def test_checkpoint_round_trip_resumes_exactly(tmp_path, family):
    run = Run(small(family))
    for _ in range(4):
        run.trainer.step()
    run.save(tmp_path)
    back = Run.from_checkpoint(tmp_path)
    assert back.config.model.family == family and back.history.names == run.history.names
    for _ in range(3):
        assert same(run.trainer.step(), back.trainer.step())
    view = generator_from_checkpoint(tmp_path)
    z = view.inputs(6, torch.Generator().manual_seed(1))  # noise, or CycleGAN's domain-A bank
    y = torch.arange(6) % view.num_classes if view.num_classes else None
    saved = run.trainer.G.eval()
    with torch.no_grad():
        want = saved(z, y)
    assert view.generate(z, y).shape == want.shape
    assert view.num_classes == run.trainer.num_classes
    assert json.loads((tmp_path / "config.json").read_text())["config"]["model"]["family"] == family


def test_began_balance_is_saved_and_restored(tmp_path):
    run = Run(small("began", began_lambda_k=0.05))
    for _ in range(10):
        run.trainer.step()
    k = float(run.trainer.D.k)
    assert 0 < k <= 1
    run.save(tmp_path)
    assert float(Run.from_checkpoint(tmp_path).trainer.D.k) == k


# ---------------------------------------------------------------- the pieces

def test_pacgan_packs_samples_and_scores_one_per_pack():
    tr = Trainer(small("gan", pack=4))
    x = tr.data.sample(16, tr.gen, tr.device)[0]
    assert tr.D(x).shape == (4,) and tr.D.trunk[0].in_features == 4 * 2
    rows = torch.stack([tr.step() for _ in range(3)])
    assert (rows[:, STEP_METRICS.index("finite")] == 1).all() and not tr.d_concat


def test_minibatch_std_feature_is_zero_for_a_collapsed_batch():
    same = torch.ones(8, 5)
    out = minibatch_std(same)
    assert out.shape == (8, 6) and torch.allclose(out[:, -1], torch.full((8,), 1e-4))
    varied = minibatch_std(torch.arange(8.0)[:, None].repeat(1, 5))
    assert (varied[:, -1] > 1).all()  # groups of 4 consecutive values 0..3: std ~1.1
    maps = minibatch_std(torch.randn(6, 3, 4, 4))  # gcd(4, 6) = 2 samples a group
    assert maps.shape == (6, 4, 4, 4)
    tr = Trainer(small("gan", mbstd=True))
    assert tr.D.head.in_features == 33 and tr.step()[STEP_METRICS.index("finite")] == 1


def test_unrolled_g_sees_a_different_gradient_than_the_plain_gan():
    plain = Trainer(preset_config("ring8", family="unrolled", unroll_steps=0))
    look = Trainer(preset_config("ring8", family="unrolled", unroll_steps=5))
    for tr in (plain, look):
        tr.step("d")
        tr.step("g")
    grads = [tr.metric_names.index("g_grad_norm") for tr in (plain, look)]
    assert grads[0] == grads[1]
    a = plain.step("g")[grads[0]]
    b = look.step("g")[grads[1]]
    assert torch.isfinite(b) and not torch.isclose(a, b)
    d_before = [p.detach().clone() for p in look.D.parameters()]
    look.step("g")  # the look-ahead never changes the real D
    assert all(torch.equal(a, b) for a, b in zip(d_before, look.D.parameters()))


def test_unrolled_gradient_flows_through_the_look_ahead():
    """With k = 1 and plain gradient steps, G's gradient equals autograd through one explicit D update."""
    cfg = preset_config("ring8", family="unrolled", unroll_steps=1, optimizer="sgd", beta1=0.0, lr_d=0.5,
                        batch_size=8, loss="minimax")
    tr = Trainer(cfg)
    from torch.func import functional_call
    from gan_core.families.unrolled import unrolled_critic
    gen_state = tr.gen.get_state()
    z = torch.randn(8, 2)
    fake = tr.G(z)
    scores, _ = unrolled_critic(tr, fake, None)
    (g_auto,) = torch.autograd.grad(tr.loss.g(scores), fake)
    tr.gen.set_state(gen_state)  # the same real batch, by hand
    real, _ = tr.data.sample(8, tr.gen, tr.device)
    fake2 = fake.detach().requires_grad_(True)
    params = dict(tr.D.named_parameters())
    lr, lf = tr.loss.d(functional_call(tr.D, params, (real,)), functional_call(tr.D, params, (fake2,)), 1.0)
    grads = torch.autograd.grad(lr + lf, list(params.values()), create_graph=True)
    moved = {n: p - 0.5 * g for (n, p), g in zip(params.items(), grads)}
    (g_hand,) = torch.autograd.grad(tr.loss.g(functional_call(tr.D, moved, (fake2,))), fake2)
    assert torch.allclose(g_auto, g_hand, atol=1e-6)
    first_order = torch.autograd.grad(tr.loss.g(functional_call(tr.D, {n: v.detach() for n, v in moved.items()},
                                                                (fake2,))), fake2)[0]
    assert not torch.allclose(g_hand, first_order, atol=1e-6)  # the second-order term is there


def test_infogan_codes_reach_the_generator_and_q():
    tr = Trainer(small("infogan"))
    assert tr.num_classes == 10 and tr.G.embed.num_embeddings == 10
    z = torch.randn(4, 8)
    with torch.no_grad():
        a = tr.G(z, torch.zeros(4, dtype=torch.long))
        b = tr.G(z, torch.ones(4, dtype=torch.long))
        z2 = z.clone()
        z2[:, -1] += 2  # a continuous code
        c = tr.G(z2, torch.zeros(4, dtype=torch.long))
    assert not torch.allclose(a, b) and not torch.allclose(a, c)
    out = tr.step()
    mi = float(out[tr.metric_names.index("info_mi")])
    assert mi <= math.log(10) + 1e-6


def test_began_metrics_follow_the_paper():
    tr = Trainer(small("began", began_lambda_k=0.01))
    rows = torch.stack([tr.step() for _ in range(5)]).numpy()
    col = {n: rows[:, i] for i, n in enumerate(tr.metric_names)}
    gamma = tr.cfg.loss.began_gamma
    m = col["recon_real"] + np.abs(gamma * col["recon_real"] - col["recon_fake"])
    np.testing.assert_allclose(col["m_global"], m, rtol=1e-5)
    assert np.isnan(col["d_acc_real"]).all()  # not defined for an autoencoder D
    assert ((col["k_t"] >= 0) & (col["k_t"] <= 1)).all()


# ---------------------------------------------------------------- evaluate

def test_evaluate_reports_the_family_figures(tmp_path):
    for family, key in (("cgan", "class_agreement"), ("infogan", "code_purity")):
        run = Run(small(family))
        run.trainer.step()
        run.save(tmp_path / family)
        out = evaluate_checkpoint(tmp_path / family, samples=200)
        assert out["family"] == family and 0.0 <= out[key] <= 1.0
    assert "code_to_label" in out and sorted(out["code_to_label"]) == list(range(10))
    run = Run(small("gan", dataset="digits"))
    run.save(tmp_path / "gan")
    assert "family" not in evaluate_checkpoint(tmp_path / "gan", samples=200)


def test_best_matching_is_the_hungarian_assignment():
    from gan_core.families.evaluation import best_matching
    confusion = np.array([[0, 9, 1], [8, 0, 2], [1, 1, 7]])
    mapping, purity = best_matching(confusion)
    assert mapping.tolist() == [1, 0, 2] and purity == pytest.approx(24 / 29)


def test_cli_trains_a_family_and_evaluates_it(tmp_path, capsys):
    from gan_core.cli import main
    out = tmp_path / "acgan"
    assert main(["train", "--preset", "digits", "--set", "family=acgan", "--set", "batch_size=16", "--steps", "20",
                 "--quiet", "--out", str(out)]) == 0
    header = (out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"aux_acc_real", "aux_acc_fake"} <= set(header)  # the family's columns reach the CSV
    capsys.readouterr()
    assert main(["evaluate", "--run", str(out), "--samples", "200", "--quiet"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["family"] == "acgan" and 0 <= line["class_agreement"] <= 1
    assert main(["train", "--preset", "ring8", "--set", "family=began", "--steps", "2", "--quiet"]) != 0
    assert "model.family = 'began' needs image data" in capsys.readouterr().err


def test_acgan_head_learns_from_fakes_only_when_asked():
    def d_step(weight):
        tr = Trainer(small("acgan", aux_fake_weight=weight))
        tr.step("d")
        return torch.cat([p.detach().flatten() for p in tr.D.aux.parameters()])
    assert torch.equal(d_step(0.0), d_step(0.0)) and not torch.equal(d_step(0.0), d_step(1.0))


# ---------------------------------------------------------------- CycleGAN's two domains

def _pngs(folder, n: int, value: int, size: int = 20) -> None:
    from PIL import Image
    folder.mkdir()
    for i in range(n):
        img = Image.new("RGB", (size, size), (value, value, value))
        img.putpixel((i % size, i % size), (255 - value, 0, 0))
        img.save(folder / f"{i}.png")


def test_cyclegan_translates_between_two_user_folders(tmp_path):
    _pngs(tmp_path / "a", 6, 30)
    _pngs(tmp_path / "b", 5, 220, size=40)  # another size: domain A is brought to domain B's
    cfg = small("cyclegan", dataset="folder", path=str(tmp_path / "b"), source="folder",
                source_path=str(tmp_path / "a"), image_size=16, ngf=4)
    tr = Trainer(cfg)
    assert tuple(tr.source.shape) == tuple(tr.data.shape) == (3, 16, 16)
    assert float(tr.G.bank.mean()) < -0.5  # the bank holds domain A's dark images, not B's light ones
    tr.step()
    assert tr.sample(3).shape == (3, 3, 16, 16)


@pytest.mark.parametrize("changes, message", [
    (dict(dataset="ring8", source=""), "model.family = 'cyclegan' needs data.source"),
    (dict(dataset="ring8", source="digits"), "data.source = 'digits' holds images but data.dataset = 'ring8' holds "
                                             "points"),
    (dict(dataset="ring8", source="gauss1d"), "data.source = 'gauss1d' is 1-D but data.dataset = 'ring8' is 2-D"),
    (dict(dataset="digits", source="folder", source_path="/nonexistent/a"), "domain A .data.source = 'folder'.: "),
    (dict(dataset="digits", source="digits", r1_gamma=1.0), "loss.r1_gamma must be 0"),
])
def test_cyclegan_domain_errors_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        Trainer(small("cyclegan", **changes))


def test_source_folder_needs_its_path():
    with pytest.raises(ValueError, match="data.source_path must name"):
        Config().replace(source="folder")
