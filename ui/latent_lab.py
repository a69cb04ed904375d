"""Latent lab widgets: sliders (raw dimensions or principal directions), interpolation with GIF export,
and vector arithmetic (picked samples or class means), on a live run's generator or a checkpoint's.

Each tab's interactive part is a fragment, so moving a slider reruns only the sliders and their image:
one generator call on a frozen copy of G (``GeneratorView``) and one small picture, a dozen messages to the
browser. Nothing here touches the training thread.
"""
from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from gan_core import latent
from gan_core.viz import tile_images
from ui.charts import upscale

MAX_SLIDERS = 8
SLIDER_RANGE = 3.0  # +-3 standard deviations of the N(0, I) prior


def _z0(seed: int, z_dim: int) -> torch.Tensor:
    return torch.randn(z_dim, generator=torch.Generator().manual_seed(int(seed)))


def _image(x: torch.Tensor, target: int = 256) -> np.ndarray:
    """(C, H, W) or (B, C, H, W) in [-1, 1] -> uint8 picture, enlarged with nearest neighbours."""
    grid = tile_images(x if x.dim() == 4 else x[None], nrow=x.shape[0] if x.dim() == 4 else 1, pad=0)
    return upscale(grid, target)


def _labels(view, n: int):
    if not view.num_classes:
        return None
    cls = st.session_state.get("lat_class", 0)
    return torch.full((n,), int(cls), dtype=torch.long)


def _toy_figure(view, points: torch.Tensor, highlight: torch.Tensor) -> go.Figure:
    cloud = view.generate(torch.randn(800, view.z_dim, generator=torch.Generator().manual_seed(0)))
    fig = go.Figure()
    if view.data_shape == (1,):
        fig.add_trace(go.Histogram(x=cloud[:, 0].numpy(), nbinsx=60, name="G(z), random z", opacity=0.5))
        for i, p in enumerate(highlight[:, 0].tolist()):
            fig.add_vline(x=p, line_color="#d62728" if i == 0 else "#ff9896")
    else:
        fig.add_trace(go.Scatter(x=cloud[:, 0].numpy(), y=cloud[:, 1].numpy(), mode="markers", name="G(z), random z",
                                 marker=dict(size=3, color="#c5b0d5")))
        fig.add_trace(go.Scatter(x=points[:, 0].numpy(), y=points[:, 1].numpy(), mode="lines+markers", name="path",
                                 marker=dict(size=5, color="#9467bd")))
        fig.add_trace(go.Scatter(x=highlight[:, 0].numpy(), y=highlight[:, 1].numpy(), mode="markers",
                                 name="G(z)", marker=dict(size=12, color="#d62728", symbol="x")))
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=10, b=10), uirevision="latent-toy",
                      legend=dict(orientation="h", y=-0.1))
    return fig


# ---- shared controls -------------------------------------------------------------------------------------
def _resample(key: str) -> None:
    st.session_state[key] = int(np.random.default_rng().integers(0, 100_000))


def common_controls(view) -> float:
    """Class picker (conditional generators) and truncation; returns psi."""
    cols = st.columns([1, 1, 2])
    if view.num_classes:
        names = view.class_names or [str(i) for i in range(view.num_classes)]
        cols[0].selectbox("Categorical code" if view.is_code else "Class", range(view.num_classes),
                          format_func=lambda i: names[i], key="lat_class")
    st.session_state.setdefault("lat_psi", 1.0)
    psi = cols[1].slider("Truncation ψ", 0.0, 1.0, step=0.05, key="lat_psi",
                         help="Scales z towards the mean: lower ψ trades variety for typical, cleaner samples.")
    cols[2].caption(f"Generator at step {view.step:,} · z has {view.z_dim} dimensions · {view.dataset}")
    if psi == 0:
        st.warning("ψ = 0 pulls every z onto the mean, so every sample is the same and the sliders move "
                   "nothing. Raise ψ to see the latent space again.", icon=":material/warning:")
    return psi


# ---- sliders ------------------------------------------------------------------------------------------------
def _dim_label(view, d: int) -> str:
    first_code = view.z_dim - view.continuous_codes
    return f"z[{d}] = continuous code c{d - first_code + 1}" if view.continuous_codes and d >= first_code else f"z[{d}]"


def _sync_raw_sliders(seed: int, view, dims: list) -> None:
    """Put the sliders of the shown dimensions at the seed's values (only those: every session-state key
    makes each widget call slower)."""
    tag = (int(seed), view.z_dim, tuple(dims))
    if st.session_state.get("_lat_raw_tag") != tag:
        z0 = _z0(seed, view.z_dim)
        for key in [k for k in st.session_state if str(k).startswith("lat_z_")]:
            del st.session_state[key]
        for d in dims:
            st.session_state[f"lat_z_{d}"] = float(max(-SLIDER_RANGE, min(SLIDER_RANGE, z0[d])))
        for k in range(MAX_SLIDERS):
            st.session_state[f"lat_pc_{k}"] = 0.0
        st.session_state["_lat_raw_tag"] = tag


