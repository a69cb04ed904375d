"""Watch: a run that trains in another process or on another machine (`python -m gan_core train --out DIR`),
drawn live and read-only from the folder it writes; Take over loads its newest checkpoint as a local run."""
from pathlib import Path

import streamlit as st

from ui.live import draw_snapshot
from ui.text import plain
from ui.watch import actions, pick_folder, status_text, watched_snapshot

st.title("Watch a run")
folder = pick_folder()
if folder is None:
    st.stop()


@st.fragment(run_every=1.0)
def watched(path: str) -> None:
    actions(Path(path))  # Take over is enabled as soon as the trainer wrote a checkpoint
    try:
        snap = watched_snapshot(path)
    except (FileNotFoundError, ValueError) as exc:
        st.error(plain(exc), icon=":material/folder_off:")
        return
    st.markdown(status_text(snap))
    draw_snapshot(snap)


watched(str(folder))
