"""The Latent lab's panel for a translating generator (CycleGAN): pick one of domain A's images (the bank G
keeps) or upload an image, and see it, its translation and the way back side by side; for points, type a
point. Works on the live run's frozen copy of G (``GeneratorView``) or a checkpoint's; never touches training."""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from gan_core.data.decode import decode_upload
from gan_core.data.limits import UploadLimits
from gan_core.viz import tile_images
from ui.charts import upscale

PICTURE_PX = 180


def _picture(x: torch.Tensor) -> np.ndarray:
    return upscale(tile_images(x[:1], nrow=1, pad=0), PICTURE_PX)


def _bank_picker(view) -> torch.Tensor:
    """Domain A's bank as a strip to choose from, and the chosen image (1, C, H, W)."""
    bank = view.source_bank
    n = bank.shape[0]
    idx = st.slider("Image of domain A", 0, n - 1, 0, key="tr_pick",
                    help="The bank of domain-A images this generator keeps; the first 16 are the Train page's strip.")
    st.image(upscale(tile_images(bank[:32], nrow=16, pad=1), 420),
             caption=f"Domain A's first 32 of {n} images (0–15 on top, 16–31 below)")
    return bank[idx:idx + 1]


def _upload(view) -> torch.Tensor | None:
    side = view.data_shape[-1]
    file = st.file_uploader(f"Upload an image (centre-cropped, resized to {side}×{side})",
                            type=["png", "jpg", "jpeg", "bmp", "gif", "webp"], key="tr_upload")
    if file is None:
        return None
    limits = UploadLimits.from_env()
    data = file.getvalue()
    if len(data) > limits.max_upload_mb * 2**20:
        st.error(f"The file is {len(data) / 2**20:.0f} MB, over the {limits.max_upload_mb} MB upload limit.")
        return None
    try:
        return decode_upload(data, tuple(view.data_shape), limits.max_pixels)
    except ValueError as exc:
        st.error(f"{file.name}: {exc}.")
        return None


def _images_body(view) -> None:
    left, right = st.columns([1, 1.5], gap="large")
    with left:
        direction = st.radio("Direction", ("A → B (G_AB)", "B → A (G_BA)"), horizontal=True, key="tr_direction")
        back = direction.startswith("B")
        choice = st.radio("Input", ("Domain A's images", "Upload"), horizontal=True, key="tr_input", disabled=back,
                          help="G_BA translates images of domain B: upload one." if back else None)
        x = _upload(view) if back or choice == "Upload" else _bank_picker(view)
    with right:
        if x is None:
            st.info("Upload an image of domain B to translate it back to A." if back else
                    "Upload an image to translate it.", icon=":material/upload:")
            return
        out = view.translate(x, back=back)
        again = view.translate(out, back=not back)
        names = ("B", "B → A", "B → A → B") if back else ("A", "A → B", "A → B → A")
        cols = st.columns(3)
        for col, img, name in zip(cols, (x, out, again), names):
            col.image(_picture(img), caption=name, width=PICTURE_PX)
        err = float((again - x).abs().mean())
        st.caption(f"Round-trip error |{names[2]} − {names[0]}| = {err:.3f} (mean over pixels in [−1, 1]); "
                   f"generator at step {view.step:,}.")


def _points_body(view) -> None:
    c = st.columns(4)
    start = view.source_bank[0].tolist()
    x = c[0].number_input("x", -10.0, 10.0, float(round(start[0], 2)), 0.1, key="tr_x")
    y = c[1].number_input("y", -10.0, 10.0, float(round(start[1], 2)), 0.1, key="tr_y")
    back = c[2].radio("Direction", ("A → B", "B → A"), key="tr_pdirection") == "B → A"
    p = torch.tensor([[x, y]], dtype=torch.float32)
    out = view.translate(p, back=back)
    again = view.translate(out, back=not back)
    c[3].markdown(f"**{'G_BA' if back else 'G_AB'}(p)** = ({out[0, 0]:.3f}, {out[0, 1]:.3f})  \n"
                  f"**round trip** = ({again[0, 0]:.3f}, {again[0, 1]:.3f})")
    st.caption("The Train page draws G_AB for many points at once: arrows from domain A to where each point goes.")


def translate_body(get_view) -> None:
    view = get_view()
    st.caption(f"CycleGAN at step {view.step:,} · {view.dataset} is domain B · G takes a sample of domain A, "
               "not noise, so this page translates instead of sliding through a latent space.")
    if view.is_image:
        _images_body(view)
    else:
        _points_body(view)
