"""The live part of the Train page: one fragment that re-reads the run's snapshot twice a second while it
trains (every 2 s otherwise) and draws the headline numbers, health alerts, the data-space picture (or
the sample grid) and the training charts beside it — sized so that, with the control bar above, all of
it fits a 1280x720 projector without scrolling.

When the run's state, controls or settings changed elsewhere (another tab, a Reset, a pause at step N)
the fragment asks for a full rerun, so the control bar and the widgets outside it show the new values.
"""
from __future__ import annotations

import math
import threading
import time

import streamlit as st

from gan_core.losses import LOSSES
from gan_core.viz import png_bytes
from ui import charts, guard, live_charts, payload
from ui.controls import control_signature, rollback_button
from ui.family_view import family_charts
from ui.layout import look
from ui.lecture import can_control
from ui.overview import overview_strip, room_for_strip
from ui.runs import get_registry
from ui.runs_view import preset_label
from ui.text import plain

LIVE_POINTS = 600  # points per curve sent to the browser each refresh
FAST_SECONDS, SLOW_SECONDS = 0.5, 2.0  # refresh while training / while ready, paused or stopped
VIEWER_SECONDS = 0.8  # lecture-mode viewers of a fast run (a class of 30 costs the server a core at 0.5 s)
NARRATED_RATE = 2.0  # at this many steps/s or fewer the model strip narrates: every viewer refreshes fast


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}f}"


def _grad(value) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.2g}"


def _pct(value) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{100 * value:.0f}%"


def live_panel(run) -> None:
    """The live panel: redrawn twice a second while the run trains, every 2 s otherwise (an idle page
    then costs the browser a fifth of the CPU; measured in docs/BENCHMARKS.md)."""
    st.session_state["_drawn_controls"] = control_signature(run)
    if run.state != "running":
        _live_slow(run.id)
    elif can_control() or 0 < run.max_rate <= NARRATED_RATE:  # the presenter, or a narrated slow run
        _live_fast(run.id)
    else:  # a lecture-mode viewer of a fast run: a new step every 0.8 s, and room for 30 more of them
        _live_viewer(run.id)


@st.fragment(run_every=FAST_SECONDS)
def _live_fast(run_id: str) -> None:
    _panel(run_id)


@st.fragment(run_every=SLOW_SECONDS)
def _live_slow(run_id: str) -> None:
    _panel(run_id)


@st.fragment(run_every=VIEWER_SECONDS)
def _live_viewer(run_id: str) -> None:
    _panel(run_id)


VIEWER_LANE = threading.Semaphore(1)  # lecture-mode viewers draw the panel one at a time (see _panel)


def _panel(run_id: str) -> None:
    viewer = not can_control()
    guard.lower_viewer_priority(viewer)  # a fragment run has a thread of its own
    if not viewer:
        _draw_panel(run_id)
        return
    # Python runs one thread at a time (the GIL): with 30 viewers' threads ready to draw, the training thread
    # would get a thirtieth of it. Queued here, blocked threads hold nothing and training keeps a fair share;
    # the shared payload (ui/payload.py) makes each of these draws cheap.
    with VIEWER_LANE:
        _draw_panel(run_id)


def _draw_panel(run_id: str) -> None:
    run = get_registry().get(run_id)
    if run is None or get_registry().successor(run_id) is not None:
        st.rerun(scope="app")  # removed or replaced (Reset, a new run in another tab): reattach
    if st.session_state.get("_drawn_controls") != control_signature(run):
        st.rerun(scope="app")  # state or settings changed: redraw the control bar and widgets too
    draw_snapshot(payload.snapshot(run, LIVE_POINTS), run)


