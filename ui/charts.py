"""Plotly figures built from a Run snapshot (plain dicts of numpy arrays); no Streamlit calls here.

SVG ``go.Scatter`` only (WebGL contexts run out with several tabs, see DESIGN.md); every figure carries a
constant ``uirevision`` so a user's zoom survives the live redraws.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

COLORS = {"d": "#1f77b4", "g": "#d62728", "real": "#2ca02c", "fake": "#9467bd", "band": "rgba(44,160,44,0.12)"}
HEALTHY_ACC = (0.7, 0.8)  # seed notes: D accuracy on real and fake of ~70-80% is a healthy balance


def _clean(a) -> list:
    """JSON-safe list: NaN/Inf become None (gaps in the line)."""
    a = np.asarray(a, dtype=np.float64)
    return [None if not np.isfinite(v) else float(v) for v in a]


def _line(fig, x, y, name, color, dash=None, row=None, col=None, width=2, secondary_y=None):
    trace = go.Scatter(x=_clean(x), y=_clean(y), name=name, mode="lines",
                       line=dict(color=color, dash=dash, width=width))
    kw = {"row": row, "col": col} if row else {}
    if secondary_y is not None:
        kw["secondary_y"] = secondary_y
    fig.add_trace(trace, **kw)


def training_figure(history: dict, output: str = "logit") -> go.Figure:
    """Three stacked panels sharing the step axis: losses, D accuracy (healthy band), mean D outputs."""
    shown = "D(x) (probability)" if output == "logit" else "mean D output"
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=("Losses", "Discriminator accuracy", shown))
    x = history.get("step", np.array([]))
    _line(fig, x, history.get("d_loss", []), "D loss", COLORS["d"], row=1, col=1)
    _line(fig, x, history.get("g_loss", []), "G loss", COLORS["g"], row=1, col=1)
    _line(fig, x, history.get("d_loss_real", []), "D loss (real term)", COLORS["d"], "dot", 1, 1, 1)
    _line(fig, x, history.get("d_loss_fake", []), "D loss (fake term)", COLORS["d"], "dash", 1, 1, 1)
    _line(fig, x, history.get("d_acc_real", []), "D acc on real", COLORS["real"], row=2, col=1)
    _line(fig, x, history.get("d_acc_fake", []), "D acc on fake", COLORS["fake"], row=2, col=1)
    fig.add_hrect(y0=HEALTHY_ACC[0], y1=HEALTHY_ACC[1], fillcolor=COLORS["band"], line_width=0, row=2, col=1,
                  annotation_text="healthy 70-80%", annotation_position="top left")
    _line(fig, x, history.get("d_real_mean", []), "D(x) real", COLORS["real"], row=3, col=1)
    _line(fig, x, history.get("d_fake_mean", []), "D(G(z)) fake", COLORS["fake"], row=3, col=1)
    fig.update_yaxes(range=[-0.02, 1.02], row=2, col=1)
    if output == "logit":
        fig.update_yaxes(range=[-0.02, 1.02], row=3, col=1)
    fig.update_xaxes(title_text="step", row=3, col=1)
    fig.update_layout(height=620, margin=dict(l=10, r=10, t=30, b=10), uirevision="training",
                      legend=dict(orientation="h", yanchor="bottom", y=1.04, x=0), hovermode="x unified")
    return fig


def modes_figure(evals: dict, n_modes: int) -> go.Figure:
    """Modes covered (left axis) and fraction of high-quality samples (right axis) over training."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    x = evals.get("step", [])
    _line(fig, x, evals.get("modes_covered", []), "modes covered", COLORS["d"], secondary_y=False)
    _line(fig, x, evals.get("hq_fraction", []), "high-quality fraction", COLORS["real"], "dot", secondary_y=True)
    fig.update_yaxes(range=[0, n_modes + 0.5], title_text=f"modes (of {n_modes})", secondary_y=False)
    fig.update_yaxes(range=[0, 1.02], title_text="HQ fraction", secondary_y=True)
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=30, b=10), uirevision="modes",
                      title=dict(text="Mode coverage (2,500 samples, 3-sigma rule)", font=dict(size=13)),
                      legend=dict(orientation="h", y=-0.3))
    return fig


