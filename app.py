"""GAN Playground: train GANs live and look inside them.

    streamlit run app.py

A router over pages/: every page shares one process-wide run registry (ui.runs), so training continues
across page switches, refreshes and several open tabs. The sidebar shows the attached run's state.
"""
import streamlit as st

st.set_page_config(page_title="GAN Playground", page_icon="🎛️", layout="wide")

from ui.runs import attached_run  # noqa: E402  (set_page_config must come first)
from ui.lecture import presenter_box  # noqa: E402
from ui.sidebar import run_status  # noqa: E402

page = st.navigation([
    st.Page("pages/train.py", title="Train", icon=":material/play_circle:", default=True),
    st.Page("pages/latent.py", title="Latent lab", icon=":material/tune:"),
    st.Page("pages/diagnostics.py", title="Diagnostics", icon=":material/monitor_heart:"),
    st.Page("pages/guide.py", title="Guide", icon=":material/menu_book:"),
])
run = attached_run()
with st.sidebar:
    run_status(run.id)
    presenter_box()
page.run()
