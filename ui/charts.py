"""Plotly figures built from a Run snapshot (plain dicts of numpy arrays); no Streamlit calls here.

Live redraws are cheap when a figure is built once and only its data is replaced: ``*_figure`` builds a
template (axes, bands, titles: ~40 ms with subplots) and ``update_*`` swaps the arrays in place (~1 ms).
Arrays stay numpy, so plotly sends them as compact typed arrays; NaN draws as a gap. SVG ``go.Scatter``
only (WebGL contexts run out with several tabs, see DESIGN.md); a constant ``uirevision`` keeps the
user's zoom across redraws.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Tableau 10: one colour per quantity. Real data and D's accuracy on it are green, generated samples and
# D's accuracy on them purple, so the data-space picture and the accuracy panel read alike.
COLORS = {"d": "#1f77b4", "g": "#d62728", "d_real_term": "#17becf", "d_fake_term": "#7f7f7f",
          "real": "#2ca02c", "fake": "#9467bd", "d_x": "#ff7f0e", "d_gz": "#8c564b",
          "band": "rgba(44,160,44,0.14)", "arrow": "rgba(40,40,40,0.75)", "source": "#ff7f0e"}
HEALTHY_ACC = (0.7, 0.8)  # seed notes: D accuracy on real and fake of ~70-80% is a healthy balance
# (history column, legend name, colour, dash, width, subplot row)
TRAINING_TRACES = (
    ("d_loss", "D loss", COLORS["d"], None, 2.5, 1),
    ("g_loss", "G loss", COLORS["g"], None, 2.5, 1),
    ("d_loss_real", "D real term", COLORS["d_real_term"], "dot", 1.5, 1),
    ("d_loss_fake", "D fake term", COLORS["d_fake_term"], "dot", 1.5, 1),
    ("d_acc_real", "on real", COLORS["real"], None, 2.5, 2),
    ("d_acc_fake", "on fake", COLORS["fake"], None, 2.5, 2),
    ("d_real_mean", "D(x) real", COLORS["d_x"], None, 2.5, 3),
    ("d_fake_mean", "D(G(z)) fake", COLORS["d_gz"], None, 2.5, 3),
)
ROW_HEIGHTS = (0.42, 0.31, 0.27)
_EMPTY = np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class Sizes:
    """Figure sizes and text sizes (ui.layout.Look provides them; these defaults are for scripts/tests)."""
    picture_px: int = 470
    charts_px: int = 470
    font_px: int = 13
    title_px: int = 14
    charts_width: int = 450


def _arr(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def _font(sizes) -> dict:
    return dict(size=sizes.font_px)


def training_figure(output: str = "logit", sizes=Sizes()) -> go.Figure:
    """Three stacked panels sharing the step axis: losses, D accuracy (the healthy band), mean D outputs;
    each panel has its own legend, drawn right of its title so no curve runs over it."""
    shown = "D's mean output: probability" if output == "logit" else "D's mean output (raw score)"
    titles = ("Losses", f"D accuracy · band = healthy {int(HEALTHY_ACC[0] * 100)}–{int(HEALTHY_ACC[1] * 100)}%",
              shown)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.085, row_heights=ROW_HEIGHTS,
                        subplot_titles=titles)
    for _, name, color, dash, width, row in TRAINING_TRACES:
        fig.add_trace(go.Scatter(x=_EMPTY, y=_EMPTY, name=name, mode="lines", legend=_legend_id(row),
                                 line=dict(color=color, dash=dash, width=width)), row=row, col=1)
    fig.add_hrect(y0=HEALTHY_ACC[0], y1=HEALTHY_ACC[1], fillcolor=COLORS["band"], line_width=0, row=2, col=1)
    fig.update_yaxes(range=[-0.03, 1.03], tickformat=".0%", row=2, col=1)
    if output == "logit":
        fig.update_yaxes(range=[-0.03, 1.03], row=3, col=1)
    fig.update_xaxes(title_text="step", title_standoff=2, row=3, col=1)
    for ann in fig.layout.annotations:  # subplot titles: left-aligned, legends go to their right
        ann.update(x=0, xanchor="left", font=dict(size=sizes.title_px))
    tops = _row_tops(fig)
    legends = {_legend_id(row): dict(orientation="h", x=1, xanchor="right", y=top, yanchor="bottom",
                                             bgcolor="rgba(0,0,0,0)", font=_font(sizes))
               for row, top in tops.items()}
    fig.update_layout(height=sizes.charts_px, margin=dict(l=6, r=6, t=24, b=6), uirevision="training",
                      hovermode="x unified", font=_font(sizes), **legends)
    return fig


def _legend_id(row: int) -> str:
    return "legend" if row == 1 else f"legend{row}"


def _row_tops(fig: go.Figure) -> dict:
    """The top of each subplot's y domain (paper coordinates), by row."""
    return {1: fig.layout.yaxis.domain[1], 2: fig.layout.yaxis2.domain[1], 3: fig.layout.yaxis3.domain[1]}


