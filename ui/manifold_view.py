"""The live manifold panel (Manifold page): where the attached run's generator sends a regular grid of the
latent plane (a warped mesh over D's heatmap, 2D data) or a row of latent points (1D data), and the
Jensen-Shannon and KL divergences between real and generated points as curves over the training steps.

Every measurement uses the run's frozen generator copy (``run.generator_view()``) and D's heatmap from the
picture the run already publishes (``run.snapshot()["visual"]``): nothing here touches a model that trains.
What a run has measured lives in ``_STATE`` (run id -> real points, divergence curve, last result), so the
curve survives leaving the page and coming back, and several tabs on one run share one measurement per step.
"""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.colors import sample_colorscale
from plotly.subplots import make_subplots

from gan_core import manifold
from gan_core.divergence import BINS, BINS_1D, divergences
from gan_core.latent import GeneratorView
from ui.charts import COLORS
from ui.layout import look
from ui.live_charts import HEAT_LABEL, heat_range

SAMPLES = 4096  # generated and real points the divergences are estimated from (fixed noise: same z each time)
SHOWN = 600  # of those, the points drawn
LINES_1D = 41
Z_RANGE = (-3.0, 3.0)  # the latent panel's fixed axes
LINE_SCALE = "Turbo"  # colours of the lines of constant z1 (blue = -2.5 ... red = +2.5)
MAX_CURVE = 1000  # points kept per curve (every other one is dropped beyond that)
KEEP_RUNS = 8

_STATE: dict = {}  # run id -> {"real", "floor", "curve", "last", "plane"}
_LOCK = threading.Lock()


def supported(view) -> bool:
    """Toy data (1D or 2D points) and a noise input: the only runs this view draws."""
    return (not view.is_image and not view.translates and view.z_dim >= 1 and len(view.data_shape) == 1
            and view.data_shape[0] in (1, 2))  # a translating G (CycleGAN) takes points, not noise


def _state(run) -> dict:
    with _LOCK:
        if run.id not in _STATE:
            while len(_STATE) >= KEEP_RUNS:
                _STATE.pop(next(iter(_STATE)))
            _STATE[run.id] = {"curve": {"step": [], "js": [], "kl_real_fake": [], "kl_fake_real": []},
                              "last": None, "plane": None, "real": None, "floor": None}
        return _STATE[run.id]


def _real(run, state: dict, bounds, bins: int) -> np.ndarray:
    """The run's real points, drawn once with a seeded generator on the CPU (toy samplers are pure functions
    of (n, generator, device): no training state is touched, so this is safe while the run trains), and the
    real-vs-real floor of the JS estimate at the same count."""
    if state["real"] is None:
        data = run.trainer.data
        a, _ = data.sample(SAMPLES, torch.Generator().manual_seed(11), torch.device("cpu"))
        b, _ = data.sample(SAMPLES, torch.Generator().manual_seed(12), torch.device("cpu"))
        state["floor"] = divergences(a.numpy(), b.numpy(), bounds, bins)["js"]
        state["real"] = a.double().numpy()
    return state["real"]


def _generators(view):
    """G for the mesh (class / code 0 where G takes one) and for the samples (classes in turn)."""
    if not view.num_classes:
        return view.generate, view.generate
    one = lambda z: view.generate(z, torch.zeros(len(z), dtype=torch.long))  # noqa: E731
    cycle = lambda z: view.generate(z, torch.arange(len(z)) % view.num_classes)  # noqa: E731
    return one, cycle


def _add_point(curve: dict, step: int, r: dict) -> None:
    steps = curve["step"]
    if steps and step < steps[-1]:  # rolled back: the curve goes on from the restored step
        keep = sum(1 for s in steps if s < step)
        for k in curve:
            del curve[k][keep:]
    if steps and steps[-1] == step:
        return
    for k in ("js", "kl_real_fake", "kl_fake_real"):
        curve[k].append(r[k])
    steps.append(step)
    if len(steps) > MAX_CURVE:
        for k in curve:
            curve[k][:] = curve[k][::2]


def _fresh_view(run, view):
    """A copy of G at the run's current step. ``run.generator_view()`` is refreshed between training steps
    at most every 0.5 s, so a run that has just paused can hand out a copy a few steps old; this page then
    makes its own (between two steps, or now when no thread runs) so the picture matches the status line."""
    try:
        if run._thread is not None and run._thread.is_alive():
            return run.call_in_loop(lambda tr: GeneratorView.of(tr, time.perf_counter()), timeout=10.0)
        with run._lock:
            return GeneratorView.of(run.trainer, time.perf_counter())
    except (RuntimeError, TimeoutError):
        return view


