"""Unit tests for gan_core.diagnostics: which measurement a dataset gets, the class measurement on digits,
the time-budget schedule (with a fake clock) and, in a live Run, that measurements keep to the budget."""
from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gan_core import diagnostics
from gan_core.diagnostics import CLASS_COLUMNS, CLASS_SAMPLES, DIVERGENCE_COLUMNS, MODE_COLUMNS, Diagnostics, spread
from gan_core.presets import preset_config
from gan_core.run import Run, stop_all
from gan_core.trainer import Trainer
from helpers_ui import run_threads, wait_until


@pytest.fixture(autouse=True)
def _no_threads():
    yield
    stop_all(timeout=None)
    assert run_threads() == []


@pytest.fixture(scope="module")
def digits_trainer():
    return Trainer(preset_config("digits", batch_size=16))


class FakeClock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


# ---------------------------------------------------------------- kinds

@pytest.mark.parametrize("preset, kind, n_modes", [("ring8", "modes", 8), ("grid25", "modes", 25),
                                                   ("gauss1d", None, 0), ("line", None, 0)])
def test_kind_for_toy_data(preset, kind, n_modes):
    d = Diagnostics(Trainer(preset_config(preset, batch_size=16)))
    assert d.kind == kind and d.n_modes == n_modes and d.divergence and d.measures
    assert d.columns == (MODE_COLUMNS if kind == "modes" else ("step",)) + DIVERGENCE_COLUMNS


def test_point_data_measures_js_and_kl_every_n_steps_on_the_grid_histogram():
    """The live divergences are gan_core.divergence on the evaluation's samples against 2,500 real points;
    for the ring they sit beside the modes, measured on the same samples (the modes' figures are unchanged)."""
    from gan_core.divergence import divergences
    tr = Trainer(preset_config("ring8", batch_size=16))
    d = Diagnostics(tr)
    assert d.due(200, 100, 0.0) and not d.due(250, 100, 0.0)
    state = tr.eval_gen.get_state()
    row = dict(zip(d.columns, d.measure(tr)[0]))
    tr.eval_gen.set_state(state)
    fake = tr.sample(2500)
    real = d.real["points"]
    want = divergences(real.double().numpy(), fake.double().numpy(), tr.data.bounds)
    assert row["js"] == pytest.approx(want["js"]) and row["kl_real_fake"] == pytest.approx(want["kl_real_fake"])
    assert row["kl_fake_real"] == pytest.approx(want["kl_fake_real"])
    from gan_core.metrics import mode_coverage
    assert row["modes_covered"] == mode_coverage(fake, tr.data.modes, tr.data.mode_std)[0]
    assert 0 < row["js"] <= 0.6932  # untrained G: far from the ring
    line = Trainer(preset_config("gauss1d", batch_size=16))  # 1D: 60 cells on the line
    d1 = Diagnostics(line)
    r1 = dict(zip(d1.columns, d1.measure(line)[0]))
    assert set(r1) == {"step", "js", "kl_real_fake", "kl_fake_real"} and 0 < r1["js"] <= 0.6932


def test_kind_for_digits_is_classes(digits_trainer):
    d = Diagnostics(digits_trainer)
    assert d.kind == "classes" and d.n_classes == 10 and d.columns == CLASS_COLUMNS


def test_modes_are_due_every_n_steps_whatever_the_time():
    tr = Trainer(preset_config("ring8", batch_size=16))
    d = Diagnostics(tr)
    assert [s for s in range(0, 501, 50) if d.due(s, 100, now=0.0)] == [0, 100, 200, 300, 400, 500]
    d.measure(tr)
    assert d.due(200, 100, now=0.0)  # no time budget for the cheap 2D measurement


def test_no_measurement_is_ever_due_without_a_kind():
    d = Diagnostics(Trainer(preset_config("gauss1d", batch_size=16)))
    assert [s for s in range(5) if d.due(s, 2, now=1e9)] == [0, 2, 4]  # point data: the divergences
    d.divergence = False  # what `bench` does: nothing left to measure
    assert not d.measures and not any(d.due(s, 1, now=1e9) for s in range(5))


# ---------------------------------------------------------------- the class measurement

def test_class_measurement_on_digits(digits_trainer):
    d = Diagnostics(digits_trainer)
    row = d.measure(digits_trainer)
    assert row.shape == (1, len(CLASS_COLUMNS))
    step, covered, kl, confidence, ratio = row[0]
    assert step == digits_trainer.step_count
    assert covered == int(covered) and 0 <= covered <= 10
    assert kl >= 0 and 0 < confidence <= 1 and ratio > 0
    hist = d.class_hist
    assert hist.shape == (10,) and hist.sum() == CLASS_SAMPLES == 2000
    # the row agrees with the histogram, by hand: covered = classes with >= 10% of their fair share
    # (20 of 2,000 / 10), KL(q || uniform) = sum q log(10 q)
    q = hist / hist.sum()
    assert covered == (hist >= 20).sum()
    assert kl == pytest.approx(float((q[q > 0] * np.log(10 * q[q > 0])).sum()), abs=1e-9)
    assert "spread" in d.real and d.real["spread"] > 0