def draw_snapshot(snap: dict, run=None) -> None:
    """Everything the live panel shows, from a snapshot alone (``Run.snapshot()``, or a watched folder's
    ``LiveFolder.read()``); ``run`` (a local run) adds the roll-back button."""
    sizes = room_for_strip(look())  # the model strip sits between the numbers and the picture
    state = snap["state"]
    if snap["message"] and not any(a.kind == "divergence" for a in snap["alerts"]):
        (st.error if state == "error" else st.info)(plain(snap["message"]))
    show_alerts(snap["alerts"])
    if run is not None:
        rollback_button(run, snap)
    last = snap["latest"]
    modes = snap["evals"].get("modes_covered") if snap["has_modes"] else None
    cols = st.columns(9 if modes is not None else 8)
    cols[0].metric("Step", f"{snap['step']:,}")
    cols[1].metric("State", state)
    cols[2].metric("it/s", _fmt(last.get("steps_per_s"), 0) if state == "running" else "–")
    cols[3].metric("D loss", _fmt(last.get("d_loss")))
    cols[4].metric("G loss", _fmt(last.get("g_loss")))
    cols[5].metric("D acc real", _pct(last.get("d_acc_real", math.nan)))
    cols[6].metric("D acc fake", _pct(last.get("d_acc_fake", math.nan)))
    cols[7].metric("G grad norm", _grad(last.get("g_grad_norm")),
                   help="Size of the generator's gradient: near 0 means G has stopped learning (D won).")
    if modes is not None:
        cols[8].metric("Modes", f"{int(modes[-1])}/{snap['n_modes']}" if len(modes) else "–",
                       help="Modes covered at the newest evaluation (2,500 samples, within 3 std of a mode).")
    overview_strip(snap, sizes.present)
    output = LOSSES[snap["config"]["loss"]["loss"]].output
    left, right = st.columns([1, 1.05], gap="medium")
    with left:
        _draw_visual(snap, sizes)
    with right:
        history = snap["history"]
        if len(history["step"]):
            evals = snap["evals"]
            js = live_charts.has_js(evals)
            js_part = {k: evals[k] for k in ("step", "js")} if js else None
            spec = payload.chart(("train", output, sizes, js, payload.digest(history, js_part)),
                                 lambda: live_charts.training_spec(output, sizes, js=js,
                                                                   loss_range=live_charts.loss_domain(history)),
                                 lambda: {"train": live_charts.training_data(history, evals)})
            st.vega_lite_chart(spec, key="train_chart", width="content")
        else:
            st.info("Press **Start** (or **Step**) to train; the loss and accuracy curves appear here.")
    if snap["has_modes"] and len(snap["evals"]["step"]):
        evals = snap["evals"]
        spec = payload.chart(("modes", snap["n_modes"], sizes, payload.digest(evals)),
                             lambda: live_charts.modes_spec(snap["n_modes"], sizes),
                             lambda: {"modes": live_charts.modes_data(evals)})
        st.vega_lite_chart(spec, key="modes_chart", width="content")
    family_charts(snap, sizes)
    _schedule_caption(snap)


def show_alerts(alerts) -> None:
    """Health alerts (gan_core.health): what is wrong, why we think so, what to try."""
    for a in alerts:
        box = st.error if a.severity == "error" else st.warning
        box(f"**{a.title}.** {a.reason}\n\n**Try:** {a.remedy}", icon=":material/health_and_safety:")


def _schedule_caption(snap: dict) -> None:
    """When the run was last saved, and what the schedules make of the live settings right now (decayed
    lr, annealed noise)."""
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
    saved = ""
    if snap.get("saved_step") is not None:
        saved = (f"Saved step {snap['saved_step']:,} at {time.strftime('%H:%M:%S', time.localtime(snap['saved_at']))}"
                 f" (autosave every {train['autosave_minutes']:g} min). ")
    elif train["autosave_minutes"]:
        saved = f"Not saved yet (autosave every {train['autosave_minutes']:g} min). "
    st.caption(saved + ("Schedules: " + "; ".join(notes) + "." if notes else ""))


def run_config(snap: dict):
    from gan_core.config import Config
    return Config.from_dict(snap["config"])


def _draw_visual(snap: dict, sizes) -> None:
    visual = snap["visual"]
    if visual is None:
        st.caption("Preparing the picture…")
        return
    name = {"2d": "Data space", "1d": "Samples and D", "images": "Samples"}[visual["kind"]]
    total = len(visual["fake"]) if visual["kind"] == "2d" else visual.get("n", 0)
    label = preset_label(snap["preset"], run_config(snap))
    st.markdown(f"**{name} at step {visual['step']:,}** · run `{snap['id']}` · {label}"
                + charts.outside_note(visual.get("outside", 0), total if visual["kind"] != "images" else 0))
    if visual["kind"] == "images":
        side = sizes.picture_px - 25  # a grid needs room for its caption only (a plot: axes and legend too)

        def grid_png():
            grid = charts.upscale(visual["grid"], side)
            return png_bytes(grid), min(grid.shape[1], side)
        image, width = payload.SHARED.get(("grid", side, payload.digest(visual["grid"])), grid_png)
        caption = ("Rows in threes: fixed domain-A images, G_AB's translations into B, and G_BA's way back "
                   "(A → B → A)" if visual.get("strip") else
                   "64 fixed noise vectors: the same z every refresh, so you watch G change")
        st.image(image, caption=caption, width=width)
        return
    if visual["kind"] == "2d":
        make_spec, make_data = live_charts.space_spec, live_charts.space_data
    else:
        make_spec, make_data = live_charts.line_1d_spec, live_charts.line_1d_data
    spec = payload.chart(("space", sizes, payload.digest(visual)), lambda: make_spec(visual, sizes),
                         lambda: make_data(visual))
    st.vega_lite_chart(spec, key="space_chart", width="content")
    if visual["kind"] == "2d":
        st.caption(charts.MAP_NOTE if visual.get("arrow_map") else charts.SPACE_NOTE[visual["output"]])
