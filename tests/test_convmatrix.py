"""The transposed-convolution explainer: gan_core.convmatrix against torch's own convolutions, the lecture's
worked example, the overlap counts that predict checkerboards, and the Upsampling page (AppTest)."""
from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from helpers_ui import clean_registry, new_session, rendered  # noqa: F401

from gan_core import convmatrix as cm

CASES = [(m, k, s, p) for m, k, s, p in itertools.product((1, 2, 3, 5), (1, 2, 3, 4, 5), (1, 2, 3), (0, 1, 2))
         if p < k and cm.transposed_out(m, k, s, p) >= 1 and cm.transposed_out(m, k, s, p) + 2 * p >= k]


@pytest.mark.parametrize("m,k,s,p", CASES)
def test_transpose_of_the_conv_matrix_is_conv_transpose2d(m, k, s, p):
    g = torch.Generator().manual_seed(m * 100 + k * 10 + s + p)
    z, w = torch.randn(m, m, generator=g, dtype=torch.float64), torch.randn(k, k, generator=g, dtype=torch.float64)
    ref = F.conv_transpose2d(z[None, None], w[None, None], stride=s, padding=p)[0, 0]
    assert torch.allclose(cm.transposed_conv(z, w, s, p), ref, atol=1e-12)
    n = ref.shape[-1]
    x = torch.randn(n, n, generator=g, dtype=torch.float64)
    C = cm.conv_matrix(w, n, s, p)
    assert torch.allclose((C @ x.flatten()).view(m, m), F.conv2d(x[None, None], w[None, None], stride=s, padding=p)[0, 0],
                          atol=1e-12)


def test_the_lecture_example_2x2_kernel_3_gives_4x4():
    index = cm.weight_index_matrix(4, 3, 1, 0)  # the convolution 4x4 -> 2x2 of seed 004
    assert index.shape == (4, 16)
    # first row: w11 w12 w13 0 w21 w22 w23 0 w31 w32 w33 0 0 0 0 0
    assert index[0].tolist() == [0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, -1, -1, -1, -1]
    assert index[3].tolist() == [-1] * 5 + [0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8]
    t = index.T  # the transposed convolution 2x2 -> 4x4: row x22 holds w22 w21 w12 w11
    assert t[5].tolist() == [4, 3, 1, 0]
    assert cm.transposed_out(2, 3, 1, 0) == 4


def test_not_an_inverse():
    w = torch.randn(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    C = cm.conv_matrix(w, 4, 1, 0)
    assert not torch.allclose(C.T @ C, torch.eye(16, dtype=torch.float64))


def test_overlap_counts_predict_the_checkerboard():
    uneven = cm.overlap_map(4, 3, 2, 1)
    assert uneven[1:-1, 1:-1].unique().tolist() == [1, 2, 4]  # k 3, s 2: rows/cols alternate 1, 2
    assert uneven[1, 1:6].tolist() == [4, 2, 4, 2, 4]
    even = cm.overlap_map(4, 4, 2, 1)
    assert even[1:-1, 1:-1].unique().tolist() == [4]  # k 4, s 2: even inside
    def alternations(stack):  # sign changes of the differences along the middle row: a grid pattern
        row = stack[stack.shape[0] // 2]
        d = torch.sign(row[1:] - row[:-1])
        d = d[d != 0]
        return int((d[1:] != d[:-1]).sum())

    grid = cm.stacked_overlap(4, 3, 2, 1, 3)
    assert grid.shape[0] == cm.transposed_out(cm.transposed_out(cm.transposed_out(4, 3, 2, 1), 3, 2, 1), 3, 2, 1)
    assert alternations(grid) >= grid.shape[0] // 2  # up, down, up...: the checkerboard, compounded
    smooth = cm.stacked_overlap(4, 4, 2, 1, 3)
    assert smooth.shape == (32, 32) and alternations(smooth) <= 2  # a fall-off at the borders only


@pytest.mark.parametrize("args, message", [((4, 3, 1, 3), "padding = 3 must be smaller than the kernel size 3"),
                                           ((2, 9, 1, 0), "kernel size = 9 must be a whole number in"),
                                           ((2, 5, 1, 0), "larger than the padded input")])
def test_impossible_settings_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        cm.weight_index_matrix(*args)


@pytest.mark.usefixtures("clean_registry")
def test_upsampling_page_shows_the_matrices_and_the_verdict():
    at = rendered(new_session())
    at.switch_page("pages/upsampling.py")
    rendered(at)
    assert [t.value for t in at.title] == ["Upsampling"]
    latex = [el.proto.body for el in at.get("latex")] if at.get("latex") else []
    latex = latex or [el.value for el in at.latex]
    assert any("w_{11}" in t and "x_{44}" in t for t in latex)  # C and C^T of the lecture's example
    assert any(m.value.startswith("**Transposed convolution: 2×2 → 4×4**") for m in at.markdown)
    assert any("largest difference 0.0e+00" in c.value or "e-1" in c.value for c in at.caption)
    at.selectbox(key="tc_example").set_value("Uneven overlap: kernel 3, stride 2 (checkerboard)")
    rendered(at)
    assert (at.number_input(key="tc_k").value, at.number_input(key="tc_s").value) == (3, 2)
    assert any(m.value.startswith("Uneven") for m in at.markdown)
    at.number_input(key="tc_k").set_value(4)
    rendered(at)
    assert any(m.value.startswith("Even") for m in at.markdown)
    at.number_input(key="tc_p").set_value(3)
    at.number_input(key="tc_k").set_value(3)
    rendered(at)
    assert any("padding" in e.value and "smaller than the kernel size" in e.value for e in at.error)