def _directions(view, key) -> latent.Directions:
    cache = st.session_state.get("_lat_dirs")
    if cache is None or cache[0] != key:
        with st.spinner("Finding principal directions (PCA over 2,048 samples)…"):
            labels = _labels(view, 2048)
            dirs = latent.principal_directions(view.G, view.z_dim, k=MAX_SLIDERS, labels=labels, device=view.device)
        st.session_state["_lat_dirs"] = cache = (key, dirs)
    return cache[1]


def slider_controls(view) -> tuple:
    """Seed, slider kind, truncation and (for big z) which dimensions: changed rarely, so they live outside
    the slider fragment and keep its reruns small. Returns (seed, mode, psi, dims)."""
    c = st.columns([1, 1, 2])
    seed = c[0].number_input("Seed", 0, 2**31 - 1, step=1, key="lat_seed")
    c[1].button("Resample", key="lat_resample", on_click=_resample, args=("lat_seed",), icon=":material/casino:")
    mode = c[2].radio("Sliders move", ("raw dimensions", "principal directions"), horizontal=True, key="lat_mode",
                      help="Principal directions: the latent directions that move the output along its top "
                           "principal components (GANSpace).")
    psi = common_controls(view)
    dims = list(range(view.z_dim))
    if mode == "raw dimensions" and view.z_dim > MAX_SLIDERS:
        codes = dims[view.z_dim - view.continuous_codes:] if view.continuous_codes else []
        default = dims[:MAX_SLIDERS - len(codes)] + codes  # learned codes (InfoGAN) are always shown
        dims = st.multiselect("Dimensions shown", dims, default=default, max_selections=12, key="lat_dims",
                              format_func=lambda d: _dim_label(view, d))
    _sync_raw_sliders(seed, view, dims)
    return seed, mode, psi, dims


