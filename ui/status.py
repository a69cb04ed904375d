"""The one-line status of the attached run at the top of every page but Train (which shows it in its
own numbers): run id, preset, state, step, speed, device and the last save, refreshed every second;
beside it the Present toggle and, in lecture mode, the presenter sign-in."""
from __future__ import annotations

import math
import time

import streamlit as st

from ui.layout import present_toggle
from ui import guard
from ui.lecture import can_control, lecture_mode, presenter_box
from ui.runs import get_registry


def status_line(run_id: str, train_page: bool, show_run: bool = True) -> None:
    """``show_run`` False (the Watch page, which shows a run trained elsewhere): the toggle and sign-in only."""
    if train_page:
        return  # the Train page draws the same numbers big, with the toggle in its control bar
    cols = st.columns([8, 1.1, 1.7] if lecture_mode() else [8, 1.1], vertical_alignment="center")
    if show_run:
        with cols[0]:
            run_status(run_id)
    present_toggle(cols[1])
    if lecture_mode():
        with cols[2]:
            presenter_box()


def describe(snap: dict) -> str:
    """'Run 1a2b3c4d · ring8 · running · step 1,234 · 300 it/s · cpu · saved step 1,000 at 12:01:02'."""
    rate = snap["latest"].get("steps_per_s", math.nan)
    cfg = snap["config"]
    parts = [f"Run `{snap['id']}`", snap.get("preset") or f"{cfg['data']['dataset']} (custom)",
             f"**{snap['state']}**", f"step {snap['step']:,}"]
    if snap["state"] == "running" and math.isfinite(rate):
        parts.append(f"{rate:,.0f} it/s")
    parts.append(f"{cfg['model']['arch']} · {cfg['loss']['loss']} · {snap['device']}")
    if snap.get("saved_step") is not None:
        parts.append(f"saved step {snap['saved_step']:,} at "
                     f"{time.strftime('%H:%M:%S', time.localtime(snap['saved_at']))}")
    return " · ".join(parts)


@st.fragment(run_every=1.0)
def run_status(run_id: str) -> None:
    guard.lower_viewer_priority(not can_control())
    run = get_registry().get(run_id)
    if run is None:
        st.caption("No run attached.")
        return
    st.markdown(describe(run.snapshot(max_points=2, visual=False)))