def robust_range(columns: list) -> list | None:
    """A y-range that ignores a few huge outliers (the steps before a divergence can reach 1e19 and would
    flatten every other curve); None (autorange) when nothing stands out."""
    values = np.concatenate([np.asarray(c, dtype=np.float64) for c in columns]) if columns else np.zeros(0)
    values = values[np.isfinite(values)]
    if values.size < 20:
        return None
    lo, hi = np.percentile(values, [5, 95])
    span = max(hi - lo, 1e-6)
    inside = (values >= lo - 3 * span) & (values <= hi + 3 * span)
    if inside.all():
        return None
    kept = values[inside]  # every point but the outliers stays in view
    pad = 0.05 * max(kept.max() - kept.min(), 1e-6)
    return [float(kept.min() - pad), float(kept.max() + pad)]


def update_training(fig: go.Figure, history: dict) -> go.Figure:
    x = _arr(history.get("step", _EMPTY))
    with fig.batch_update():
        for trace, (col, *_rest) in zip(fig.data, TRAINING_TRACES):
            trace.x, trace.y = x, _arr(history.get(col, _EMPTY))
        losses = [history[c] for c, *_r, row in TRAINING_TRACES if row == 1 and c in history]
        rng = robust_range(losses)
        fig.layout.yaxis.update(range=rng, autorange=rng is None)
    return fig