def slider_panel(get_view, source_key: str, seed: int, mode: str, psi: float, dims: list) -> None:
    """The sliders and the image they drive (a fragment: a slider move reruns only this)."""
    view = get_view()
    left, right = st.columns([1.6, 1])
    base = _z0(seed, view.z_dim)
    with left:
        if mode == "raw dimensions":
            for d in dims:
                st.slider(_dim_label(view, d), -SLIDER_RANGE, SLIDER_RANGE, step=0.05, key=f"lat_z_{d}")
            state = st.session_state
            z = torch.tensor([state.get(f"lat_z_{d}", float(base[d])) for d in range(view.z_dim)])
        else:
            dirs = _directions(view, (source_key, view.step // 500))
            z = base.clone()
            for k in range(dirs.vectors.shape[0]):
                st.slider(f"PC {k + 1}: {100 * dirs.explained[k]:.1f}% of variance (fit R² {dirs.fit[k]:.2f})",
                          -SLIDER_RANGE, SLIDER_RANGE, step=0.05, key=f"lat_pc_{k}")
                z = z + st.session_state.get(f"lat_pc_{k}", 0.0) * dirs.vectors[k]
    out = view.generate(latent.truncate(z, psi)[None], _labels(view, 1))
    with right:
        if view.is_image:
            st.image(_image(out[0], 320), caption=f"G(z), seed {seed}", width=320)
        else:
            st.plotly_chart(_toy_figure(view, out, out), key="lat_toy", config={"displayModeBar": False})


# ---- interpolation --------------------------------------------------------------------------------------------
def gif_bytes(frames: np.ndarray, ms_per_frame: int = 120) -> bytes:
    """Animated GIF (looping, there and back) from uint8 frames (T, H, W[, 3])."""
    from PIL import Image
    seq = list(frames) + list(frames[-2:0:-1])
    images = [Image.fromarray(f) for f in seq]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=ms_per_frame, loop=0)
    return buf.getvalue()


def interpolation_body(get_view, source_key: str) -> None:
    view = get_view()
    c = st.columns([1, 1, 1.2, 1.4])
    a = c[0].number_input("Seed A", 0, 2**31 - 1, step=1, key="lat_ia")
    b = c[1].number_input("Seed B", 0, 2**31 - 1, value=1, step=1, key="lat_ib")
    steps = c[2].slider("Steps", 2, 16, 8, key="lat_isteps")
    mode = c[3].radio("Path", ("spherical", "linear"), horizontal=True, key="lat_imode",
                      help="Spherical (slerp) stays where the Gaussian prior has its mass; linear cuts "
                           "through the low-norm middle of the space.")
    c[0].button("Random A", key="lat_ra", on_click=_resample, args=("lat_ia",))
    c[1].button("Random B", key="lat_rb", on_click=_resample, args=("lat_ib",))
    psi = st.session_state.get("lat_psi", 1.0)
    zs = latent.truncate(latent.interpolate(_z0(a, view.z_dim), _z0(b, view.z_dim), steps, mode), psi)
    out = view.generate(zs, _labels(view, steps))
    if not view.is_image:
        st.plotly_chart(_toy_figure(view, out, out[[0, -1]]), key="lat_itoy", config={"displayModeBar": False})
        return
    strip = tile_images(out, nrow=steps, pad=1)
    st.image(upscale(strip, 96 * steps), caption=f"{mode} interpolation, seed {a} → seed {b}, {steps} steps")
    frames = np.stack([upscale(tile_images(o[None], nrow=1, pad=0), 192) for o in out])
    ms = st.slider("GIF frame duration (ms)", 40, 500, 120, 20, key="lat_gifms")
    data = gif_bytes(frames, ms)
    g1, g2 = st.columns([1, 3])
    g1.image(data, caption="GIF preview")
    g2.download_button("Download GIF", data, file_name=f"interpolation_{a}_{b}_{mode}.gif", mime="image/gif",
                       icon=":material/download:", key="lat_gif")


# ---- arithmetic -----------------------------------------------------------------------------------------------
def _variants(view, z: torch.Tensor, n: int = 8, scale: float = 0.25) -> torch.Tensor:
    noise = torch.randn(n, view.z_dim, generator=torch.Generator().manual_seed(7)) * scale
    return torch.cat([z[None], z[None] + noise])


def arithmetic_body(get_view, source_key: str) -> None:
    view = get_view()
    psi = st.session_state.get("lat_psi", 1.0)
    seed = st.number_input("Candidates seed", 0, 2**31 - 1, step=1, key="lat_aseed")
    zc = torch.randn(24, view.z_dim, generator=torch.Generator().manual_seed(int(seed)))
    cand = view.generate(latent.truncate(zc, psi), _labels(view, 24))
    if not view.is_image:
        st.info("Vector arithmetic is shown for image data; on toy data the latent lab's sliders and "
                "interpolation show where each z lands.")
        return
    st.image([_image(c, 64) for c in cand], caption=[f"#{i}" for i in range(24)], width=64)
    c = st.columns(3)
    groups = {}
    for col, (name, default) in zip(c, (("A", [0, 1, 2]), ("B", [3, 4, 5]), ("C", [6, 7, 8]))):
        groups[name] = col.multiselect(f"Group {name}", range(24), default=default, key=f"lat_g{name}",
                                       format_func=lambda i: f"#{i}")
    if not all(groups.values()):
        st.warning("Pick at least one sample for each of A, B and C.")
    else:
        za, zb, zc_ = (zc[groups[k]] for k in "ABC")
        result = latent.truncate(latent.arithmetic(za, zb, zc_), psi)
        means = view.generate(latent.truncate(torch.stack([za.mean(0), zb.mean(0), zc_.mean(0)]), psi),
                              _labels(view, 3))
        outs = view.generate(_variants(view, result), _labels(view, 9))
        m = st.columns([1, 1, 1, 3])
        for col, img, label in zip(m, means, ("mean A", "mean B", "mean C")):
            col.image(_image(img, 96), caption=label)
        m[3].image(_image(outs, 96 * 9), caption="A − B + C (first), then with small noise added")
    _class_arithmetic(view, psi)


def _class_arithmetic(view, psi: float) -> None:
    """Class means of z, labelled by the project's classifier (unconditional generators of digits)."""
    from gan_core.classifier import classifier_for, load_classifier
    kind = classifier_for(view.dataset)
    if kind is None or view.num_classes:
        return
    st.markdown("**Class-mean arithmetic** — z averaged over 2,000 samples the classifier assigns to each class")
    clf = load_classifier(kind)
    z = torch.randn(2000, view.z_dim, generator=torch.Generator().manual_seed(11))
    labels = clf.predict(view.generate(z))
    if labels.max() >= 10:
        return
    means, counts = latent.class_means(z, labels, 10)
    c = st.columns(3)
    a = c[0].selectbox("class a", range(10), index=7, key="lat_ca")
    b = c[1].selectbox("minus class b", range(10), index=1, key="lat_cb")
    cc = c[2].selectbox("plus class c", range(10), index=4, key="lat_cc")
    if min(counts[a], counts[b], counts[cc]) == 0:
        st.warning("The generator produced no sample of one of these classes; pick others or train longer.")
        return
    result = latent.truncate(means[a] - means[b] + means[cc], psi)
    outs = view.generate(_variants(view, result))
    st.image(_image(outs, 96 * 9), caption=f"mean z({a}) − mean z({b}) + mean z({cc}) "
                                           f"(from {int(counts[a])}, {int(counts[b])}, {int(counts[cc])} samples)")
