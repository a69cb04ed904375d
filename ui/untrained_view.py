"""The untrained generators panel (Upsampling page): what a freshly initialised DCGAN generator of each
upsampling kind draws from a constant input (or one random z), side by side, with the period after which the
pattern repeats. Numbers and pictures come from gan_core.untrained; this module only lays them out."""
from __future__ import annotations

import numpy as np
import streamlit as st

from gan_core.untrained import INPUTS, LABELS, period, phase_share, untrained_output
from gan_core.viz import png_bytes

ORDER = ("transposed", "transposed3", "mixed", "resize")
SIZES = (28, 32, 64)
SHOWN_PX = 192  # each picture's side on the page (whole-pixel enlargement: crisp at every image size)


@st.cache_data(max_entries=64, show_spinner=False)
def _output(mode: str, size: int, seed: int, source: str):
    return untrained_output(mode, size, seed, source)  # a few ms to build, but every rerun of the page asks


def picture(img) -> bytes:
    """A min-max scaled grey PNG of the (H, W) output, enlarged by whole pixels to SHOWN_PX or a little more."""
    x = img.double().numpy()
    lo, hi = float(x.min()), float(x.max())
    grey = np.zeros_like(x) if hi - lo <= 1e-12 * max(abs(hi), 1e-30) else (x - lo) / (hi - lo)
    scale = -(-SHOWN_PX // x.shape[0])  # at least SHOWN_PX, shown at its own size (no blur from rescaling)
    return png_bytes(np.kron((grey * 255).round().astype(np.uint8), np.ones((scale, scale), dtype=np.uint8)))


def pattern_line(img) -> str:
    p = period(img)
    share = phase_share(img, 2)
    if p == 1:
        return "Flat inside: every interior pixel has the same value (only the borders fall off)."
    repeat = f"Repeats exactly every **{p} pixels**" if p else "No exact repeat"
    return f"{repeat}; a period-2 checkerboard holds {share:.0%} of the interior's variation."


def run_upsample(run) -> tuple[str | None, int]:
    """The upsampling and image size of the run's generator when it is a DCGAN (else None and 32)."""
    model = run.trainer.cfg.model
    if model.arch != "dcgan":
        return None, 32
    shape = getattr(run.trainer.G, "out_shape", (1, 32, 32))
    return model.upsample, shape[-1] if shape[-1] in SIZES else 32


def untrained_panel(run=None) -> None:
    st.markdown("**Before any training**: what a freshly initialised DCGAN generator of each upsampling kind "
                "draws (random N(0, 0.02) weights, as the paper sets them).")
    ours, size = run_upsample(run) if run is not None else (None, 32)
    controls, *pictures = st.columns([1.05, 1, 1, 1, 1], gap="medium")
    with controls:
        size = st.selectbox("Image size", SIZES, index=SIZES.index(size), key="ut_size",
                            help="28 px starts from a 7×7 map and doubles twice; 32 and 64 start from 4×4.")
        source = st.radio("Input", INPUTS, horizontal=True, key="ut_source",
                          help="constant: a map of ones where the projection of z would be; random z: the whole "
                               "generator on one noise vector (the pattern sits under random blobs).")
        seed = st.number_input("Seed (the random weights)", 0, 9999, 0, key="ut_seed")
    for col, mode in zip(pictures, ORDER):
        img = _output(mode, int(size), int(seed), source)
        with col:
            st.markdown(f"**{LABELS[mode]}**" + (" · *this run's*" if mode == ours else ""))
            st.image(picture(img), output_format="PNG")
            st.caption(pattern_line(img))
    st.caption("With a *constant* input every pixel of a layer sees the same values, so whatever varies inside a "
               "picture was made by the upsampling layers themselves. A transposed convolution multiplies each output "
               "phase by a different part of its kernel: the pattern doubles its period at every layer (the lecture's "
               "“artifacts of frequency 2 and 4”), even with kernel 4 and stride 2, whose overlap *counts* are even "
               "(first tab). A resize followed by a convolution leaves the inside flat (Odena et al. 2016). Each picture "
               "is scaled to its own darkest and brightest pixel (an untrained generator's outputs are tiny). "
               "Setup → Model → **Upsampling** picks the kind a run trains with; the *Spectrum* tab shows what is "
               "left of the pattern after training.")
