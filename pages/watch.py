"""Watch: a run that trains in another process or on another machine (`python -m gan_core train --out DIR`),
drawn live and read-only from the folder it writes; Take over loads its newest checkpoint as a local run."""
from pathlib import Path

import streamlit as st

from ui.handoff import starting_note
from ui.live import draw_snapshot
from ui.live_params import live_hyperparameters
from ui.remote_params import RemoteRun, locked_reason
from ui.text import plain
from ui.watch import actions, pick_folder, status_text, watched_snapshot

folder = pick_folder()  # (the picker titles the page; a watched run starts with its status: room for the picture)
if folder is None:
    st.stop()


# 0.8 s: a class sees a new step at least once a second (the trainer writes its status every 0.5 s)
@st.fragment(run_every=0.8)
def watched(path: str) -> None:
    try:
        snap = watched_snapshot(path)
    except (FileNotFoundError, ValueError) as exc:
        st.session_state.setdefault("_watch_seen", {})[path] = "unwritten"  # its first status redraws the page
        if not starting_note(Path(path)):  # a trainer this server just started has not written yet
            st.error(plain(exc), icon=":material/folder_off:")
        return
    st.markdown(status_text(snap))
    actions(Path(path), snap)  # Take over is enabled as soon as the trainer wrote a checkpoint
    draw_snapshot(snap)
    # the settings below are drawn by the page, not this fragment: redraw the page when the trainer's settings,
    # state or obeyed command changed, or when it first wrote (the settings could not be drawn before)
    seen = (snap.get("config_version"), locked_reason(snap) is None, snap.get("control_seq"), bool(snap.get("config")))
    before = st.session_state.setdefault("_watch_seen", {}).get(path)
    st.session_state["_watch_seen"][path] = seen
    if before is not None and before != seen:
        st.rerun(scope="app")


watched(str(folder))
try:  # the trainer's live settings, below the picture (as on the Train page); redrawn when they change
    _snap = watched_snapshot(str(folder))
except (FileNotFoundError, ValueError):
    _snap = None
if _snap is not None and _snap.get("config"):
    live_hyperparameters(RemoteRun(folder, _snap), locked=locked_reason(_snap))
