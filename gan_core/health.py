"""Health rules: turn a run's recent metrics into alerts with a reason and a remedy.

Thresholds follow the seed notes (DESIGN.md): a balanced game keeps D's accuracy on real and fake around
70-80%; D winning shows as accuracy near 100% sustained, with D's loss near its floor, G's loss high and
climbing, or G's gradient collapsing; mode collapse as coverage (modes or classes) dropping and
near-identical samples; divergence as NaN/Inf. Each rule looks at a window of recent steps or evaluations
so a single noisy reading never raises an alert.

Remedies know the run's settings when ``config`` (``Config.to_dict()``) is given: they never suggest what
the run already does (no "use non-saturating" on a non-saturating run, no "add a gradient penalty" on
WGAN-GP); without it they are generic.

    alerts = assess(history_columns, evals_columns, diag_columns, output="logit", n_modes=8,
                    config=run.config.to_dict())

The rules are tested on recorded histories of runs that show each failure and of healthy runs that must
stay quiet (tests/data/, made by scripts/record_histories.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .losses import LOSSES, g_non_saturating

D_WINS_WINDOW = 200  # steps D must dominate before we call it
D_WINS_ACC = 0.95  # D's mean accuracy on real AND on fake over the window, plus one sign below
D_WINS_ACC_ALONE = 0.99  # score losses (WGAN, hinge) have no loss floor: accuracy alone, at this level
D_WINS_LOSS = {"logit": 0.1, "ls": 0.02}  # "D loss near its floor": within this of the floor, per output kind
G_LOSS_HIGH = 2.5  # non-saturating G loss -log D(G(z)): D gives fakes ~8%; healthy runs sit at 1-2
G_GRAD_DROP = 10.0  # G's gradient norm this many times below its peak in the rows we see: it vanished
GRAD_CHUNK = 50  # rows per median when tracking G's gradient norm (one noisy step is not a peak)
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


# ---- what the run already does ------------------------------------------------------------------------
class _Settings:
    """The settings remedies depend on; every question answers "unknown" (suggest it) without a config."""

    def __init__(self, config: Optional[dict]):
        self.known = config is not None
        c = config or {}
        loss, train = c.get("loss", {}), c.get("train", {})
        self.loss = loss.get("loss")
        self.spec = LOSSES.get(self.loss) if self.loss else None
        self.smoothing = float(loss.get("label_smoothing", 0.0))
        self.noise = float(loss.get("instance_noise", 0.0))
        self.r1 = float(loss.get("r1_gamma", 0.0))
        self.lr_g, self.lr_d = train.get("lr_g"), train.get("lr_d")
        self.d_steps = int(train.get("d_steps", 1))

    def uses(self, loss: str) -> bool:
        return self.loss == loss

    @property
    def minimax(self) -> bool:
        return not self.known or self.loss == "minimax"

    @property
    def has_penalty(self) -> bool:  # WGAN-GP, DRAGAN or R1 already shape D's gradient
        return self.known and (self.r1 > 0 or bool(self.spec and self.spec.penalty))

    @property
    def can_smooth(self) -> bool:
        return not self.known or (self.smoothing == 0 and (self.spec is None or self.spec.smoothing))

    def lr(self, which: str) -> str:
        """ "D's learning rate (now 0.001, try 0.0005)" or the generic wording."""
        value = self.lr_d if which == "d" else self.lr_g
        name = "D's" if which == "d" else "G's"
        if value is None:
            return f"lower {name} learning rate"
        return f"lower {name} learning rate (now {value:g}, try {value / 2:g})"

    def both_lrs(self) -> str:
        if self.lr_g is None or self.lr_d is None:
            return "lower both learning rates (e.g. halve them)"
        return (f"lower both learning rates (halve them: lr_g {self.lr_g:g} -> {self.lr_g / 2:g}, "
                f"lr_d {self.lr_d:g} -> {self.lr_d / 2:g})")


def _sentence(items: list[str], lead: str = "") -> str:
    items = [i for i in items if i]
    if not items:
        return ""
    text = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    text = lead + text
    return text[0].upper() + text[1:] + "."


def _penalty_advice(s: _Settings, collapse: bool) -> list[str]:
    out = []
    if not s.has_penalty:
        out.append("add an R1 penalty (r1_gamma 0.1–10)" if s.known else "add an R1 penalty")
    elif s.known and s.r1 > 0 and not (s.spec and s.spec.penalty):
        out.append(f"raise R1's gamma (now {s.r1:g})")
    if collapse and not s.uses("wgan_gp"):
        out.append("switch to WGAN-GP (loss wgan_gp)")
    return out


def divergence_remedy(s: _Settings) -> str:
    items = [s.both_lrs()]
    if not s.has_penalty:
        items.append("add R1")
    if s.can_smooth:
        items.append("label smoothing (0.1)" if s.known else "label smoothing")
    bounded = [label for name, label in (("hinge", "hinge"), ("wgan_gp", "WGAN-GP")) if not s.uses(name)]
    items.append("switch to a bounded loss such as " + " or ".join(bounded))
    return _sentence(items, "Roll back to the last good snapshot, then ")[:-1] + "; Reset starts over."


def d_wins_remedy(s: _Settings) -> str:
    items = []
    if s.minimax:
        items.append("use the non-saturating loss instead of minimax")
    if not s.known or s.noise == 0:
        items.append("add instance noise (0.1–0.3)")
    if s.can_smooth:
        items.append("one-sided label smoothing (0.1)")
    items.append(s.lr("d"))
    if s.known and s.d_steps > 1:
        items.append(f"fewer D steps per G step (now {s.d_steps})")
    elif not s.known:
        items.append("fewer D steps per G step")
    items += _penalty_advice(s, collapse=False)
    return _sentence(items)


def collapse_remedy(s: _Settings) -> str:
    items = _penalty_advice(s, collapse=True)
    if not s.known or s.d_steps == 1:
        items.append("train D more (D steps 2–5)")
    elif s.d_steps < 5:
        items.append(f"train D more (D steps now {s.d_steps}, try up to 5)")
    items.append("lower the learning rates" + (f" (now lr_g {s.lr_g:g}, lr_d {s.lr_d:g})"
                                                if s.lr_g is not None and s.lr_d is not None else ""))
    text = _sentence(items)
    if s.minimax:
        text += (" The minimax loss collapses most often" +
                 (": switch to non-saturating." if s.known else "."))
    return text


def diversity_remedy(s: _Settings) -> str:
    items = []
    if not s.has_penalty:
        items.append("an R1 or gradient penalty")
    if not s.known or s.d_steps < 5:
        items.append("more D steps")
    if not s.known or s.noise == 0:
        items.append("instance noise")
    text = ("Minibatch-level remedies help: " + ", ".join(items) + "; or") if items else "Try:"
    lr = "restart with a lower learning rate" if s.lr_g is None else \
        f"restart with a lower learning rate (now lr_g {s.lr_g:g}, lr_d {s.lr_d:g})"
    return f"{text} {lr}."


# ---- rules --------------------------------------------------------------------------------------------
def divergence(history: dict, message: str = "", config: Optional[dict] = None) -> list[Alert]:
    finite = np.asarray(history.get("finite", []))
    bad = (len(finite) and finite[-1] < 1) or "diverged" in message  # NaN in a loss column = not computed
    if not bad:
        return []
    return [Alert("divergence", "error", "Training diverged", message or "A loss became NaN or infinite.",
                  divergence_remedy(_Settings(config)))]


def d_loss_floor(output: str, smoothing: float = 0.0) -> Optional[float]:
    """The least D loss (real + fake term) a perfect D reaches. BCE with one-sided label smoothing s
    trains reals towards 1 - s, whose cross-entropy cannot fall below the binary entropy H(1 - s)
    (0.325 at s = 0.1); least squares reaches its targets (0); score losses have no floor (None)."""
    if output == "ls":
        return 0.0
    if output != "logit":
        return None
    s = min(max(smoothing, 0.0), 1.0)
    return 0.0 if s in (0.0, 1.0) else -(s * math.log(s) + (1 - s) * math.log(1 - s))


def _grad_drop(history: dict) -> tuple[float, float]:
    """(peak, recent) medians of G's gradient norm over chunks of GRAD_CHUNK rows of ``history``."""
    g = np.asarray(history.get("g_grad_norm", []), dtype=np.float64)
    g = g[np.isfinite(g)]  # D-only steps compute no G gradient
    if len(g) < 3 * GRAD_CHUNK:
        return math.nan, math.nan
    n = len(g) // GRAD_CHUNK
    chunks = np.median(g[len(g) - n * GRAD_CHUNK:].reshape(n, GRAD_CHUNK), axis=1)
    return float(chunks.max()), float(np.median(g[-2 * GRAD_CHUNK:]))


