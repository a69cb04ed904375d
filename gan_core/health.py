"""Health rules: turn a run's recent metrics into alerts with a reason and a remedy.

Thresholds follow the seed notes (DESIGN.md): a balanced game keeps D's accuracy on real and fake around
70-80%; D winning shows as accuracy ~100% with D's loss near 0, sustained; mode collapse as coverage
(modes or classes) dropping and near-identical samples; divergence as NaN/Inf. Each rule looks at a window
of recent steps or evaluations so a single noisy reading never raises an alert.

    alerts = assess(history_columns, evals_columns, diag_columns, output="logit", n_modes=8)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

D_WINS_WINDOW = 200  # steps D must dominate before we call it
D_WINS_ACC = 0.99
D_WINS_LOSS = {"logit": 0.1, "ls": 0.02}  # "D loss near 0" per output kind (score losses: accuracy only)
MIN_STEP = 300  # no judgement during the first steps, where D winning is normal
COLLAPSE_EVALS = 3  # consecutive evaluations a collapse must persist
LOW_DIVERSITY = 0.5  # generated diversity below half the real data's


@dataclass(frozen=True)
class Alert:
    kind: str  # divergence | d_wins | mode_collapse | low_diversity
    severity: str  # "error" or "warning"
    title: str
    reason: str
    remedy: str


def _finite(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a[np.isfinite(a)]


def divergence(history: dict, message: str = "") -> list[Alert]:
    finite = np.asarray(history.get("finite", []))
    bad = (len(finite) and finite[-1] < 1) or "diverged" in message  # NaN in a loss column = not computed
    if not bad:
        return []
    return [Alert("divergence", "error", "Training diverged",
                  message or "A loss became NaN or infinite.",
                  "Roll back to the last good snapshot, then lower both learning rates (e.g. halve them), add "
                  "R1 or label smoothing, or switch to a bounded loss such as hinge or WGAN-GP; Reset starts "
                  "over.")]


def d_wins(history: dict, output: str) -> list[Alert]:
    steps = np.asarray(history.get("step", []), dtype=np.float64)
    if len(steps) == 0 or steps[-1] < MIN_STEP:
        return []
    recent = steps >= steps[-1] - D_WINS_WINDOW
    if steps[recent][-1] - steps[recent][0] < 0.75 * D_WINS_WINDOW:
        return []  # too few recent rows (history is coarse) to say it is sustained
    acc_r = _finite(np.asarray(history["d_acc_real"])[recent])
    acc_f = _finite(np.asarray(history["d_acc_fake"])[recent])
    loss = _finite(np.asarray(history["d_loss"])[recent])
    if not (len(acc_r) and len(acc_f) and acc_r.mean() >= D_WINS_ACC and acc_f.mean() >= D_WINS_ACC):
        return []
    limit = D_WINS_LOSS.get(output)
    if limit is not None and not (len(loss) and loss.mean() <= limit):
        return []
    loss_note = f" and its loss averaged {loss.mean():.3f}" if limit is not None else ""
    return [Alert("d_wins", "warning", "The discriminator is winning",
                  f"Over the last {D_WINS_WINDOW} steps D classified {100 * acc_r.mean():.1f}% of real and "
                  f"{100 * acc_f.mean():.1f}% of generated samples correctly{loss_note}: the generator's "
                  "gradient vanishes and it stops improving.",
                  "Use the non-saturating loss instead of minimax, add instance noise (0.1–0.3) or one-sided "
                  "label smoothing (0.1), lower D's learning rate or D steps per G step, or add an R1 penalty.")]


def _sustained_drop(values: np.ndarray, total: int) -> tuple[bool, float, float]:
    """Coverage of the last COLLAPSE_EVALS evaluations is at most half of the total, or fell well below
    its own peak; returns (collapsed, latest, peak)."""
    v = _finite(values)
    if len(v) < COLLAPSE_EVALS:
        return False, float("nan"), float("nan")
    last = v[-COLLAPSE_EVALS:]
    peak = v.max()
    low = last.max() <= max(1, total // 2)
    fell = peak - last.max() >= max(2, total // 4)
    return bool(low or fell), float(v[-1]), float(peak)


def mode_collapse(evals: dict, n_modes: int, unit: str = "modes") -> list[Alert]:
    steps = np.asarray(evals.get("step", []))
    column = "modes_covered" if unit == "modes" else "classes_covered"
    if n_modes < 2 or len(steps) == 0 or steps[-1] < MIN_STEP or column not in evals:
        return []
    collapsed, latest, peak = _sustained_drop(np.asarray(evals[column]), n_modes)
    if not collapsed:
        return []
    return [Alert("mode_collapse", "warning", "Mode collapse",
                  f"Only {latest:.0f} of {n_modes} {unit} are covered (best so far {peak:.0f}) over the last "
                  f"{COLLAPSE_EVALS} evaluations: the generator concentrates on a few {unit}.",
                  "Add an R1 or WGAN-GP penalty, train D more (D steps 2–5) or lower the learning rates; the "
                  "minimax loss collapses most often.")]


def low_diversity(evals: dict, column: str = "diversity_ratio") -> list[Alert]:
    steps = np.asarray(evals.get("step", []))
    if len(steps) == 0 or steps[-1] < MIN_STEP or column not in evals:
        return []
    ratio = _finite(evals[column])
    if len(ratio) < 2 or ratio[-2:].max() >= LOW_DIVERSITY:
        return []
    return [Alert("low_diversity", "warning", "Generated samples look alike",
                  f"Their spread is {100 * ratio[-1]:.0f}% of the real data's (measured on "
                  "thousands of samples): near-identical samples are the mark of mode collapse.",
                  "Minibatch-level remedies help: an R1 or gradient penalty, more D steps, instance noise; "
                  "or restart with a lower learning rate.")]


def assess(history: dict, evals: dict | None = None, diag: dict | None = None, *, output: str = "logit",
           n_modes: int = 0, n_classes: int = 0, message: str = "") -> list[Alert]:
    """All alerts for a run: ``history`` are step columns, ``evals`` 2D mode evaluations, ``diag`` the
    classifier diagnostics of image runs (columns as in gan_core.diagnostics)."""
    alerts = divergence(history, message) + d_wins(history, output)
    if evals:
        alerts += mode_collapse(evals, n_modes, "modes") + low_diversity(evals)
    if diag:
        alerts += mode_collapse(diag, n_classes, "classes") + low_diversity(diag)
    return alerts