def test_time_budget_schedule_with_a_fake_clock(digits_trainer, monkeypatch):
    clock = FakeClock(100.0)
    monkeypatch.setattr(diagnostics, "time", SimpleNamespace(perf_counter=clock))
    real_classes = Diagnostics._classes

    def costs_half_a_second(self, tr):
        row = real_classes(self, tr)
        clock.t += 0.5
        return row

    monkeypatch.setattr(Diagnostics, "_classes", costs_half_a_second)
    d = Diagnostics(digits_trainer, budget=0.04)
    assert d.due(1, 100, now=0.0)  # the first measurement is due at once
    d.measure(digits_trainer)  # starts at 100.0, ends at 100.5: next at 100.5 + 0.5 / 0.04 = 113.0
    assert d._next_time == pytest.approx(113.0)
    assert not d.due(2, 100, now=100.5)
    assert not d.due(3, 100, now=112.99)
    assert d.due(4, 100, now=113.0)
    assert d.due(4, 1, now=113.0) and not d.due(4, 1, now=112.0)  # metrics_every plays no part here

    clock.t = 200.0
    d.budget = 0.25
    d.measure(digits_trainer)  # 200.0 -> 200.5: next at 200.5 + 0.5 / 0.25 = 202.5
    assert d._next_time == pytest.approx(202.5)
    assert not d.due(5, 100, now=202.4) and d.due(5, 100, now=202.5)


# ---------------------------------------------------------------- spread

def test_spread_of_identical_points_is_zero():
    x = torch.full((50, 3), 1.7)
    assert spread(x, torch.Generator().manual_seed(0)) == 0.0


def test_spread_of_two_clusters_by_hand():
    # half the points at (0, 0), half at (3, 4): a random pair is split with probability 1/2, at distance 5
    x = torch.cat([torch.zeros(100, 2), torch.tensor([[3.0, 4.0]]).repeat(100, 1)])
    assert spread(x, torch.Generator().manual_seed(0), n_pairs=100_000) == pytest.approx(2.5, abs=0.05)
    images = x.view(200, 1, 1, 2)  # (N, C, H, W) is flattened per row
    assert spread(images, torch.Generator().manual_seed(0), n_pairs=100_000) == pytest.approx(2.5, abs=0.05)


# ---------------------------------------------------------------- live: measurements keep to the budget

def test_live_measurements_keep_to_the_time_budget(monkeypatch):
    records = []  # (start, end, scheduled next) per measurement, as the training thread saw them
    real_measure = Diagnostics.measure

    def spy(self, tr):
        start = time.perf_counter()
        row = real_measure(self, tr)
        records.append((start, time.perf_counter(), self._next_time))
        return row

    monkeypatch.setattr(Diagnostics, "measure", spy)
    run = Run(preset_config("digits", batch_size=16))
    budget = run.diagnostics.budget = 0.5  # more often than the default 4%, to see several in seconds
    run.start()
    wait_until(lambda: len(records) >= 3, timeout=30, what="three live measurements")
    run.stop(timeout=None)
    assert run.evals.n == len(records) >= 3
    steps = run.evals.data[: run.evals.n, 0]
    assert steps[0] == 1 and (np.diff(steps) > 0).all()  # the first right away, then training in between
    for (s0, e0, next0), (s1, _, _) in zip(records, records[1:]):
        cost = e0 - s0
        assert next0 - e0 == pytest.approx(cost / budget, rel=0.05, abs=1e-3)  # waits cost / budget...
        assert s1 >= next0  # ...and the next measurement starts no earlier
    span = records[-1][0] - records[0][0]
    spent = sum(e - s for s, e, _ in records[:-1])
    assert spent <= budget * span * 1.01, (spent, span)
    assert run.diagnostics.class_hist is not None and run.diagnostics.class_hist.sum() == 2000


def test_live_run_without_diagnostics_makes_no_measurement(monkeypatch):
    calls = []
    monkeypatch.setattr(Diagnostics, "due", lambda self, step, every, now: False)
    monkeypatch.setattr(Diagnostics, "measure", lambda self, tr: calls.append(tr.step_count))
    run = Run(preset_config("digits", batch_size=16))
    run.start()
    wait_until(lambda: run.latest()["step"] >= 50, timeout=30, what="50 steps of training")
    run.stop(timeout=None)
    assert calls == [] and run.evals.n == 0 and run.diagnostics.class_hist is None
    assert math.isfinite(run.latest()["d_loss"])
    assert run.snapshot(visual=False)["alerts"] == []
