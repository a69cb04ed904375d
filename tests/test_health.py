"""Unit tests for gan_core.health on synthetic metric columns, on recorded histories of real runs that show
each failure or are healthy (tests/data/, made by scripts/record_histories.py), remedies that know the
run's settings, and the alerts of a Run whose generator has collapsed onto one mode of ring8."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gan_core import health
from gan_core.health import MIN_STEP, assess, d_loss_floor, d_wins, divergence, low_diversity, mode_collapse
from gan_core.presets import preset_config
from gan_core.run import HEALTH_ROWS, Run, stop_all
from helpers_ui import force_mode_collapse

NAN = math.nan


@pytest.fixture(autouse=True)
def _no_threads():
    yield
    stop_all(timeout=None)


def kinds(alerts) -> list[str]:
    return [a.kind for a in alerts]


def history(first: int, last: int, acc_real=1.0, acc_fake=1.0, d_loss=0.01, finite=1.0, g_loss=1.0,
            g_grad_norm=None) -> dict:
    """One row per step from ``first`` to ``last`` with constant values (g_grad_norm: optional column)."""
    steps = np.arange(first, last + 1, dtype=np.float64)
    n = len(steps)
    out = {"step": steps, "d_acc_real": np.full(n, acc_real), "d_acc_fake": np.full(n, acc_fake),
           "d_loss": np.full(n, d_loss), "g_loss": np.full(n, g_loss), "finite": np.full(n, finite)}
    if g_grad_norm is not None:
        out["g_grad_norm"] = np.broadcast_to(np.asarray(g_grad_norm, dtype=np.float64), (n,)).copy()
    return out


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


# ---------------------------------------------------------------- D wins: the signs beyond accuracy

def test_d_loss_floor_with_label_smoothing():
    assert d_loss_floor("logit", 0.0) == 0.0
    assert d_loss_floor("logit", 0.1) == pytest.approx(0.325, abs=1e-3)  # H(0.9)
    assert d_loss_floor("ls", 0.1) == 0.0 and d_loss_floor("score", 0.1) is None


def smoothed(label_smoothing=0.1, loss="minimax") -> dict:
    return preset_config("ring8", loss=loss, label_smoothing=label_smoothing).to_dict()


def test_d_wins_at_the_label_smoothing_floor():
    h = history(101, 400, d_loss=0.33)  # BCE with s = 0.1 cannot go below 0.325
    assert d_wins(h, "logit") == []  # without the settings 0.33 is not "near 0"
    alerts = d_wins(h, "logit", config=smoothed(0.1))
    assert kinds(alerts) == ["d_wins"] and "floor" in alerts[0].reason and "0.325" in alerts[0].reason
    assert d_wins(history(101, 400, d_loss=0.6), "logit", config=smoothed(0.1)) == []  # far above the floor


def test_d_wins_from_a_collapsing_g_gradient():
    grad = np.r_[np.full(200, 2.0), np.full(100, 0.05)]  # 40x below its peak
    assert kinds(d_wins(history(101, 400, acc_real=0.97, acc_fake=0.97, d_loss=0.4, g_grad_norm=grad),
                        "logit")) == ["d_wins"]
    assert d_wins(history(101, 400, acc_real=0.97, acc_fake=0.97, d_loss=0.4, g_grad_norm=1.0), "logit") == []
    # a collapsing gradient without a dominant D is something else (e.g. a learning-rate decay)
    assert d_wins(history(101, 400, acc_real=0.8, acc_fake=0.8, d_loss=0.4, g_grad_norm=grad), "logit") == []


def test_d_wins_from_a_high_and_climbing_g_loss():
    h = history(1, 600, acc_real=0.96, acc_fake=0.97, d_loss=0.3)
    h["g_loss"] = np.linspace(2.0, 3.2, 600)
    alerts = d_wins(h, "logit", config=smoothed(0.0, "non_saturating"))
    assert kinds(alerts) == ["d_wins"] and "G's loss climbed" in alerts[0].reason
    h["g_loss"] = np.linspace(3.2, 2.6, 600)  # high but falling: G is catching up
    assert d_wins(h, "logit", config=smoothed(0.0, "non_saturating")) == []
    h["g_loss"] = np.linspace(1.0, 1.6, 600)  # climbing but in the healthy range
    assert d_wins(h, "logit", config=smoothed(0.0, "non_saturating")) == []


# ---------------------------------------------------------------- remedies know the settings

CONFIGS = {
    "minimax": preset_config("ring8", loss="minimax").to_dict(),
    "non_saturating": preset_config("ring8", loss="non_saturating").to_dict(),
    "wgan_gp": preset_config("ring8", loss="wgan_gp").to_dict(),
    "hinge": preset_config("ring8", loss="hinge").to_dict(),
    "everything": preset_config("ring8", loss="non_saturating", label_smoothing=0.1, instance_noise=0.2,
                                r1_gamma=1.0, d_steps=3).to_dict(),
}


def every_alert(config) -> list:
    h = history(101, 400)
    h["finite"][-1] = 0.0
    return assess(h, evals([8, 8, 1, 1, 1], ratio=[1, 1, 0.1, 0.1, 0.1]), None, output="logit", n_modes=8,
                  config=config)


def test_every_rule_fires_with_and_without_a_config():
    for config in [None, *CONFIGS.values()]:
        assert sorted(kinds(every_alert(config))) == ["d_wins", "divergence", "low_diversity", "mode_collapse"]


def test_generic_remedies_without_a_config():
    remedies = {a.kind: a.remedy for a in every_alert(None)}
    assert "non-saturating" in remedies["d_wins"] and "instance noise" in remedies["d_wins"]
    assert "R1" in remedies["mode_collapse"] and "WGAN-GP" in remedies["mode_collapse"]
    assert "Roll back" in remedies["divergence"] and "learning rate" in remedies["divergence"]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_remedies_never_suggest_what_the_run_already_does(name):
    config = CONFIGS[name]
    text = " ".join(a.remedy for a in every_alert(config))
    lc, tc = config["loss"], config["train"]
    if lc["loss"] != "minimax":
        assert "non-saturating" not in text
    if lc["loss"] == "wgan_gp":
        assert "WGAN-GP" not in text and "gradient penalty" not in text and "R1" not in text
    if lc["loss"] in ("wgan_gp", "hinge") or lc["label_smoothing"] > 0:
        assert "label smoothing" not in text  # not applicable, or already on
    if lc["instance_noise"] > 0:
        assert "instance noise" not in text
    if lc["r1_gamma"] > 0:
        assert "add an R1" not in text.lower() and "raise R1's gamma (now 1)" in text
    if tc["d_steps"] > 1:
        assert "D steps 2–5" not in text and f"now {tc['d_steps']}" in text
    assert f"now {tc['lr_d']:g}" in text  # concrete numbers to change


# ---------------------------------------------------------------- recorded runs (scripts/record_histories.py)

DATA = Path(__file__).parent / "data"
HEALTHY = ("ring8_healthy", "digits_healthy", "grid25_healthy")


def recorded(case: str):
    """(history, evals, config, meta) of tests/data/history_<case>.npz; history has one row per step."""
    with np.load(DATA / f"history_{case}.npz", allow_pickle=False) as f:
        hist = {k[2:]: f[k].astype(np.float64) for k in f.files if k.startswith("h_")}
        ev = {k[2:]: f[k].astype(np.float64) for k in f.files if k.startswith("e_")}
        config, meta = json.loads(str(f["config"])), json.loads(str(f["meta"]))
    hist["step"] = np.arange(1, len(hist["d_loss"]) + 1, dtype=np.float64)
    return hist, ev, config, meta


def alerts_at(case: str, step: int, with_config: bool = True) -> list:
    """What Run.alerts says at ``step`` of the recorded run: the newest HEALTH_ROWS rows, evaluations so far."""
    hist, ev, config, meta = recorded(case)
    rows = slice(max(0, step - HEALTH_ROWS), step)
    ev = {k: v[ev["step"] <= step] for k, v in ev.items()} if ev else None
    return assess({k: v[rows] for k, v in hist.items()}, ev if meta["diag_kind"] == "modes" else None,
                  ev if meta["diag_kind"] == "classes" else None, output=meta["output"], n_modes=meta["n_modes"],
                  n_classes=meta["n_classes"], config=config if with_config else None)


def fired(case: str, every: int = 100) -> dict:
    """{alert kind: steps (every ``every``) at which it fired} over the whole recorded run."""
    out: dict = {}
    for step in range(every, recorded(case)[3]["steps"] + 1, every):
        for a in alerts_at(case, step):
            out.setdefault(a.kind, []).append(step)
    return out


def test_recordings_are_small_and_describe_themselves():
    files = sorted(DATA.glob("history_*.npz"))
    assert {f.stem[len("history_"):] for f in files} >= set(HEALTHY) | {"dwins_minimax", "dwins_smoothing",
                                                                      "digits_conditional_dominant"}
    assert sum(f.stat().st_size for f in files) < 400_000
    for f in files:
        hist, _, config, meta = recorded(f.stem[len("history_"):])
        assert len(hist["step"]) == meta["steps"] and meta["about"] and config["train"]["seed"] == meta["seed"]


@pytest.mark.parametrize("case", HEALTHY)
def test_healthy_runs_stay_quiet_all_the_way(case):
    assert fired(case) == {}


def test_recorded_d_wins_minimax():
    hist, _, config, meta = recorded("dwins_minimax")
    assert fired("dwins_minimax")["d_wins"][0] <= 400
    alert = next(a for a in alerts_at("dwins_minimax", meta["steps"]) if a.kind == "d_wins")
    assert "100.0% of real" in alert.reason and "non-saturating loss instead of minimax" in alert.remedy


def test_recorded_d_wins_with_label_smoothing_fires_at_the_loss_floor():
    hist, _, config, meta = recorded("dwins_smoothing")
    assert config["loss"]["label_smoothing"] == 0.1
    assert hist["d_loss"][-200:].mean() > 0.3  # the old fixed "D loss <= 0.1" could never fire here
    alert = next(a for a in alerts_at("dwins_smoothing", meta["steps"]) if a.kind == "d_wins")
    assert "floor with label smoothing 0.1 is 0.325" in alert.reason
    assert "label smoothing" not in alert.remedy  # it is on already


def test_recorded_conditional_digits_with_a_dominant_d():
    hist, _, config, meta = recorded("digits_conditional_dominant")
    assert config["model"]["conditional"] and config["loss"]["loss"] == "non_saturating"
    last = slice(-200, None)
    assert min(hist["d_acc_real"][last].mean(), hist["d_acc_fake"][last].mean()) >= 0.95
    assert hist["g_loss"][last].mean() > 3.0 > hist["g_loss"][800:1000].mean()  # climbing since D got stronger
    steps = fired("digits_conditional_dominant")["d_wins"]
    assert steps[0] > 1000 and steps[-1] == meta["steps"]  # quiet while balanced, then it fires and stays
    alert = next(a for a in alerts_at("digits_conditional_dominant", meta["steps"]) if a.kind == "d_wins")
    assert "G's loss climbed" in alert.reason
    assert "non-saturating" not in alert.remedy and "fewer D steps per G step (now 5)" in alert.remedy


def test_recorded_mode_hopping_raises_mode_collapse():
    alerts = alerts_at("ring8_collapse", 3000)
    alert = next(a for a in alerts if a.kind == "mode_collapse")
    assert "switch to non-saturating" in alert.remedy and "d_wins" not in kinds(alerts)


def test_recorded_wgan_gp_collapse_remedies_add_no_gradient_penalty():
    _, _, config, meta = recorded("wgan_gp_collapse")
    assert config["loss"]["loss"] == "wgan_gp"
    alerts = alerts_at("wgan_gp_collapse", meta["steps"])
    assert {"mode_collapse", "low_diversity"} <= set(kinds(alerts))
    text = " ".join(a.remedy for a in alerts)
    assert "WGAN-GP" not in text and "penalty" not in text and "non-saturating" not in text
    assert "D steps" in text

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
