"""Hyperparameters that change while the run trains (applied with ``Run.set`` at the next step).

Every widget here mirrors the run: on each full rerun its value is written from the run's config before
the widget is drawn, so after a page switch, a refresh, or a change made in another tab the widgets show
what the run really uses (Streamlit forgets a widget's value when its page is left; without this the
widgets came back at their minimum and the next "+" applied a value computed from that).
"""
from __future__ import annotations

import streamlit as st

from gan_core.families import get_family
from gan_core.losses import LOSSES
from ui.family_view import field_widget
from ui.lecture import can_control, refuse
from ui.text import plain

LIVE_KEYS = ("loss", "lr_g", "lr_d", "d_steps", "batch_size", "instance_noise", "noise_anneal_steps",
             "label_smoothing", "r1_gamma", "gp_weight", "clip_value", "g_ema")


def _keys(run) -> tuple:
    """The shared live fields, then the run's family's own."""
    return LIVE_KEYS + tuple(get_family(run.config.model.family).live_fields)


def sync_from_run(run) -> None:
    """Write the run's values into the widgets' state (before they are drawn in this script run)."""
    flat = run.config.flat()
    for name in _keys(run):
        st.session_state[f"live_{name}"] = flat[name]


def _apply(run, name: str) -> None:
    if refuse():
        return  # the next rerun writes the run's value back into the widget
    try:
        run.set(**{name: st.session_state[f"live_{name}"]})
        st.session_state.pop("_live_error", None)
    except ValueError as exc:
        st.session_state["_live_error"] = str(exc)


def _effective(name: str, run) -> str | None:
    """The learning rate the optimiser uses right now, when a schedule scales the typed one."""
    factor = run.trainer.lr_factor()
    if name in ("lr_g", "lr_d") and factor != 1.0:
        typed = getattr(run.config.train, name)
        return f"now {typed * factor:.2e} (schedule ×{factor:.2f})"
    return None


def live_hyperparameters(run, locked: str | None = None) -> None:
    """Widgets for everything that may change mid-run; each change reaches the loop at its next step. ``run``
    is a Run, or anything with its ``config``, ``set`` and ``trainer.lr_factor`` (ui.remote_params.RemoteRun);
    ``locked`` says why nothing can be changed now (the widgets are then shown disabled)."""
    sync_from_run(run)
    viewer = not can_control() or locked is not None
    kw = lambda name: dict(key=f"live_{name}", on_change=_apply, args=(run, name), disabled=viewer)  # noqa: E731
    st.markdown("**Live hyperparameters** — change them while it trains")
    if locked:
        st.caption(locked)
    c = st.columns([1.4, 1, 1, 0.8, 0.9, 0.9])
    own_loss = not get_family(run.config.model.family).uses_loss
    c[0].selectbox("Loss", list(LOSSES), help="This kind of GAN has its own loss; this choice is not used."
                   if own_loss else "\n\n".join(f"**{k}**: {v.about}" for k, v in LOSSES.items()),
                   **{**kw("loss"), "disabled": viewer or own_loss})
    for col, name, label in ((c[1], "lr_g", "G learning rate"), (c[2], "lr_d", "D learning rate")):
        col.number_input(label, min_value=1e-6, max_value=1.0, step=1e-4, format="%.1e", **kw(name),
                         help="What you type is the base rate; a decay schedule (train.lr_decay_steps) "
                              "scales it as training goes on.")
        note = _effective(name, run)
        if note:
            col.caption(note)
    c[3].number_input("D steps per G step", min_value=1, max_value=20, step=1, **kw("d_steps"))
    c[4].number_input("Batch size", min_value=1, max_value=8192, step=32, **kw("batch_size"))
    c[5].number_input("Averaged G decay", min_value=0.0, max_value=0.9999, step=0.001, format="%.4f",
                      help="Samples, pictures and evaluations from a running average of G's weights (e.g. 0.999): "
                           "steadier than the training G. 0 = the training G. Turned on, the average starts at "
                           "today's G.", **kw("g_ema"))
    c = st.columns([1.4, 1, 1, 0.8, 0.9, 0.9])
    c[0].slider("Instance noise (std)", 0.0, 1.0, step=0.01,
                help="Gaussian noise added to D's inputs, real and fake; blurs the boundary D can draw.",
                **kw("instance_noise"))
    c[1].number_input("Anneal noise over steps", min_value=0, max_value=10_000_000, step=500,
                      help="0 keeps the noise constant.", **kw("noise_anneal_steps"))
    c[2].slider("Label smoothing", 0.0, 0.5, step=0.05, help="One-sided: real targets become 1 - s.",
                **kw("label_smoothing"))
    c[3].number_input("R1 gamma", min_value=0.0, max_value=1000.0, step=0.01, format="%.3g",
                      help="Penalty gamma/2 * |grad D(real)|^2; 0 turns it off.", **kw("r1_gamma"))
    loss = run.config.loss.loss
    if loss in ("wgan_gp", "dragan"):
        c[4].number_input("GP weight", min_value=0.0, max_value=1000.0, step=1.0, **kw("gp_weight"))
    elif loss == "wgan":
        c[4].number_input("Clip value", min_value=1e-4, max_value=10.0, step=0.005, format="%.3g",
                          **kw("clip_value"))
    family = get_family(run.config.model.family)
    if family.live_fields:
        c = st.columns(5)
        c[0].markdown(f"**{family.title}**")
        for col, name in zip(c[1:], family.live_fields):
            field_widget(col, name, **kw(name))
    if "_live_error" in st.session_state:
        st.error(plain(st.session_state["_live_error"]))
