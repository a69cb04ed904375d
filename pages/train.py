"""Train page: set up a run, start/pause/step it, change hyperparameters live, watch it learn."""
import streamlit as st

from ui.controls import live_hyperparameters
from ui.live import live_panel
from ui.runs import attached_run
from ui.setup import setup_panel

run = attached_run()
st.title("Train a GAN")
setup_panel(run)
live_hyperparameters(run)
live_panel(run.id)
