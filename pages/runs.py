"""Runs page: every run in memory and every run saved on disk; open, pause, stop (save and unload) or
delete one. Starting a run pauses the others unless "train side by side" is on. Presenter-only in
lecture mode."""
import streamlit as st

from ui.lecture import VIEWER_NOTE, can_control
from ui.runs import attached_run
from ui.runs_view import confirm_delete, live_runs, saved_runs
from ui.text import plain

run = attached_run()
st.title("Runs")
if not can_control():
    st.info(f"{VIEWER_NOTE} The presenter manages the runs.", icon=":material/visibility:")
    st.stop()
if st.session_state.get("_open_run"):
    rid = st.session_state.pop("_open_run")
    st.switch_page("pages/train.py", query_params={"run": rid})
live_runs(run.id)
st.divider()
saved_runs()
if st.session_state.get("_runs_error"):
    st.error(plain(st.session_state.pop("_runs_error")))
if st.session_state.get("_delete"):
    confirm_delete(*st.session_state["_delete"])
