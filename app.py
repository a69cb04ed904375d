"""GAN Playground: train GANs live and look inside them.

    streamlit run app.py

A router over pages/: every page shares one process-wide run registry (ui.runs), so training continues
across page switches, refreshes and several open tabs. Navigation sits in the top bar (the Train page
needs the whole width on a projector); every page but Train starts with a one-line status of the
attached run. ``?present=1`` (or the Present toggle) is presentation mode (ui.layout).
"""
import streamlit as st

st.set_page_config(page_title="GAN Playground", page_icon="🎛️", layout="wide",
                   initial_sidebar_state="collapsed")

# Every heavy module is imported here, before the first st call that can end a script run: Streamlit stops
# a run (a click elsewhere, another page) by raising in its thread, and an import cut off that way leaves
# a half-made module behind for every session ("partially initialized module 'pandas'").
import pandas  # noqa: E402,F401  (the live charts; also used by Plotly)

import ui.live  # noqa: E402,F401
from ui import guard  # noqa: E402
from ui.layout import apply_css  # noqa: E402  (set_page_config must come first)
from ui.lecture import can_control  # noqa: E402
from ui.runs import attached_run  # noqa: E402
from ui.status import status_line  # noqa: E402

guard.install()  # lecture mode: bound what a viewer's raw websocket messages can cost (ui/guard.py)
guard.lower_viewer_priority(not can_control())

TRAIN = st.Page("pages/train.py", title="Train", icon=":material/play_circle:", default=True)
WATCH = st.Page("pages/watch.py", title="Watch", icon=":material/visibility:")  # runs trained elsewhere
page = st.navigation([
    TRAIN,
    st.Page("pages/latent.py", title="Latent lab", icon=":material/tune:"),
    st.Page("pages/diagnostics.py", title="Diagnostics", icon=":material/monitor_heart:"),
    st.Page("pages/manifold.py", title="Manifold", icon=":material/grid_4x4:"),
    st.Page("pages/upsampling.py", title="Upsampling", icon=":material/grid_on:"),
    st.Page("pages/turing.py", title="Turing test", icon=":material/psychology_alt:"),
    WATCH,
    st.Page("pages/runs.py", title="Runs", icon=":material/list_alt:"),
    st.Page("pages/guide.py", title="Guide", icon=":material/menu_book:"),
], position="top")
on_watch = page is WATCH  # (not by url_path: in bare mode, a spawned worker re-running this file, it is missing)
if st.query_params.get("watch") and not on_watch:  # ?watch=NAME: a run trained elsewhere
    st.switch_page(WATCH, query_params=dict(st.query_params))
apply_css()
run = None if on_watch else attached_run(train_page=page is TRAIN)  # the Watch page makes no local run
status_line(run and run.id, train_page=page.url_path == TRAIN.url_path, show_run=not on_watch)
page.run()
