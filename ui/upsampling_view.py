"""The transposed-convolution explainer (Upsampling page): the convolution as a matrix C, the transposed
convolution as Cᵀ, the lecture's worked example, and the overlap counts that predict a checkerboard.
Numbers come from gan_core.convmatrix; this module only draws them."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from gan_core import convmatrix as cm
from ui.text import plain

MAX_LATEX_COLUMNS = 16  # wider matrices are drawn as a picture
EXAMPLES = {  # name -> (input size, kernel, stride, padding) of the transposed convolution
    "Lecture example: 2×2 input, 3×3 kernel → 4×4": (2, 3, 1, 0),
    "Uneven overlap: kernel 3, stride 2 (checkerboard)": (4, 3, 2, 1),
    "Even overlap: kernel 4, stride 2 (DCGAN's choice)": (4, 4, 2, 1),
}


def _entry(idx: int, k: int) -> str:
    return "0" if idx < 0 else f"w_{{{idx // k + 1}{idx % k + 1}}}"


def matrix_latex(index: torch.Tensor, k: int) -> str:
    rows = [" & ".join(_entry(int(v), k) for v in row) for row in index]
    return r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"


def vector_latex(name: str, n: int, column: bool = False) -> str:
    """The flattened n×n image as a column; long ones written as a transposed row (they fit the page)
    unless ``column`` (beside a tall matrix)."""
    entries = [f"{name}_{{{i // n + 1}{i % n + 1}}}" for i in range(n * n)]
    if len(entries) <= 4 or column:
        return r"\begin{pmatrix}" + r" \\ ".join(entries) + r"\end{pmatrix}"
    return r"\begin{pmatrix}" + " & ".join(entries) + r"\end{pmatrix}^{\!\top}"


def index_figure(index: torch.Tensor, k: int, title: str) -> go.Figure:
    z = index.numpy().astype(float)
    z[z < 0] = np.nan
    text = [[_entry(int(v), k).replace("_{", "").replace("}", "") if v >= 0 else "" for v in row] for row in index]
    fig = go.Figure(go.Heatmap(z=z, text=text, texttemplate="%{text}" if index.shape[1] <= 36 else "",
                               colorscale="Viridis", showscale=False, hoverinfo="text", xgap=1, ygap=1))
    fig.update_yaxes(autorange="reversed", title="row")
    fig.update_xaxes(title="column", side="top")
    fig.update_layout(title=title, height=min(520, 120 + 18 * index.shape[0]), margin=dict(l=10, r=10, t=60, b=10))
    return fig


def count_figure(counts: torch.Tensor, title: str) -> go.Figure:
    z = counts.numpy().astype(float)
    show = counts.shape[0] <= 16
    fig = go.Figure(go.Heatmap(z=z, text=counts.numpy().astype(np.int64) if show else None,
                               texttemplate="%{text}" if show else None, colorscale="Blues",
                               showscale=not show, xgap=1 if show else 0, ygap=1 if show else 0,
                               hovertemplate="row %{y}, column %{x}: %{z:.0f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", scaleratio=1, showticklabels=False, showgrid=False)
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_layout(title=title, height=380, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def pattern_verdict(counts: torch.Tensor) -> str:
    """Whether the interior of an overlap map is even (no checkerboard) or periodic (a checkerboard)."""
    n = counts.shape[0]
    inner = counts[n // 4: n - n // 4, n // 4: n - n // 4] if n >= 4 else counts
    values = sorted(set(inner.flatten().tolist()))
    if len(values) == 1:
        return f"Even: every interior output pixel receives {values[0]} contributions, so no checkerboard."
    return (f"Uneven: interior pixels receive {', '.join(map(str, values))} contributions in a repeating "
            "pattern — the checkerboard a transposed convolution draws before training has learned to hide it.")


def _size(columns: int) -> str:
    """A KaTeX size command so that a matrix of this many columns fits the page."""
    return r"\scriptsize " if columns > 10 else (r"\small " if columns > 6 else "")


def _example_chosen() -> None:
    m, k, s, p = EXAMPLES[st.session_state["tc_example"]]
    st.session_state.update(tc_m=m, tc_k=k, tc_s=s, tc_p=p)


def explainer() -> None:
    for key, value in zip(("tc_m", "tc_k", "tc_s", "tc_p"), EXAMPLES[next(iter(EXAMPLES))]):
        st.session_state.setdefault(key, value)
    st.selectbox("Start from", list(EXAMPLES), key="tc_example", on_change=_example_chosen)
    c = st.columns(4)
    m = c[0].number_input("Input size (m×m)", 1, 8, key="tc_m")
    k = c[1].number_input("Kernel size", 1, 7, key="tc_k")
    s = c[2].number_input("Stride", 1, 4, key="tc_s")
    p = c[3].number_input("Padding", 0, 3, key="tc_p")
    n = cm.transposed_out(m, k, s, p)
    try:
        if n < 1:
            raise ValueError(f"an input of {m}×{m} with kernel {k}, stride {s} and padding {p} gives no output "
                             "pixels: lower the padding or raise the kernel size")
        cm.check(n, k, s, p, "output")
        index = cm.weight_index_matrix(n, k, s, p)
    except ValueError as exc:
        st.error(plain(str(exc)))
        return
    st.markdown(f"**Transposed convolution: {m}×{m} → {n}×{n}** (output size (m − 1)·s − 2p + k = "
                f"({m} − 1)·{s} − 2·{p} + {k} = {n}). It is the transpose of the convolution that maps {n}×{n} "
                f"to {m}×{m} with the same kernel, stride and padding:")
    st.markdown(f"Convolution as a matrix **C** ({m * m}×{n * n}): z = C x")
    if index.shape[1] <= MAX_LATEX_COLUMNS:
        st.latex(_size(index.shape[1]) + matrix_latex(index, k) + vector_latex("x", n) + " = " + vector_latex("z", m))
    else:
        st.plotly_chart(index_figure(index, k, "C: which weight multiplies which input pixel"),
                        key="tc_c", config={"displayModeBar": False})
    left, right = st.columns([1, 1.2], gap="large")
    with left:
        st.markdown(f"Transposed convolution **Cᵀ** ({n * n}×{m * m}): x = Cᵀ z")
        if index.shape[0] <= 8 and index.shape[1] <= MAX_LATEX_COLUMNS:
            st.latex(_size(index.shape[0]) + matrix_latex(index.T, k) + vector_latex("z", m) + " = "
                     + vector_latex("x", n, column=True))
        else:
            st.plotly_chart(index_figure(index.T, k, "Cᵀ"), key="tc_ct", config={"displayModeBar": False})
    counts = cm.overlap_map(m, k, s, p)
    with right:
        st.plotly_chart(count_figure(counts, f"Overlap counts of one layer ({n}×{n})"), key="tc_overlap",
                        config={"displayModeBar": False})
        st.markdown(pattern_verdict(counts))
    st.caption("Cᵀ restores the shape, not the values: applying C and then Cᵀ does not give the input back "
               "(it is not an inverse).")
    z, w = torch.randn(m, m, generator=torch.Generator().manual_seed(0)), torch.randn(k, k, generator=torch.Generator().manual_seed(1))
    ours = cm.transposed_conv(z, w, s, p)
    ref = torch.nn.functional.conv_transpose2d(z[None, None].double(), w[None, None].double(), stride=s, padding=p)[0, 0]
    st.caption(f"Check on random numbers: Cᵀz against torch's conv_transpose2d, largest difference "
               f"{float((ours - ref).abs().max()):.1e}.")
    a, b = st.columns([1, 1.2], gap="large")
    with a:
        st.markdown("**An untrained generator's upsampling stack.** The same transposed convolution applied "
                    "again and again to a flat input, with kernels of ones: the overlap pattern compounds at "
                    "every layer (Odena et al. 2016, “Deconvolution and Checkerboard Artifacts”). With kernel 4 and "
                    "stride 2 only a smooth fall-off at the borders remains; kernel 3 with stride 2 leaves a grid "
                    "pattern everywhere.")
    with b:
        layers = st.slider("Layers of the same upsampling (constant input, kernels of ones)", 1, 4, 3, key="tc_layers")
        try:
            stack = cm.stacked_overlap(m, k, s, p, layers)
            size = stack.shape[0]
            if size > 256:
                raise ValueError(f"{layers} layers make a {size}×{size} output; use fewer layers")
            st.plotly_chart(count_figure(stack.round().long(), f"After {layers} layer(s): {size}×{size}"),
                            key="tc_stack", config={"displayModeBar": False})
        except ValueError as exc:
            st.error(plain(str(exc)))
