"""Train page: the control bar, the live picture and charts (one projector screen), then the live
hyperparameters. The setup is a dialog (control bar: Setup), so nothing sits above the live picture."""
import streamlit as st

from ui.controls import confirm_reset, control_bar
from ui.live import live_panel
from ui.live_params import live_hyperparameters
from ui.runs import attached_run
from ui.setup import setup_dialog
from ui.text import plain

run = attached_run(train_page=True)
control_bar(run)
notes = list(getattr(run.trainer.data, "notes", None) or [])  # e.g. files of a folder that were skipped
if notes:
    st.warning(plain(" · ".join(notes)), icon=":material/warning:")
live_panel(run)
live_hyperparameters(run)
dialog = st.session_state.get("_dialog")
if dialog == "setup":
    setup_dialog(run)
elif dialog == "reset":
    confirm_reset(run)