def measure(run) -> dict:
    """The picture's data and the divergences for the run's current generator copy; measured once per step
    (another tab, or a refresh while paused, reuses it) and added to the run's curve."""
    view = run.generator_view()
    state = _state(run)
    last = state["last"]
    if last is not None and last["step"] == view.step:
        return last
    if run.state != "running" and view.step != run.step:
        if last is not None and last["step"] == run.step:
            return last
        view = _fresh_view(run, view)
    bounds = run.trainer.data.bounds
    dim = view.data_shape[0]
    div_bounds = bounds[:dim]
    bins = BINS if dim == 2 else BINS_1D
    real = _real(run, state, div_bounds, bins)
    g_mesh, g_samples = _generators(view)
    z = torch.randn(SAMPLES, view.z_dim, generator=torch.Generator().manual_seed(0)).double().numpy()
    if dim == 2:
        labels = torch.zeros(2048, dtype=torch.long) if view.num_classes else None
        plane = manifold.latent_plane(view, labels, previous=state["plane"])
        state["plane"] = plane
        m = manifold.manifold_2d(g_mesh, plane, z[:SHOWN])
        fake = np.concatenate([m["fake"], manifold.generate_batched(g_samples, z[SHOWN:])]) if not view.num_classes \
            else manifold.generate_batched(g_samples, z)
        r = {"kind": "2d", "plane": plane, **m}
    else:
        direction = None
        if view.z_dim > 1:
            direction = manifold.principal_plane(view.G, view.z_dim, device=view.device).basis[0]
        r = {"kind": "1d", **manifold.lines_1d(g_mesh, view.z_dim, LINES_1D, direction)}
        fake = manifold.generate_batched(g_samples, z)
    r.update(divergences(real, fake, div_bounds, bins))
    r.update(step=view.step, real=real[:SHOWN] if dim == 2 else real, fake_all=fake, bounds=bounds,
             floor=state["floor"], z_dim=view.z_dim, num_classes=view.num_classes)
    with _LOCK:
        _add_point(state["curve"], view.step, r)
        r["curve"] = {k: list(v) for k, v in state["curve"].items()}
        state["last"] = r
    return r


def curve_of(run_id: str) -> dict:
    """The divergence curve measured so far for a run (empty lists when none)."""
    with _LOCK:
        state = _STATE.get(run_id)
        return {k: list(v) for k, v in state["curve"].items()} if state else {"step": [], "js": []}


# ---------------------------------------------------------------- figures

def _f32(a) -> np.ndarray:
    """Plotly sends float32 arrays as half the bytes of float64 (the whole figure is resent at each refresh)."""
    return np.asarray(a, dtype=np.float32)


def _axis_fonts(fig, lk) -> None:
    """Tick and axis-title sizes set on the axes themselves (Streamlit's Plotly theme sets its own, smaller)."""
    fig.update_xaxes(tickfont_size=lk.font_px, title_font_size=lk.font_px + 1)
    fig.update_yaxes(tickfont_size=lk.font_px, title_font_size=lk.font_px + 1)


def _line_colours(n: int) -> list:
    return sample_colorscale(LINE_SCALE, list(np.linspace(0.05, 0.95, n)))


def _gridlines(fig, lines: np.ndarray, col: int, tag: str, width: float) -> None:
    """Both families of grid lines (in the plane or mapped by G) into subplot ``col``: lines of constant z1
    coloured by z1, one trace each; lines of constant z2 grey in one trace, the z2 = 0 line dark."""
    if lines.shape[0] == 1:  # a 1D latent: one line, its points coloured by z1
        t = np.linspace(-manifold.GRID_SPAN, manifold.GRID_SPAN, lines.shape[2])
        fig.add_trace(go.Scatter(x=lines[0, 0, :, 0], y=lines[0, 0, :, 1], mode="lines+markers", name=f"{tag} z1",
                                 line=dict(color="#555555", width=width),
                                 marker=dict(size=5, color=t, colorscale=LINE_SCALE), showlegend=False,
                                 hoverinfo="skip"), row=1, col=col)
        return
    n = lines.shape[1]
    mid = n // 2
    rest = np.delete(lines[1], mid, 0)  # (n - 1, P, 2): joined into one trace, NaN between lines (a gap)
    gaps = np.concatenate([rest, np.full((n - 1, 1, 2), np.nan)], 1).reshape(-1, 2)
    xs, ys = _f32(gaps[:, 0]), _f32(gaps[:, 1])
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{tag} z2", line=dict(color="rgba(90,90,90,0.55)",
                             width=width * 0.7), showlegend=False, hoverinfo="skip"), row=1, col=col)
    c = np.linspace(-manifold.GRID_SPAN, manifold.GRID_SPAN, n)
    for i, colour in enumerate(_line_colours(n)):
        fig.add_trace(go.Scatter(x=_f32(lines[0, i, :, 0]), y=_f32(lines[0, i, :, 1]), mode="lines",
                                 name=f"{tag} z1={c[i]:+.2f}",
                                 line=dict(color=colour, width=width), showlegend=False,
                                 hovertemplate=f"z1 = {c[i]:+.2f}<extra></extra>"), row=1, col=col)
    fig.add_trace(go.Scatter(x=_f32(lines[1, mid, :, 0]), y=_f32(lines[1, mid, :, 1]), mode="lines", name=f"{tag} z2=0",
                             line=dict(color="black", width=width * 1.6, dash="dot"), showlegend=False,
                             hovertemplate="z2 = 0<extra></extra>"), row=1, col=col)


