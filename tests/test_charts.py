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


# ---------------------------------------------------------------- the live Vega-Lite charts (ui/live_charts.py)

def test_one_colour_per_quantity_and_one_legend_per_panel():
    from ui import live_charts
    colours = [c for _, _, c, *_ in charts.TRAINING_TRACES]
    assert len(set(colours)) == len(colours)  # "D acc on real" and "D(x) real" were both green
    spec = live_charts.training_spec("logit")
    assert len(spec["vconcat"]) == 3
    assert spec["resolve"]["legend"]["color"] == "independent"
    for panel in spec["vconcat"]:
        line = panel["layer"][-1]
        names = line["encoding"]["color"]["scale"]["domain"]
        assert line["encoding"]["color"]["legend"]["orient"] == "right"  # beside the plot, never over curves
        assert {t[1] for t in charts.TRAINING_TRACES if t[1] in names} == set(names)
    assert "healthy 70–80%" in spec["vconcat"][1]["title"]  # the band's label is the title, not on the plot


def test_the_view_follows_generated_points_and_counts_the_rest():
    from gan_core.viz import view_bounds
    bounds = ((-3.0, 3.0), (-3.0, 3.0))
    inside = np.random.default_rng(0).uniform(-2.5, 2.5, (500, 2))
    assert view_bounds(bounds, inside) == ((-3.0, 3.0), (-3.0, 3.0), 0)
    wide = inside * 2.2  # out to +-5.5: the view widens to +-6 (zoom 2), nothing left outside
    (x0, x1), _, out = view_bounds(bounds, wide)
    assert (x0, x1) == (-6.0, 6.0) and out == 0
    far = np.vstack([inside, [[1e4, 0.0]] * 3])  # three points gone far away: counted, not chased
    (x0, x1), _, out = view_bounds(bounds, far)
    assert (x0, x1) == (-3.0, 3.0) and out == 3


def test_arrowheads_sit_under_the_points_and_marks_are_clipped():
    from ui import live_charts
    rng = np.random.default_rng(1)
    visual = {"kind": "2d", "real": rng.normal(size=(64, 2)), "fake": rng.normal(size=(64, 2)),
              "heat": rng.uniform(size=(48, 48)), "heat_x": np.linspace(-3, 3, 48), "heat_y": np.linspace(-3, 3, 48),
              "arrow_xy": rng.normal(size=(16, 2)), "arrow_uv": rng.normal(size=(16, 2)), "output": "logit",
              "bounds": ((-3, 3), (-3, 3))}
    spec = live_charts.space_spec(visual)
    kinds = [layer["mark"]["type"] for layer in spec["layer"]]
    assert kinds.index("rule") < kinds.index("circle") and kinds.index("point") < kinds.index("circle")
    assert all(layer["mark"].get("clip") for layer in spec["layer"] if layer["mark"]["type"] in ("rule", "circle"))
    heads = [layer for layer in spec["layer"] if layer["mark"].get("shape") == "triangle-up"]
    assert len(heads) == 1
    data = live_charts.space_data(visual)["arrows"]
    d = data[["x2", "y2"]].to_numpy() - data[["x", "y"]].to_numpy()
    # each head points along its arrow (angle clockwise from up)
    np.testing.assert_allclose(data["angle"], np.degrees(np.arctan2(d[:, 0], d[:, 1])) % 360)
