"""The training chart keeps readable axes: a few huge losses before a divergence do not flatten the rest."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ui import charts  # noqa: E402


def history(d_loss):
    n = len(d_loss)
    h = {c: np.full(n, 0.5, dtype=np.float32) for c, *_ in charts.TRAINING_TRACES}
    h["step"] = np.arange(n, dtype=np.float32)
    h["d_loss"] = np.asarray(d_loss, dtype=np.float32)
    return h


def test_normal_losses_autorange():
    fig = charts.update_training(charts.training_figure("logit"), history(1.2 + 0.1 * np.sin(np.arange(300))))
    assert fig.layout.yaxis.autorange is True and fig.layout.yaxis.range is None


def test_a_divergence_spike_is_kept_off_the_axis():
    d = np.full(300, 1.3)
    d[-3:] = [1e6, 2e19, np.nan]
    fig = charts.update_training(charts.training_figure("logit"), history(d))
    lo, hi = fig.layout.yaxis.range
    assert fig.layout.yaxis.autorange is False and hi < 10 and lo > -10
    assert np.isnan(np.asarray(fig.data[0].y)[-1])  # the data itself is not altered
    again = charts.update_training(fig, history(np.full(300, 1.3)))  # after a roll back: autorange again
    assert again.layout.yaxis.autorange is True


def test_robust_range_needs_enough_points():
    assert charts.robust_range([np.array([1.0, 1e9])]) is None
    assert charts.robust_range([]) is None