def manifold_figure(r: dict, visual: dict | None = None) -> go.Figure:
    """Latent panel (grid and noise samples) beside the data panel (D's heatmap, real and generated points,
    the grid's image under G)."""
    lk = look()
    principal = r["plane"].kind == "principal"
    left = "Latent plane: top-2 principal directions" if principal else "Latent space z"
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.07,
                        subplot_titles=(left, "Data space: G(grid) over D"))
    zp = r["z_plane"]
    fig.add_trace(go.Scatter(x=_f32(zp[:, 0]), y=_f32(zp[:, 1]), mode="markers", name="noise z",
                             marker=dict(size=3, color="rgba(60,60,60,0.35)"), hoverinfo="skip"), row=1, col=1)
    _gridlines(fig, r["grid"] if r["k"] == 1 else r["grid"][:, :, [0, -1]], 1, "grid", 1.6)  # straight: 2 points
    (x0, x1), (y0, y1) = manifold.view_range(r["bounds"], r["fake"])
    if visual is not None and visual.get("kind") == "2d":
        lo, hi = heat_range(visual)
        fig.add_trace(go.Heatmap(x=visual["heat_x"], y=visual["heat_y"], z=visual["heat"], zmin=lo, zmax=hi,
                                 colorscale="RdBu", opacity=0.45, showscale=False, name="D",
                                 hovertemplate=HEAT_LABEL[visual["output"]] + " %{z:.2f}<extra></extra>"),
                      row=1, col=2)
    real = r["real"]
    fig.add_trace(go.Scatter(x=_f32(real[:, 0]), y=_f32(real[:, 1]), mode="markers", name="real",
                             marker=dict(size=5, color=COLORS["real"]), hoverinfo="skip"), row=1, col=2)
    fig.add_trace(go.Scatter(x=_f32(r["fake"][:, 0]), y=_f32(r["fake"][:, 1]), mode="markers", name="generated",
                             marker=dict(size=4, color=COLORS["fake"], opacity=0.8), hoverinfo="skip"), row=1, col=2)
    _gridlines(fig, r["mesh"], 2, "mesh", 1.8)
    fig.update_xaxes(range=list(Z_RANGE), title="u (1st direction)" if principal else "z1", row=1, col=1)
    fig.update_yaxes(range=list(Z_RANGE), title="v (2nd direction)" if principal else "z2", scaleanchor="x",
                     row=1, col=1)
    fig.update_xaxes(range=[x0, x1], title="x1", row=1, col=2)
    fig.update_yaxes(range=[y0, y1], title="x2", scaleanchor="x2", row=1, col=2)
    fig.update_xaxes(constrain="domain", showgrid=False, zeroline=False)
    fig.update_yaxes(constrain="domain", showgrid=False, zeroline=False)
    fig.update_annotations(font_size=lk.title_px + 2)
    _axis_fonts(fig, lk)
    fig.update_layout(height=lk.picture_px - 25, margin=dict(l=10, r=10, t=32, b=10), font_size=lk.font_px + 1,
                      legend=dict(orientation="h", x=0.5, xanchor="center", y=-0.1, font_size=lk.font_px + 1,
                                  itemsizing="constant"),
                      plot_bgcolor="white", uirevision="manifold")
    return fig


