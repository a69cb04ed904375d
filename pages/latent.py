"""Latent lab: explore the generator's latent space with sliders, interpolation and vector arithmetic,
on the current run while it trains or on a saved checkpoint; a translating generator (CycleGAN) gets the
translate panel instead."""
import streamlit as st

from ui.latent_codes import codes_body, has_codes
from ui.latent_lab import arithmetic_body, interpolation_body, slider_controls, slider_panel
from ui.runs import attached_run
from ui.sources import checkpoint_picker
from ui.translate_view import translate_body

run = attached_run()
st.title("Latent lab")
source = st.radio("Generator", ("Current run", "Checkpoint"), horizontal=True, key="lat_source",
                  help="The current run's generator is refreshed from the training thread every half "
                       "second while this page is open; a checkpoint's stays fixed.")
if source == "Current run":
    get_view, source_key = run.generator_view, f"run:{run.id}"
    follow = st.toggle("Follow training (redraw every second)", value=run.state == "running", key="lat_follow")
else:
    picked = checkpoint_picker()
    if picked is None:
        st.stop()
    get_view, source_key = picked
    follow = False
identity = source_key if source == "Current run" else f"ckpt:{st.session_state.get('ckpt_pick')}"
if st.session_state.get("_lat_identity") != identity:  # another generator: start from plain sampling (psi = 1)
    st.session_state["_lat_identity"] = identity
    st.session_state["lat_psi"] = 1.0
every = 1.0 if follow else None
if get_view().translates:  # CycleGAN: G takes domain-A samples, not noise
    st.fragment(translate_body, run_every=every)(get_view)
    st.stop()
with_codes = has_codes(get_view())
tabs = st.tabs(["Sliders", "Interpolation", "Arithmetic"] + (["Codes"] if with_codes else []))
with tabs[0]:
    controls = slider_controls(get_view())
    st.fragment(slider_panel, run_every=every)(get_view, source_key, *controls)
with tabs[1]:
    st.fragment(interpolation_body)(get_view, source_key)
with tabs[2]:
    st.fragment(arithmetic_body)(get_view, source_key)
if with_codes:
    with tabs[3]:
        st.fragment(codes_body, run_every=every)(get_view, source_key)
