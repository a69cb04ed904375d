"""Sidebar shown on every page: device, run state, step and speed, refreshed every second."""
from __future__ import annotations

import math
import time

import streamlit as st

from ui.runs import get_registry


@st.fragment(run_every=1.0)
def run_status(run_id: str) -> None:
    run = get_registry().get(run_id)
    if run is None:
        st.caption("No run attached.")
        return
    snap = run.snapshot(max_points=2, visual=False)
    rate = snap["latest"].get("steps_per_s", math.nan)
    st.markdown(f"**Run** `{snap['id']}`  \n**Device** `{snap['device']}`")
    st.markdown(f"**State** {snap['state']}  \n**Step** {snap['step']:,}")
    if snap["state"] == "running" and math.isfinite(rate):
        imgs = snap["latest"].get("samples_per_s", math.nan)
        st.markdown(f"**Speed** {rate:,.0f} it/s · {imgs:,.0f} samples/s")
    st.caption(f"Path: {snap.get('path', 'eager')}")
    if snap.get("saved_step") is not None:
        saved = time.strftime("%H:%M:%S", time.localtime(snap["saved_at"]))
        st.caption(f"Saved step {snap['saved_step']:,} at {saved} (autosave every "
                   f"{snap['config']['train']['autosave_minutes']:g} min)")
    cfg = snap["config"]
    st.caption(f"{cfg['data']['dataset']} · {cfg['model']['arch']} · {cfg['loss']['loss']}")
