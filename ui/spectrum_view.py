"""The live spectrum panel (Upsampling page): the mean power spectrum of the current run's generated images
beside the real images', their difference, and the radially averaged curves, so the peaks an upsampling
layer leaves at high frequencies can be watched grow or shrink while the run trains."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch
from plotly.subplots import make_subplots

from gan_core.spectrum import spectrum_report
from ui.diagnostics_view import _real_images

SAMPLES = 512
_REAL: dict = {}  # run id -> its real images (they never change): fetched from the training thread once


def _real_for(run, n: int) -> torch.Tensor:
    if run.id not in _REAL:
        while len(_REAL) >= 4:
            _REAL.pop(next(iter(_REAL)))
        _REAL[run.id] = run.call_in_loop(lambda tr: _real_images(tr, n))
    return _REAL[run.id]


def measure(run, n: int = SAMPLES) -> dict:
    """Spectra of ``n`` generated images (fixed noise: the same z every time) and ``n`` real ones; a refresh
    uses the page's frozen copy of G and never interrupts training."""
    view = run.generator_view()
    z = view.inputs(n, torch.Generator().manual_seed(0))
    y = torch.arange(n) % view.num_classes if view.num_classes else None
    fake = view.generate(z, y)
    real = _real_for(run, n)
    report = spectrum_report(fake, real)
    report["step"] = view.step
    return report


def spectrum_figure(r: dict) -> go.Figure:
    fig = make_subplots(rows=1, cols=4, column_widths=[0.2, 0.2, 0.2, 0.4], horizontal_spacing=0.05,
                        subplot_titles=("Real images", "Generated", "Generated − real", "Radial average"))
    lo = min(r["real"].min(), r["fake"].min())
    hi = max(r["real"].max(), r["fake"].max())
    for col, key in ((1, "real"), (2, "fake")):
        fig.add_trace(go.Heatmap(z=r[key], zmin=lo, zmax=hi, colorscale="Viridis", showscale=False,
                                 hovertemplate="log10 power %{z:.2f}<extra></extra>"), row=1, col=col)
    d = r["difference"]
    span = float(np.abs(d).max()) or 1.0
    fig.add_trace(go.Heatmap(z=d, zmin=-span, zmax=span, colorscale="RdBu", reversescale=True, showscale=False,
                             hovertemplate="generated − real %{z:.2f}<extra></extra>"), row=1, col=3)
    radius = np.arange(len(r["radial_real"]))
    fig.add_trace(go.Scatter(x=radius, y=r["radial_real"], name="real", line=dict(color="#2ca02c", width=3)),
                  row=1, col=4)
    fig.add_trace(go.Scatter(x=radius, y=r["radial_fake"], name="generated", line=dict(color="#9467bd", width=3)),
                  row=1, col=4)
    for col in (1, 2, 3):
        fig.update_xaxes(showticklabels=False, row=1, col=col)
        fig.update_yaxes(showticklabels=False, autorange="reversed", scaleanchor=f"x{col}", row=1, col=col)
    fig.update_xaxes(title="frequency (ring radius; right = finest detail)", row=1, col=4)
    fig.update_yaxes(title="log10 power", row=1, col=4)
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25, x=0.62),
                      uirevision="spectrum")
    return fig


def spectrum_panel(run) -> None:
    """For an image run: measured on each refresh (a few hundred FFTs of small images: cheap)."""
    if not run.trainer.is_image:
        st.info("The spectrum needs images: start an image run (digits, MNIST...) to see it here.")
        return
    r = measure(run)
    excess = r["high_frequency_excess"]
    st.plotly_chart(spectrum_figure(r), key="spectrum_chart", config={"displayModeBar": False})
    tone = ("more" if excess > 0 else "less")
    st.caption(f"Step {r['step']:,}: {r['n_fake']} generated images (fixed noise) against {r['n_real']} real ones. "
               f"High-frequency excess {excess:+.2f} (log10 power, generated − real, mean over the upper half of "
               f"the frequencies): the generator puts {tone} energy into fine detail than the data has. "
               "Peaks at the edges and corners of the generated spectrum are the period-2 pattern of stride-2 "
               "upsampling (Durall et al. 2020); compare model.upsample = transposed with resize.")