def modes_figure(n_modes: int, sizes=Sizes()) -> go.Figure:
    """Modes covered (left axis) and fraction of high-quality samples (right axis) over training."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=_EMPTY, y=_EMPTY, name="modes covered", mode="lines",
                             line=dict(color=COLORS["d"], width=2.5)), secondary_y=False)
    fig.add_trace(go.Scatter(x=_EMPTY, y=_EMPTY, name="high-quality fraction", mode="lines",
                             line=dict(color=COLORS["real"], dash="dot", width=2.5)), secondary_y=True)
    fig.update_yaxes(range=[0, n_modes + 0.5], title_text=f"modes (of {n_modes})", secondary_y=False)
    fig.update_yaxes(range=[0, 1.02], title_text="HQ fraction", secondary_y=True)
    fig.update_layout(height=240, margin=dict(l=6, r=6, t=30, b=6), uirevision="modes", font=_font(sizes),
                      title=dict(text="Mode coverage (2,500 samples, 3-sigma rule)", font=dict(size=sizes.title_px)),
                      legend=dict(orientation="h", x=1, xanchor="right", y=1.02, yanchor="bottom"))
    return fig


def update_modes(fig: go.Figure, evals: dict) -> go.Figure:
    x = _arr(evals.get("step", _EMPTY))
    with fig.batch_update():
        fig.data[0].x, fig.data[0].y = x, _arr(evals.get("modes_covered", _EMPTY))
        fig.data[1].x, fig.data[1].y = x, _arr(evals.get("hq_fraction", _EMPTY))
    return fig


def space_key(visual: dict) -> tuple:
    """Visuals with the same key share one template figure."""
    return visual["kind"], visual["output"], tuple(map(tuple, visual.get("bounds", ())))


HEAT_TITLE = {"logit": "D(x): P(real)", "ls": "D(x): 1 = real", "score": "critic score"}
MAP_NOTE = ("Orange: domain A; purple: where G_AB sends each A point (an arrow from a point to its translation); "
            "green: real domain B. Background: D_B's belief that a point is real B.")
SPACE_NOTE = {
    "logit": "Background: D's belief that a point is real (blue: real, red: fake). Arrows: where G's loss "
             "pushes each generated point.",
    "ls": "Background: D's output, trained towards 1 on real and 0 on generated points. Arrows: where G's loss "
          "pushes each generated point.",
    "score": "Background: the critic's raw score (higher = judged more real; not a probability). Arrows: "
             "where G's loss pushes each generated point.",
}


def space_figure(visual: dict, sizes=Sizes()) -> go.Figure:
    """Template for the data-space picture: 2D heatmap, G's gradient arrows under the real (green) and
    generated (purple) points; or, for 1D data, histograms and D's curve."""
    if visual["kind"] == "1d":
        return _figure_1d(visual, sizes)
    prob = visual["output"] == "logit"
    fig = go.Figure()
    fig.add_trace(go.Heatmap(x=_EMPTY, y=_EMPTY, z=[[0.0]], colorscale="RdBu", zsmooth="best",
                             zmin=0 if prob else None, zmax=1 if prob else None, zmid=None if prob else 0.0,
                             opacity=0.55, showscale=True, name="D", hoverinfo="skip",
                             colorbar=dict(title=dict(text=HEAT_TITLE[visual["output"]], side="right"),
                                           thickness=12, len=0.9)))
    fig.add_trace(go.Scatter(x=_EMPTY, y=_EMPTY, mode="lines+markers", name="G's gradient", hoverinfo="skip",
                             line=dict(color=COLORS["arrow"], width=1.2),
                             marker=dict(symbol="arrow", angleref="previous", size=_EMPTY, color=COLORS["arrow"])))
    fig.add_trace(go.Scatter(x=_EMPTY, y=_EMPTY, mode="markers", name="real", cliponaxis=True,
                             marker=dict(size=5, color=COLORS["real"])))
    fig.add_trace(go.Scatter(x=_EMPTY, y=_EMPTY, mode="markers", name="generated", cliponaxis=True,
                             marker=dict(size=5, color=COLORS["fake"], line=dict(width=0.5, color="white"))))
    (bx0, bx1), (by0, by1) = visual["bounds"]
    fig.update_xaxes(range=[bx0, bx1], showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(range=[by0, by1], showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1,
                     constrain="domain")
    fig.update_layout(height=sizes.picture_px, margin=dict(l=6, r=6, t=30, b=6), uirevision="space",
                      font=_font(sizes), title=dict(text="Data space", font=dict(size=sizes.title_px)),
                      legend=dict(orientation="h", x=0, y=-0.02, yanchor="top"), plot_bgcolor="white")
    return fig


def arrow_segments(xy: np.ndarray, uv: np.ndarray, bounds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line segments (NaN-separated x, y) from each point along its push, scaled to be readable, and the
    marker size of each vertex (0 at the foot, an arrowhead at the tip)."""
    (x0, x1), _ = bounds
    span = x1 - x0
    norms = np.linalg.norm(uv, axis=1)
    scale = 0.06 * span / (np.percentile(norms, 90) + 1e-12) if len(norms) else 0.0
    tips = xy + np.clip(uv * scale, -span / 8, span / 8)
    gap = np.full(len(xy), np.nan)
    seg_x = np.column_stack([xy[:, 0], tips[:, 0], gap]).ravel()
    seg_y = np.column_stack([xy[:, 1], tips[:, 1], gap]).ravel()
    sizes = np.tile(np.array([0.0, 7.0, 0.0], dtype=np.float32), len(xy))
    return seg_x, seg_y, sizes


def outside_note(n: int, total: int) -> str:
    return f" · {n} of {total} generated points outside the view" if n else ""


def update_space(fig: go.Figure, visual: dict) -> go.Figure:
    if visual["kind"] == "1d":
        return _update_1d(fig, visual)
    real, fake = visual["real"], visual["fake"]
    seg_x, seg_y, heads = arrow_segments(visual["arrow_xy"], visual["arrow_uv"], visual["bounds"])
    with fig.batch_update():
        heat = fig.data[0]
        heat.x, heat.y, heat.z = _arr(visual["heat_x"]), _arr(visual["heat_y"]), _arr(visual["heat"])
        fig.data[1].x, fig.data[1].y = _arr(seg_x), _arr(seg_y)
        fig.data[1].marker.size = heads
        fig.data[2].x, fig.data[2].y = _arr(real[:, 0]), _arr(real[:, 1])
        fig.data[3].x, fig.data[3].y = _arr(fake[:, 0]), _arr(fake[:, 1])
        fig.layout.title.text = (f"Data space at step {visual.get('step', 0):,}"
                                 + outside_note(visual.get("outside", 0), len(fake)))
    return fig


def _figure_1d(visual: dict, sizes=Sizes()) -> go.Figure:
    prob = visual["output"] == "logit"
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=_EMPTY, y=_EMPTY, name="real", marker_color=COLORS["real"], opacity=0.5),
                  secondary_y=False)
    fig.add_trace(go.Bar(x=_EMPTY, y=_EMPTY, name="generated", marker_color=COLORS["fake"], opacity=0.5),
                  secondary_y=False)
    fig.add_trace(go.Scatter(x=_EMPTY, y=_EMPTY, name="D(x)" if prob else "D score", mode="lines",
                             line=dict(color=COLORS["d"], width=2.5)), secondary_y=True)
    fig.update_layout(barmode="overlay", height=sizes.picture_px, margin=dict(l=6, r=6, t=30, b=6),
                      uirevision="space1d", font=_font(sizes),
                      title=dict(text="Samples and D", font=dict(size=sizes.title_px)),
                      legend=dict(orientation="h", x=0, y=-0.08, yanchor="top"), bargap=0)
    if prob:
        fig.update_yaxes(range=[0, 1.02], secondary_y=True)
    fig.update_yaxes(title_text="density", secondary_y=False)
    return fig


def _update_1d(fig: go.Figure, visual: dict) -> go.Figure:
    edges = visual["edges"]
    centers = _arr(0.5 * (edges[1:] + edges[:-1]))
    with fig.batch_update():
        fig.data[0].x, fig.data[0].y = centers, _arr(visual["real_hist"])
        fig.data[1].x, fig.data[1].y = centers, _arr(visual["fake_hist"])
        fig.data[2].x, fig.data[2].y = _arr(visual["curve_x"]), _arr(visual["curve_d"])
        fig.layout.title.text = (f"Samples and D at step {visual.get('step', 0):,}"
                                 + outside_note(visual.get("outside", 0), visual.get("n", 0)))
    return fig


def upscale(grid: np.ndarray, target: int = 480) -> np.ndarray:
    """Nearest-neighbour enlargement so small samples stay crisp in the browser."""
    factor = max(1, target // max(grid.shape[0], grid.shape[1]))
    return np.repeat(np.repeat(grid, factor, axis=0), factor, axis=1)
