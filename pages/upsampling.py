"""Upsampling: how a transposed convolution enlarges an image, as a matrix, and why it can leave a
checkerboard (the lecture notes' DCGAN and upsampling sections)."""
import streamlit as st

from ui.upsampling_view import explainer

st.title("Upsampling")
st.caption("A transposed convolution is the transpose of a convolution's matrix. Choose its input size, "
           "kernel, stride and padding; see the matrix, the lecture's worked example, and the overlap counts "
           "that predict checkerboard artefacts.")
explainer()
