"""Seeded CPU checks that each family's preset learns what it promises (short runs, weaker but honest
bounds than the figures in docs/BENCHMARKS.md, which bench/families.py measures on longer runs)."""
from __future__ import annotations

import math

import pytest
import torch

from helpers_ui import ROOT  # noqa: F401  (puts the repository root on sys.path)

from gan_core.classifier import load_for_dataset
from gan_core.families import get_family
from gan_core.latent import GeneratorView
from gan_core.metrics import mode_coverage
from gan_core.presets import preset_config
from gan_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


def trained(name: str, steps: int, **kw) -> Trainer:
    tr = Trainer(preset_config(name, **kw))
    for _ in range(steps):
        tr.step()
    return tr


def family_figure(tr: Trainer, n: int = 1000) -> dict:
    return get_family(tr.cfg.model.family).evaluate(GeneratorView.of(tr), load_for_dataset("digits"), n)


def test_cgan_makes_the_digit_it_is_asked_for():
    tr = trained("digits_cgan", 2000)
    assert family_figure(tr)["class_agreement"] >= 0.9  # 0.998 at this step (seed 0); chance is 0.1


def test_acgan_class_head_learns_real_then_fake_classes():
    tr = Trainer(preset_config("digits_acgan"))
    rows = torch.stack([tr.step() for _ in range(3000)])
    col = {n: rows[:, i] for i, n in enumerate(tr.metric_names)}
    assert col["aux_acc_real"][-200:].mean() > 0.9 and col["aux_acc_fake"][-200:].mean() > 0.9
    assert col["aux_acc_real"][:20].mean() < 0.5  # it had to learn them
    assert family_figure(tr)["class_agreement"] >= 0.8  # 0.89-0.91 here, 0.99 by step 6,000


def test_infogan_categorical_code_discovers_the_digit_classes():
    tr = Trainer(preset_config("digits_infogan"))
    rows = torch.stack([tr.step() for _ in range(2000)])
    mi = rows[:, tr.metric_names.index("info_mi")]
    assert mi[:20].mean() < 1.0 and mi[-200:].mean() > 0.9 * math.log(10)  # the bound climbs to ~log 10
    assert family_figure(tr)["code_purity"] >= 0.6  # 0.84 (seed 0); chance ~0.1-0.2


def test_began_makes_varied_recognisable_digits_and_m_global_falls():
    tr = Trainer(preset_config("digits_began"))
    rows = torch.stack([tr.step() for _ in range(2000)])  # seed 0 at 2,000: M ratio 0.27, 71% sure, 8 classes
    m = rows[:, tr.metric_names.index("m_global")]
    assert m[-200:].mean() < 0.8 * m[:200].mean()
    probs = load_for_dataset("digits").probs(tr.sample(1000))
    sure = probs.max(1).values > 0.9
    assert sure.float().mean() > 0.6 and len(set(probs.argmax(1)[sure].tolist())) >= 6


def test_unrolling_spreads_ring8_where_the_plain_game_collapses():
    """Same settings, same seed, 1,000 steps: the unrolled run covers the ring, the plain one sits on 1-3."""
    plain = trained("ring8_collapse", 1000, seed=1)
    unrolled = trained("ring8_unrolled", 1000, seed=1)
    count = lambda tr: mode_coverage(tr.sample(2500), tr.data.modes, tr.data.mode_std)[0]  # noqa: E731
    assert count(plain) <= 3 and count(unrolled) >= 7


def test_cyclegan_bends_the_line_onto_the_parabola_and_back():
    tr = Trainer(preset_config("cycle_toy"))
    a = tr.source.sample(2000, torch.Generator().manual_seed(1), tr.device)[0]

    def off_parabola() -> tuple:
        with torch.no_grad():
            b = tr.G.ab(a)
            back = tr.G.ba(b)
        off = (b[:, 1] - (0.5 * b[:, 0] ** 2 - 1)).abs().median().item()
        return off, b[:, 0].quantile(0.05).item(), b[:, 0].quantile(0.95).item(), (back - a).abs().mean().item()
    before = off_parabola()[0]
    for _ in range(1000):
        tr.step()
    off, lo, hi, cycle = off_parabola()
    assert before > 0.3  # an untrained G is near the identity: the line is far from the parabola
    assert off < 0.06  # 0.025 at step 1,000 (seed 0); the parabola's own noise is 0.02
    assert lo < -1.6 and hi > 1.6  # spread along the whole parabola (x in [-2, 2]), not squashed onto a part
    assert cycle < 0.05  # and G_BA brings the points back (0.015)


def test_cyclegan_inverts_the_digits_and_keeps_the_digit():
    tr = Trainer(preset_config("cycle_ink"))
    a, y = tr.source.images[:500], tr.source.labels[:500]
    clf = load_for_dataset("digits")

    def scores() -> tuple:
        with torch.no_grad():
            b = tr.G.ab(a)
        kept = (clf.predict(-b).cpu() == y.cpu()).float().mean().item()  # un-invert, then name the digit
        return (b + a).abs().mean().item(), kept
    before = scores()[0]
    for _ in range(300):
        tr.step()
    error, kept = scores()
    assert before > 0.5
    assert error < 0.2  # mean |G_AB(a) - (-a)| in [-1, 1]: 0.096 at step 300 (seed 0; 0.094 seed 1)
    assert kept >= 0.85  # 0.986 (the classifier on the real digits: 0.998; on the untrained G: 0.24)
