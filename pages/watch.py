"""Watch: a run that trains in another process or on another machine (`python -m gan_core train --out DIR`),
drawn live and read-only from the folder it writes; Take over loads its newest checkpoint as a local run."""
from pathlib import Path

import streamlit as st

from ui.handoff import starting_note
from ui.live import draw_snapshot
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
        if not starting_note(Path(path)):  # a trainer this server just started has not written yet
            st.error(plain(exc), icon=":material/folder_off:")
        return
    st.markdown(status_text(snap))
    actions(Path(path), snap)  # Take over is enabled as soon as the trainer wrote a checkpoint
    draw_snapshot(snap)


watched(str(folder))