def d_wins(history: dict, output: str, config: Optional[dict] = None) -> list[Alert]:
    """D dominates: over the last D_WINS_WINDOW steps its mean accuracy is at least D_WINS_ACC on real and
    on fake, and one more sign says G suffers: D's loss near its floor (d_loss_floor, relative to label
    smoothing), a non-saturating G loss that is high and climbing, or G's gradient norm fallen G_GRAD_DROP
    times below its peak. Score losses (no floor, G's gradient does not saturate) need D_WINS_ACC_ALONE."""
    steps = np.asarray(history.get("step", []), dtype=np.float64)
    if len(steps) == 0 or steps[-1] < MIN_STEP:
        return []
    recent = steps >= steps[-1] - D_WINS_WINDOW
    if steps[recent][-1] - steps[recent][0] < 0.75 * D_WINS_WINDOW:
        return []  # too few recent rows (history is coarse) to say it is sustained
    acc_r = _finite(np.asarray(history["d_acc_real"])[recent])
    acc_f = _finite(np.asarray(history["d_acc_fake"])[recent])
    if not (len(acc_r) and len(acc_f)):
        return []
    acc = min(acc_r.mean(), acc_f.mean())
    if acc < D_WINS_ACC:
        return []
    s = _Settings(config)
    signs = []
    loss = _finite(np.asarray(history["d_loss"])[recent])
    floor = d_loss_floor(output, s.smoothing if s.spec is None or s.spec.smoothing else 0.0)
    limit = D_WINS_LOSS.get(output)
    loss_near_floor = floor is not None and limit is not None and len(loss) and loss.mean() <= floor + limit
    if loss_near_floor:
        signs.append(f" and its loss averaged {loss.mean():.3f}" +
                     (f" (its floor with label smoothing {s.smoothing:g} is {floor:.3f})" if floor > 0 else ""))
    if "g_loss" in history and (s.spec is None or s.spec.g is g_non_saturating) and output == "logit":
        g = np.asarray(history["g_loss"], dtype=np.float64)
        g_recent, g_before = _finite(g[recent]), _finite(g[~recent])
        if (len(g_recent) and len(g_before) > 0.25 * D_WINS_WINDOW and g_recent.mean() >= G_LOSS_HIGH
                and g_recent.mean() > g_before.mean()):
            signs.append(f"; G's loss climbed from {g_before.mean():.2f} to {g_recent.mean():.2f}")
    peak, now = _grad_drop(history)
    if math.isfinite(peak) and peak > 0 and now <= peak / G_GRAD_DROP:
        signs.append(f"; G's gradient norm fell from {peak:.3g} to {now:.3g}")
    if output == "score" and acc >= D_WINS_ACC_ALONE:
        signs.append("")
    if not signs:
        return []
    return [Alert("d_wins", "warning", "The discriminator is winning",
                  f"Over the last {D_WINS_WINDOW} steps D classified {100 * acc_r.mean():.1f}% of real and "
                  f"{100 * acc_f.mean():.1f}% of generated samples correctly{''.join(signs)}: "
                  + ("the generator's gradient vanishes and it stops improving." if s.minimax else
                     "the generator falls ever further behind and stops improving."),
                  d_wins_remedy(s))]


