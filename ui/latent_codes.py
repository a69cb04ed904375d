"""The Latent lab's "Codes" tab for generators with learned codes (InfoGAN): the paper's figure, rows = the
categorical code's values and columns = one continuous code swept from -2 to 2 with the same noise, plus
sliders for every continuous code and a picker for the categorical one driving a single image. Drawn from
the view's attributes (``is_code``, ``continuous_codes``); no family is named here."""
from __future__ import annotations

import streamlit as st
import torch

from gan_core.viz import tile_images
from ui.charts import upscale

SWEEP = 2.0  # the continuous codes' prior is N(0, 1): +-2 std covers 95% of it
COLUMNS = 7


def has_codes(view) -> bool:
    return bool(view.is_code)


def code_dims(view) -> list:
    """Indices into z of the continuous codes (its last entries)."""
    return list(range(view.z_dim - view.continuous_codes, view.z_dim))


def code_grid(view, seed: int, sweep_code: int, columns: int = COLUMNS) -> torch.Tensor:
    """(K * columns, C, H, W) images: row k uses categorical value k, column j sets continuous code
    ``sweep_code`` to linspace(-2, 2)[j]; every other input is the seed's noise (the other codes at 0)."""
    z0 = torch.randn(view.z_dim, generator=torch.Generator().manual_seed(int(seed)))
    dims = code_dims(view)
    z0[dims] = 0.0
    values = torch.linspace(-SWEEP, SWEEP, columns)
    k = view.num_classes
    z = z0.repeat(k * columns, 1)
    if dims:
        z[:, dims[sweep_code]] = values.repeat(k)
    y = torch.arange(k).repeat_interleave(columns)
    return view.generate(z, y)


def codes_body(get_view, source_key: str) -> None:
    view = get_view()
    if not has_codes(view):
        st.info("This generator has no learned codes.")
        return
    n_cont = view.continuous_codes
    c = st.columns([1, 1.4, 2])
    seed = c[0].number_input("Noise seed", 0, 2**31 - 1, step=1, key="lat_code_seed")
    sweep = 0
    if n_cont:
        sweep = c[1].selectbox("Sweep continuous code", range(n_cont), format_func=lambda i: f"c{i + 1}",
                               key="lat_code_sweep")
    c[2].caption(f"Generator at step {view.step:,}: {view.num_classes} categorical values, {n_cont} continuous "
                 f"code{'s' if n_cont != 1 else ''} (z's last {n_cont} entries).")
    left, right = st.columns([1.7, 1], gap="medium")
    with left:
        grid = code_grid(view, seed, sweep)
        if view.is_image:
            cols = COLUMNS if n_cont else 1
            if not n_cont:
                grid = grid[::COLUMNS]
            picture = tile_images(grid, nrow=cols, pad=1)
            st.image(upscale(picture, 340), width=340,
                     caption=(f"Rows: categorical code 0 (top) to {view.num_classes - 1}. Columns: c{sweep + 1} from "
                              f"-{SWEEP:g} to +{SWEEP:g}, same noise everywhere. A good InfoGAN shows one digit "
                              "per row and one style change (slant, width) along each row."
                              if n_cont else "One row per categorical value, same noise."))
        else:
            st.caption("Codes on toy data: use the single-sample controls on the right.")
    with right:
        st.markdown("**One sample**")
        cat = st.selectbox("Categorical code", range(view.num_classes), key="lat_code_cat",
                           format_func=lambda i: f"code {i}")
        z = torch.randn(view.z_dim, generator=torch.Generator().manual_seed(int(seed)))
        for i, d in enumerate(code_dims(view)):
            z[d] = st.slider(f"Continuous code c{i + 1}", -SWEEP, SWEEP, 0.0, step=0.1, key=f"lat_code_c{i}")
        out = view.generate(z[None], torch.tensor([int(cat)]))
        if view.is_image:
            st.image(upscale(tile_images(out, nrow=1, pad=0), 200), width=200, caption="G(noise, codes)")
