"""The live part of the Train page: one fragment that re-reads the run's snapshot twice a second and
draws the buttons, headline numbers, the stacked training chart and the data-space picture.

When the run's configuration changed elsewhere (another tab, a Reset) the fragment asks for a full rerun
so the widgets outside it show the new values.
"""
from __future__ import annotations

import math

import streamlit as st

from gan_core.losses import LOSSES
from ui import charts
from ui.controls import button_row, rollback_button
from ui.runs import get_registry

LIVE_POINTS = 600  # points per curve sent to the browser each refresh
FAST_SECONDS, SLOW_SECONDS = 0.5, 2.0  # refresh while training / while ready, paused or stopped


def _figure(slot: str, template_key, build):
    """This session's figure for ``slot``, rebuilt only when its template key changes."""
    cache = st.session_state.setdefault("_figures", {})
    if slot not in cache or cache[slot][0] != template_key:
        cache[slot] = (template_key, build())
    return cache[slot][1]


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def _pct(value) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100 * value:.0f}%"


def live_panel(run_id: str) -> None:
    """The live panel: redrawn twice a second while the run trains, every 2 s otherwise (an idle page
    then costs the browser a fifth of the CPU; measured in docs/BENCHMARKS.md)."""
    run = get_registry().get(run_id)
    (_live_fast if run is not None and run.state == "running" else _live_slow)(run_id)


@st.fragment(run_every=FAST_SECONDS)
def _live_fast(run_id: str) -> None:
    _panel(run_id, fast=True)


@st.fragment(run_every=SLOW_SECONDS)
def _live_slow(run_id: str) -> None:
    _panel(run_id, fast=False)


def _panel(run_id: str, fast: bool) -> None:
    run = get_registry().get(run_id)
    if run is None:
        st.warning("This run no longer exists; reload the page to attach to the current one.")
        return
    snap = run.snapshot(max_points=LIVE_POINTS)
    version = (run.id, snap["config_version"], id(run.trainer))
    if st.session_state.get("_live_synced") not in (None, version):
        st.rerun(scope="app")  # settings changed elsewhere: redraw the widgets outside this fragment
    state = snap["state"]
    if (state == "running") != fast:
        st.rerun(scope="app")  # started or paused (here or in another tab): switch the refresh rate
    button_row(run, state)
    if snap["message"] and not any(a.kind == "divergence" for a in snap["alerts"]):
        (st.error if state == "error" else st.info)(snap["message"])
    show_alerts(snap["alerts"])
    rollback_button(run, snap)
    last = snap["latest"]
    cols = st.columns(7)
    cols[0].metric("Step", f"{snap['step']:,}")
    cols[1].metric("State", state)
    cols[2].metric("it/s", _fmt(last.get("steps_per_s"), 0) if state == "running" else "–")
    cols[3].metric("D loss", _fmt(last.get("d_loss")))
    cols[4].metric("G loss", _fmt(last.get("g_loss")))
    cols[5].metric("D acc real", _pct(last.get("d_acc_real", math.nan)))
    cols[6].metric("D acc fake", _pct(last.get("d_acc_fake", math.nan)))
    _schedule_caption(snap)
    output = LOSSES[snap["config"]["loss"]["loss"]].output
    left, right = st.columns([1.15, 1])
    with left:
        if len(snap["history"]["step"]):
            fig = _figure("train", output, lambda: charts.training_figure(output))
            st.plotly_chart(charts.update_training(fig, snap["history"]), key="train_chart",
                            config={"displayModeBar": False})
        else:
            st.info("Press **Start** (or **Step**) to train; the loss and accuracy curves appear here.")
    with right:
        _draw_visual(snap)
        if snap["has_modes"] and len(snap["evals"]["step"]):
            fig = _figure("modes", snap["n_modes"], lambda: charts.modes_figure(snap["n_modes"]))
            st.plotly_chart(charts.update_modes(fig, snap["evals"]), key="modes_chart",
                            config={"displayModeBar": False})


def show_alerts(alerts) -> None:
    """Health alerts (gan_core.health): what is wrong, why we think so, what to try."""
    for a in alerts:
        box = st.error if a.severity == "error" else st.warning
        box(f"**{a.title}.** {a.reason}\n\n**Try:** {a.remedy}", icon=":material/health_and_safety:")


def _schedule_caption(snap: dict) -> None:
    """Say what the schedules make of the live settings right now (decayed lr, annealed noise)."""
    train, loss = snap["config"]["train"], snap["config"]["loss"]
    notes = []
    if train["lr_decay_steps"]:
        f = snap["lr_factor"]
        notes.append(f"learning rates decay linearly to ×{train['lr_final_factor']:g} over "
                     f"{train['lr_decay_steps']:,} steps: now ×{f:.2f} (G {train['lr_g'] * f:.1e}, "
                     f"D {train['lr_d'] * f:.1e})")
    if loss["instance_noise"] and loss["noise_anneal_steps"]:
        notes.append(f"instance noise anneals to 0 over {loss['noise_anneal_steps']:,} steps: now "
                     f"{snap['noise_std']:.3f}")
    if notes:
        st.caption("Schedules: " + "; ".join(notes) + ".")


def _draw_visual(snap: dict) -> None:
    visual = snap["visual"]
    if visual is None:
        st.caption("Preparing the picture…")
        return
    if visual["kind"] == "images":
        st.image(charts.upscale(visual["grid"]), caption=f"Samples from 64 fixed noise vectors, step {visual['step']}",
                 width="content")
    else:
        fig = _figure("space", charts.space_key(visual), lambda: charts.space_figure(visual))
        st.plotly_chart(charts.update_space(fig, visual), key="space_chart", config={"displayModeBar": False})
        if visual["kind"] == "2d":
            st.caption("Background: D's belief that a point is real. Arrows: where G's loss pushes each "
                       "generated point.")
