"""Upsampling: how a transposed convolution enlarges an image, as a matrix, and why it can leave a
checkerboard (the lecture notes' DCGAN and upsampling sections)."""
import streamlit as st

from ui.runs import attached_run
from ui.spectrum_view import spectrum_panel
from ui.untrained_view import untrained_panel
from ui.upsampling_view import explainer

st.title("Upsampling")
st.caption("How a generator enlarges images, and the artefacts it leaves: a transposed convolution as the "
           "transpose of a convolution's matrix, the overlap counts that predict checkerboards, what untrained "
           "generators draw, and the "
           "frequency spectrum of the current run's images next to the real ones.")
run = attached_run()
tabs = st.tabs(["Transposed convolution", "Untrained generators", "Spectrum of the current run"])
with tabs[0]:
    explainer()
with tabs[1]:
    untrained_panel(run)
with tabs[2]:
    follow = st.toggle("Follow training (re-measure every 2 s)", value=run.state == "running", key="spec_follow")
    st.fragment(spectrum_panel, run_every=2.0 if follow else None)(run)