def figure_1d(r: dict, visual: dict | None = None) -> go.Figure:
    """1D data: real and generated densities (and D) above; below, each latent quantile z joined to G(z)."""
    lk = look()
    lo, hi = r["bounds"][0]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.5, 0.5], vertical_spacing=0.06,
                        subplot_titles=("Densities (and D's output)", "Each z joined to G(z)"))
    edges = np.linspace(lo, hi, BINS_1D + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    width = edges[1] - edges[0]
    peak = 1.0
    for name, pts, colour in (("real", r["real"], COLORS["real"]), ("generated", r["fake_all"], COLORS["fake"])):
        h, _ = np.histogram(np.asarray(pts).ravel(), edges)
        density = h / (len(pts) * width)
        peak = float(density.max()) if name == "real" else peak
        fig.add_trace(go.Scatter(x=centres, y=density, mode="lines", name=name, line_shape="hvh",
                                 line=dict(color=colour, width=3)), row=1, col=1)
    if visual is not None and visual.get("kind") == "1d" and visual.get("output") != "score":  # D in [0, 1]
        fig.add_trace(go.Scatter(x=visual["curve_x"], y=visual["curve_d"], mode="lines", name="D(x)",
                                 line=dict(color=COLORS["d_x"], width=2, dash="dash")), row=1, col=1)
    t, x = r["t"], r["x"]
    colours = sample_colorscale(LINE_SCALE, list(np.clip((t + 2.5) / 5.0, 0, 1) * 0.9 + 0.05))
    for ti, xi, colour in zip(t, x, colours):
        fig.add_trace(go.Scatter(x=[ti, xi], y=[0, 1], mode="lines+markers", name=f"z={ti:+.2f}", showlegend=False,
                                 line=dict(color=colour, width=1.6), marker=dict(size=5),
                                 hovertemplate=f"z = {ti:+.2f} → G(z) = {xi:.2f}<extra></extra>"), row=2, col=1)
    (x0, x1), _, _ = _range_1d(r["bounds"][0], x)
    fig.update_xaxes(range=[min(x0, Z_RANGE[0]), max(x1, Z_RANGE[1])], row=1, col=1)
    fig.update_xaxes(range=[min(x0, Z_RANGE[0]), max(x1, Z_RANGE[1])], title="value", row=2, col=1)
    # fixed by the real density's peak (the same all run long): a spiky G is clipped rather than the axis jumping
    fig.update_yaxes(title="density", range=[0, max(1.6 * peak, 1.05)], row=1, col=1)
    fig.update_yaxes(range=[-0.15, 1.15], tickvals=[0, 1], ticktext=["z", "G(z)"], row=2, col=1)
    fig.update_annotations(font_size=lk.title_px + 2)
    _axis_fonts(fig, lk)
    fig.update_layout(height=lk.picture_px - 25, margin=dict(l=10, r=10, t=32, b=10), font_size=lk.font_px + 1,
                      legend=dict(x=1.0, xanchor="right", y=1.0, bgcolor="rgba(255,255,255,0.7)",
                                  font_size=lk.font_px + 1),
                      plot_bgcolor="white", uirevision="manifold1d")
    return fig


def _range_1d(bounds, x: np.ndarray):
    from gan_core.viz import view_bounds
    pts = np.stack([np.asarray(x, dtype=np.float64), np.zeros(len(x))], 1)
    return view_bounds((tuple(bounds), (-1.0, 1.0)), pts)


def curve_figure(curve: dict, floor: float | None) -> go.Figure:
    """JS (with its ln 2 ceiling and the real-vs-real floor) and both KLs over training steps."""
    lk = look()
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=("Jensen–Shannon (nats)", "KL divergences (nats)"))
    steps = curve["step"]
    fig.add_trace(go.Scatter(x=steps, y=curve["js"], mode="lines+markers", name="JS", marker=dict(size=4),
                             line=dict(color="#1f77b4", width=3)), row=1, col=1)
    fig.add_hline(y=math.log(2), line=dict(color="#888888", dash="dash", width=1), row=1, col=1)  # disjoint sets
    if floor is not None and steps:
        fig.add_trace(go.Scatter(x=[steps[0], steps[-1]], y=[floor, floor], mode="lines", name="JS real vs real",
                                 line=dict(color=COLORS["real"], dash="dot", width=2), hoverinfo="skip"),
                      row=1, col=1)
    fig.add_trace(go.Scatter(x=steps, y=curve["kl_real_fake"], mode="lines", name="KL(real‖fake)",
                             line=dict(color=COLORS["real"], width=2.5)), row=2, col=1)
    fig.add_trace(go.Scatter(x=steps, y=curve["kl_fake_real"], mode="lines", name="KL(fake‖real)",
                             line=dict(color=COLORS["fake"], width=2.5)), row=2, col=1)
    fig.update_yaxes(range=[0, 0.75], tickvals=[0, 0.2, 0.4, math.log(2)], ticktext=["0", "0.2", "0.4", "ln 2"],
                     row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.update_xaxes(title="step", row=2, col=1)
    fig.update_annotations(font_size=lk.title_px)
    _axis_fonts(fig, lk)
    fig.update_layout(height=lk.charts_px - 215, margin=dict(l=10, r=10, t=28, b=10), font_size=lk.font_px,
                      legend=dict(orientation="h", x=0, y=-0.28, font_size=lk.font_px), showlegend=True,
                      uirevision="divergence")
    return fig


# ---------------------------------------------------------------- the panel

def unsupported_message() -> str:
    return ("The manifold view is for 1D/2D toy data with a noise input: open a toy run, e.g. the `ring8` preset "
            "(Setup → Preset, or `?preset=ring8` in the address).")


def _metrics(r: dict) -> None:
    c = r["curve"]
    prev = {k: c[k][-2] for k in ("js", "kl_real_fake", "kl_fake_real")} if len(c["step"]) > 1 else None
    cols = st.columns(3)
    for col, key, label in zip(cols, ("js", "kl_real_fake", "kl_fake_real"),
                               ("JS divergence", "KL(real ‖ fake)", "KL(fake ‖ real)")):
        delta = None if prev is None else f"{r[key] - prev[key]:+.3f}"
        col.metric(label, f"{r[key]:.3f}", delta, delta_color="inverse")


def manifold_panel(run) -> None:
    """The fragment body: measured on each refresh (a few thousand points through a small MLP: cheap)."""
    view = run.generator_view()
    if not supported(view):
        st.info(unsupported_message())
        return
    r = measure(run)
    visual = run.snapshot(max_points=2, visual=True).get("visual")
    left, right = st.columns([2.15, 1])
    with left:
        fig = manifold_figure(r, visual) if r["kind"] == "2d" else figure_1d(r, visual)
        st.plotly_chart(fig, key="manifold_chart", config={"displayModeBar": False})
    with right:
        _metrics(r)
        st.plotly_chart(curve_figure(r["curve"], r["floor"]), key="divergence_chart",
                        config={"displayModeBar": False})
    st.caption(_caption(r))


def _caption(r: dict) -> str:
    n = len(r["curve"]["step"])
    out = r["outside_fake"]
    where = (f"{'under 0.1%' if out < 0.001 else f'{out:.1%}'} of generated points fell there; " if out else "")
    div = (f"Divergences at step {r['step']:,} from {SAMPLES:,} real and {SAMPLES:,} generated points on a "
           f"{r['bins']}{'×' + str(r['bins']) if r['kind'] == '2d' else ''}-cell histogram of the data bounds, plus "
           f"one cell for points outside ({where or 'none outside; '}empty cells count as {r['eps']:g}); "
           f"real vs real at the same count gives JS {r['floor']:.3f}. {n} point{'s' * (n != 1)} on the curve.")
    if r["kind"] == "1d":
        along = "z1" if r["z_dim"] == 1 else "the top principal direction of G's output (z through 0)"
        return (f"Each line joins a latent value z (bottom, {LINES_1D} quantiles of N(0, 1) along {along}: equal "
                "probability between neighbours) to G(z) (top): where G(z) lines crowd, G puts much density. " + div)
    span = manifold.GRID_SPAN
    if r["plane"].kind == "principal":
        ex = r["plane"].explained
        plane = (f"z has {r['z_dim']} dimensions: the grid spans the plane through z = 0 along the top two principal "
                 f"directions of G's output (u and v explain {ex[0]:.0%} and {ex[1]:.0%} of its variance; "
                 "recomputed at each refresh); the noise samples are projected on that plane, the generated points use all of z. ")
    else:
        plane = ""
    code = "Class / code 0 for the mesh. " if r["num_classes"] else ""
    a, b = ("u", "v") if r["plane"].kind == "principal" else ("z1", "z2")
    if r["k"] == 1:
        return (f"Left: the latent line z1 in [-{span}, {span}] (dots coloured by z1, blue → red); right: the curve "
                f"G draws from it at step {r['step']:,}. " + code + div)
    return (f"Left: a {manifold.GRID_LINES}×{manifold.GRID_LINES} grid over [-{span}, {span}]² of the latent "
            f"plane; right: its image under G at step {r['step']:,}. Each coloured line is one value of {a} (blue "
            f"−{span} → red +{span}), grey lines hold {b} fixed, the dotted black line is {b} = 0: follow one line "
            "across the panels. A G that covers the modes stretches the plane onto them, with thin threads between; "
            "a collapsing G folds the whole grid into a small sheet near one or two modes. " + plane + code + div)
