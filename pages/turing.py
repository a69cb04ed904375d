"""Turing test: real or generated? One player alone, or (lecture mode) the whole class voting on the
presenter's images; scored as HYPE-infinity (the human error rate over equal numbers of real and generated
images, with a 95% interval)."""
import streamlit as st

from ui.lecture import can_control, lecture_mode
from ui.runs import attached_run
from ui.turing_class import class_panel
from ui.turing_view import solo_panel

run = attached_run()
st.title("Turing test")
if not run.trainer.is_image:
    st.info("The Turing test shows images: this run trains on points. Open an image preset (digits, MNIST) on "
            "the Train page, or a saved image run from **Runs**.",
            icon=":material/image_not_supported:")
    st.stop()
st.caption("Real or generated? Half the images of a round are real training images, half come from the "
           "generator; answer each. **HYPE∞** is the share judged wrongly: 50% means people cannot tell the "
           "generated images from real ones, 0% that every one was spotted (Zhou et al. 2019).")
if st.session_state.get("_action_error"):
    st.error(st.session_state.pop("_action_error"), icon=":material/lock:")
if lecture_mode():
    class_panel(run)
    if can_control():  # the presenter runs the class's round; playing alone is for the audience
        st.stop()
    st.divider()
    st.subheader("Play alone")
else:
    st.caption("In lecture mode (README) the presenter runs a round for the whole class: every laptop votes on "
               "the same images and the projector shows how many were fooled.")
solo_panel(run)
