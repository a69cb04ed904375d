"""Unit tests for gan_core.health on synthetic metric columns, and the alerts of a Run whose generator
has collapsed onto one mode of ring8."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gan_core import health
from gan_core.health import MIN_STEP, assess, d_wins, divergence, low_diversity, mode_collapse
from gan_core.presets import preset_config
from gan_core.run import Run, stop_all
from helpers_ui import force_mode_collapse

NAN = math.nan


@pytest.fixture(autouse=True)
def _no_threads():
    yield
    stop_all(timeout=None)


def kinds(alerts) -> list[str]:
    return [a.kind for a in alerts]


def history(first: int, last: int, acc_real=1.0, acc_fake=1.0, d_loss=0.01, finite=1.0, g_loss=1.0) -> dict:
    """One row per step from ``first`` to ``last`` with constant values."""
    steps = np.arange(first, last + 1, dtype=np.float64)
    n = len(steps)
    return {"step": steps, "d_acc_real": np.full(n, acc_real), "d_acc_fake": np.full(n, acc_fake),
            "d_loss": np.full(n, d_loss), "g_loss": np.full(n, g_loss), "finite": np.full(n, finite)}


def evals(covered, unit="modes_covered", start=MIN_STEP, every=100, ratio=None) -> dict:
    steps = start + every * np.arange(len(covered), dtype=np.float64)
    out = {"step": steps, unit: np.asarray(covered, dtype=np.float64)}
    out["diversity_ratio"] = np.asarray(ratio if ratio is not None else [1.0] * len(covered), dtype=np.float64)
    return out


# ---------------------------------------------------------------- divergence

def test_divergence_from_a_non_finite_last_row():
    h = {"step": [1, 2, 3], "finite": [1.0, 1.0, 0.0], "g_loss": [1.0, 1.0, NAN]}
    alerts = divergence(h)
    assert kinds(alerts) == ["divergence"] and alerts[0].severity == "error"
    assert "NaN" in alerts[0].reason


def test_divergence_from_the_runs_message():
    h = {"step": [1, 2, 3], "finite": [1.0, 1.0, 1.0]}
    msg = "Training diverged at step 3: a loss became NaN or Inf."
    alerts = divergence(h, msg)
    assert kinds(alerts) == ["divergence"] and alerts[0].reason == msg


def test_no_divergence_when_the_last_row_is_finite_despite_a_nan_g_loss():
    # a D-only step computes no G loss: its column is NaN, but finite = 1 says nothing diverged
    h = {"step": [1, 2, 3], "finite": [1.0, 1.0, 1.0], "g_loss": [1.2, 1.1, NAN]}
    assert divergence(h) == []
    assert divergence({"step": [], "finite": []}) == []
    assert divergence(h, "Reached train.max_steps = 3.") == []


# ---------------------------------------------------------------- D wins

def test_d_wins_for_300_steps_of_perfect_accuracy_and_tiny_loss():
    alerts = d_wins(history(101, 400), "logit")
    assert kinds(alerts) == ["d_wins"] and alerts[0].severity == "warning"
    assert "100.0% of real" in alerts[0].reason and "0.010" in alerts[0].reason


def test_d_wins_not_when_the_loss_is_high():
    assert d_wins(history(101, 400, d_loss=0.5), "logit") == []


def test_d_wins_not_when_accuracy_is_only_high():
    assert d_wins(history(101, 400, acc_fake=0.9), "logit") == []


def test_d_wins_not_for_a_short_window():
    assert d_wins(history(351, 400), "logit") == []  # 50 steps < 0.75 x 200


def test_d_wins_not_before_min_step():
    assert d_wins(history(1, MIN_STEP - 1), "logit") == []
    assert d_wins(history(1, MIN_STEP), "logit") != []  # the same rows one step later do count


def test_d_wins_for_score_outputs_on_accuracy_alone():
    alerts = d_wins(history(101, 400, d_loss=-25.0), "score")  # a critic's loss has no "near 0"
    assert kinds(alerts) == ["d_wins"] and "loss averaged" not in alerts[0].reason
    assert d_wins(history(101, 400, d_loss=0.5), "score") != []


def test_d_wins_least_squares_limit():
    assert d_wins(history(101, 400, d_loss=0.01), "ls") != []
    assert d_wins(history(101, 400, d_loss=0.05), "ls") == []  # above the 0.02 limit for "ls"


# ---------------------------------------------------------------- mode collapse and diversity

def test_mode_collapse_when_the_last_3_evaluations_cover_at_most_half():
    alerts = mode_collapse(evals([8, 8, 4, 4, 4]), 8)
    assert kinds(alerts) == ["mode_collapse"]
    assert "Only 4 of 8 modes" in alerts[0].reason and "best so far 8" in alerts[0].reason
    assert kinds(mode_collapse(evals([1, 1, 1]), 8)) == ["mode_collapse"]


def test_mode_collapse_when_coverage_falls_from_its_peak():
    alerts = mode_collapse(evals([6, 8, 5, 5, 5]), 8)  # 5 > 8 // 2, but 8 - 5 >= max(2, 8 // 4)
    assert kinds(alerts) == ["mode_collapse"] and "Only 5 of 8" in alerts[0].reason


@pytest.mark.parametrize("covered", [[8, 8, 7], [8, 8, 7, 7, 7], [8, 4, 4, 8], [4, 4]])
def test_no_mode_collapse_for_small_dips_recoveries_or_too_few_evaluations(covered):
    assert mode_collapse(evals(covered), 8) == []


def test_no_mode_collapse_before_min_step_or_without_modes():
    assert mode_collapse(evals([1, 1, 1], start=0), 8) == []  # last evaluation at step 200
    assert mode_collapse(evals([1, 1, 1]), 1) == []  # one mode cannot collapse
    assert mode_collapse({"step": []}, 8) == []


def test_class_collapse_uses_the_classes_column():
    alerts = mode_collapse(evals([10, 3, 3, 3], unit="classes_covered"), 10, "classes")
    assert kinds(alerts) == ["mode_collapse"] and "3 of 10 classes" in alerts[0].reason
    assert mode_collapse(evals([10, 3, 3, 3], unit="classes_covered"), 10, "modes") == []  # no such column


def test_low_diversity():
    assert kinds(low_diversity(evals([8, 8], ratio=[0.3, 0.2]))) == ["low_diversity"]
    assert "20%" in low_diversity(evals([8, 8], ratio=[0.3, 0.2]))[0].reason
    assert low_diversity(evals([8, 8], ratio=[0.3, 0.9])) == []
    assert low_diversity(evals([8], ratio=[0.1])) == []  # one reading is never enough
    assert low_diversity(evals([8, 8], ratio=[0.3, 0.2], start=0)) == []  # before MIN_STEP


def test_assess_combines_the_rules():
    h = history(101, 400)
    h["finite"][-1] = 0.0
    ev = evals([8, 8, 4, 4, 4], ratio=[1.0, 1.0, 0.6, 0.3, 0.2])
    alerts = assess(h, ev, None, output="logit", n_modes=8)
    assert sorted(kinds(alerts)) == ["d_wins", "divergence", "low_diversity", "mode_collapse"]
    assert all(isinstance(a, health.Alert) for a in alerts)
    # class diagnostics of image runs go through the same rules with their own column
    diag = evals([10, 2, 2, 2], unit="classes_covered", ratio=[1.0, 0.9, 0.9, 0.9])
    alerts = assess(history(101, 400, acc_real=0.7, acc_fake=0.7, d_loss=1.2), None, diag, n_classes=10)
    assert kinds(alerts) == ["mode_collapse"] and "classes" in alerts[0].reason
    assert assess(history(101, 400, acc_real=0.75, acc_fake=0.75, d_loss=1.3), evals([8, 8, 8]), None,
                  n_modes=8) == []


# ---------------------------------------------------------------- a real Run that collapsed

def test_a_run_whose_generator_outputs_one_mode_raises_collapse_and_diversity_alerts():
    run = Run(preset_config("ring8", batch_size=32))
    assert run.alerts() == []
    force_mode_collapse(run, evaluations=3)
    cols = dict(zip(run.evals.names, run.evals.data[: run.evals.n].T))
    assert run.evals.n == 3
    assert cols["step"].tolist() == [MIN_STEP + 100, MIN_STEP + 200, MIN_STEP + 300]
    assert cols["modes_covered"].tolist() == [1.0, 1.0, 1.0]
    assert cols["hq_fraction"].tolist() == [1.0, 1.0, 1.0]  # every sample sits on mode 0
    assert (cols["diversity_ratio"] < 0.05).all()
    alerts = run.alerts()
    assert {"mode_collapse", "low_diversity"} <= set(kinds(alerts))
    assert "Only 1 of 8 modes" in next(a for a in alerts if a.kind == "mode_collapse").reason
    snap = run.snapshot(visual=False)
    assert {"mode_collapse", "low_diversity"} <= set(kinds(snap["alerts"]))
    assert snap["diag_kind"] == "modes" and snap["n_modes"] == 8