def space_figure(visual: dict) -> go.Figure:
    """2D: D's heatmap, real and generated points, gradient arrows. 1D: histograms and D's curve."""
    if visual["kind"] == "1d":
        return _figure_1d(visual)
    prob = visual["output"] == "logit"
    fig = go.Figure()
    fig.add_trace(go.Heatmap(x=_clean(visual["heat_x"]), y=_clean(visual["heat_y"]), z=visual["heat"].tolist(),
                             colorscale="RdBu", zsmooth="best", zmin=0 if prob else None, zmax=1 if prob else None,
                             zmid=None if prob else 0.0, opacity=0.55, showscale=True,
                             colorbar=dict(title="D(x)" if prob else "D score", thickness=12), name="D"))
    real, fake = visual["real"], visual["fake"]
    fig.add_trace(go.Scatter(x=_clean(real[:, 0]), y=_clean(real[:, 1]), mode="markers", name="real",
                             marker=dict(size=4, color=COLORS["real"])))
    fig.add_trace(go.Scatter(x=_clean(fake[:, 0]), y=_clean(fake[:, 1]), mode="markers", name="generated",
                             marker=dict(size=4, color=COLORS["fake"])))
    xy, uv = visual["arrow_xy"], visual["arrow_uv"]
    (x0, x1), _ = visual["bounds"]
    norms = np.linalg.norm(uv, axis=1)
    scale = 0.06 * (x1 - x0) / (np.percentile(norms, 90) + 1e-12) if len(norms) else 0.0
    tips = xy + np.clip(uv * scale, -(x1 - x0) / 8, (x1 - x0) / 8)
    seg_x = np.column_stack([xy[:, 0], tips[:, 0], np.full(len(xy), np.nan)]).ravel()
    seg_y = np.column_stack([xy[:, 1], tips[:, 1], np.full(len(xy), np.nan)]).ravel()
    fig.add_trace(go.Scatter(x=_clean(seg_x), y=_clean(seg_y), mode="lines", name="G gradient",
                             line=dict(color="black", width=1), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=_clean(tips[:, 0]), y=_clean(tips[:, 1]), mode="markers", showlegend=False,
                             marker=dict(size=3, color="black"), hoverinfo="skip"))
    (bx0, bx1), (by0, by1) = visual["bounds"]
    fig.update_xaxes(range=[bx0, bx1], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[by0, by1], showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1)
    fig.update_layout(height=520, margin=dict(l=10, r=10, t=30, b=10), uirevision="space",
                      title=dict(text=f"Data space at step {visual.get('step', 0)}", font=dict(size=13)),
                      legend=dict(orientation="h", y=-0.08))
    return fig


def _figure_1d(visual: dict) -> go.Figure:
    edges = visual["edges"]
    centers = 0.5 * (edges[1:] + edges[:-1])
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=_clean(centers), y=_clean(visual["real_hist"]), name="real",
                         marker_color=COLORS["real"], opacity=0.5), secondary_y=False)
    fig.add_trace(go.Bar(x=_clean(centers), y=_clean(visual["fake_hist"]), name="generated",
                         marker_color=COLORS["fake"], opacity=0.5), secondary_y=False)
    prob = visual["output"] == "logit"
    _line(fig, visual["curve_x"], visual["curve_d"], "D(x)" if prob else "D score", COLORS["d"], secondary_y=True)
    fig.update_layout(barmode="overlay", height=420, margin=dict(l=10, r=10, t=30, b=10), uirevision="space1d",
                      title=dict(text=f"Samples and D at step {visual.get('step', 0)}", font=dict(size=13)),
                      legend=dict(orientation="h", y=-0.15), bargap=0)
    if prob:
        fig.update_yaxes(range=[0, 1.02], secondary_y=True)
    fig.update_yaxes(title_text="density", secondary_y=False)
    return fig


def upscale(grid: np.ndarray, target: int = 480) -> np.ndarray:
    """Nearest-neighbour enlargement so small samples stay crisp in the browser."""
    factor = max(1, target // max(grid.shape[0], grid.shape[1]))
    return np.repeat(np.repeat(grid, factor, axis=0), factor, axis=1)
