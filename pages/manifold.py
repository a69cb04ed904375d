"""Manifold: where the generator sends the latent plane (GAN Lab's manifold view) on 1D/2D toy data, and
the Jensen–Shannon / KL divergences between real and generated points as the run trains."""
import streamlit as st

from ui.manifold_view import manifold_panel
from ui.runs import attached_run

run = attached_run()
head, toggle = st.columns([3, 1.2], vertical_alignment="bottom")
head.title("Manifold")
follow = toggle.toggle("Follow training (every 2 s)", value=run.state == "running", key="manifold_follow")
st.fragment(manifold_panel, run_every=2.0 if follow else None)(run)
