"""Diagnostics: is the GAN healthy, does it cover the data, does it copy it, how good are its samples?"""
import streamlit as st

from ui.diagnostics_view import (coverage_figure, histogram_figure, memorisation, mode_counts,
                                 quality_metrics, stacked_reference)
from ui.draw import drawing_fit_panel
from ui.live import show_alerts
from ui.runs import attached_run

run = attached_run()
st.title("Diagnostics")


@st.fragment(run_every=2.0)
def live_diagnostics():
    snap = run.snapshot(max_points=1000, visual=False)
    show_alerts(snap["alerts"])
    kind = snap["diag_kind"]
    if kind is None and run.config.data.dataset == "drawn":
        drawing_fit_panel(run)
        return
    if kind is None:
        st.info("Live coverage diagnostics exist for the ring and grid mixtures (modes covered) and for digit "
                "images (classes covered by the shipped classifier). This run's data has neither; its losses, "
                "accuracies and (for points) the JS divergence are on the Train page, and the Manifold page "
                "shows where G sends the latent plane with both KL divergences.")
        return
    total = snap["n_modes"] if kind == "modes" else snap["n_classes"]
    left, right = st.columns([1.3, 1])
    with left:
        if len(snap["evals"]["step"]):
            perfect = stacked_reference() if kind == "classes" and total == 1000 else None
            st.plotly_chart(coverage_figure(snap["evals"], kind, total, perfect), key="diag_cov",
                            config={"displayModeBar": False})
            if perfect:
                st.caption(f"Stacked MNIST modes here are counted on {perfect['n']:,} samples, where even a perfect "
                           f"generator reaches only {perfect['modes_captured']:.0f} modes and KL "
                           f"{perfect['kl_to_uniform']:.2f}; published figures use 26,000 (1,000 and 0.019): "
                           "`python -m gan_core evaluate`.")
        else:
            st.caption("The first measurement comes after a few steps of training.")
    with right:
        view = run.generator_view()
        if kind == "modes":
            data = run.trainer.data
            counts = mode_counts(view, data.modes, data.mode_std)
            st.plotly_chart(histogram_figure(counts, list(range(len(counts))), "High-quality samples per mode"),
                            key="diag_hist", config={"displayModeBar": False})
        elif snap["class_hist"] is not None:
            names = view.class_names or list(range(len(snap["class_hist"])))
            st.plotly_chart(histogram_figure(snap["class_hist"], names, "Classes the classifier sees in 2,000 samples"),
                            key="diag_hist", config={"displayModeBar": False})


live_diagnostics()
view = run.generator_view()
if view.is_image:
    st.subheader("Memorisation check")
    memorisation(view, run.trainer.data)
    st.subheader("Sample quality")
    quality_metrics(run, view)