def _sustained_drop(values: np.ndarray, total: int) -> tuple[bool, float, float]:
    """Coverage of the last COLLAPSE_EVALS evaluations is at most half of the total, or fell well below
    its own peak (by a third of the total, at least 2: grid25's early coverage wanders by ~6 of 25 in
    healthy runs); returns (collapsed, latest, peak)."""
    v = _finite(values)
    if len(v) < COLLAPSE_EVALS:
        return False, float("nan"), float("nan")
    last = v[-COLLAPSE_EVALS:]
    peak = v.max()
    low = last.max() <= max(1, total // 2)
    fell = peak - last.max() >= max(2, total // 3)
    return bool(low or fell), float(v[-1]), float(peak)


def mode_collapse(evals: dict, n_modes: int, unit: str = "modes", config: Optional[dict] = None) -> list[Alert]:
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
                  collapse_remedy(_Settings(config)))]


def low_diversity(evals: dict, column: str = "diversity_ratio", config: Optional[dict] = None) -> list[Alert]:
    steps = np.asarray(evals.get("step", []))
    if len(steps) == 0 or steps[-1] < MIN_STEP or column not in evals:
        return []
    ratio = _finite(evals[column])
    if len(ratio) < 2 or ratio[-2:].max() >= LOW_DIVERSITY:
        return []
    return [Alert("low_diversity", "warning", "Generated samples look alike",
                  f"Their spread is {100 * ratio[-1]:.0f}% of the real data's (measured on "
                  "thousands of samples): near-identical samples are the mark of mode collapse.",
                  diversity_remedy(_Settings(config)))]


def assess(history: dict, evals: dict | None = None, diag: dict | None = None, *, output: str = "logit",
           n_modes: int = 0, n_classes: int = 0, message: str = "", config: dict | None = None) -> list[Alert]:
    """All alerts for a run: ``history`` are step columns, ``evals`` 2D mode evaluations, ``diag`` the
    classifier diagnostics of image runs (columns as in gan_core.diagnostics); ``config`` is the run's
    ``Config.to_dict()``, so remedies suggest only what the run does not do yet (generic when None)."""
    alerts = divergence(history, message, config) + d_wins(history, output, config)
    if evals:
        alerts += mode_collapse(evals, n_modes, "modes", config) + low_diversity(evals, config=config)
    if diag:
        alerts += mode_collapse(diag, n_classes, "classes", config) + low_diversity(diag, config=config)
    return alerts
