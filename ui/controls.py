"""Run controls: the button row (drawn inside the live fragment so it follows the run's state) and the
hyperparameters that change while the run trains (applied with ``Run.set`` at the next step).

Widget values are re-synced from the run's config whenever it changes (another tab, a Reset, a preset),
so every open tab shows what the run really uses.
"""
from __future__ import annotations


import streamlit as st

from gan_core.losses import LOSSES
from ui.lecture import VIEWER_NOTE, can_control, refuse

LIVE_KEYS = ("loss", "lr_g", "lr_d", "d_steps", "batch_size", "instance_noise", "noise_anneal_steps",
             "label_smoothing", "r1_gamma", "gp_weight", "clip_value")


def _run_version(run) -> tuple:
    return run.id, run.config_version, id(run.trainer)


def _sync(run) -> None:
    if st.session_state.get("_live_synced") != _run_version(run):
        flat = run.config.flat()
        for name in LIVE_KEYS:
            st.session_state[f"live_{name}"] = flat[name]
        st.session_state["_live_synced"] = _run_version(run)


def _apply(run, name: str) -> None:
    if refuse():
        st.session_state["_live_synced"] = None  # put the widgets back to the run's values
        return
    try:
        run.set(**{name: st.session_state[f"live_{name}"]})
        st.session_state.pop("_live_error", None)
    except ValueError as exc:
        st.session_state["_live_error"] = str(exc)
    st.session_state["_live_synced"] = _run_version(run)


def live_hyperparameters(run) -> None:
    """Widgets for everything that may change mid-run; each change reaches the loop at its next step."""
    _sync(run)
    viewer = not can_control()
    kw = lambda name: dict(key=f"live_{name}", on_change=_apply, args=(run, name), disabled=viewer)  # noqa: E731
    st.markdown("**Live hyperparameters** — change them while it trains")
    c = st.columns([1.4, 1, 1, 0.8, 0.9])
    c[0].selectbox("Loss", list(LOSSES), help="\n\n".join(f"**{k}**: {v.about}" for k, v in LOSSES.items()),
                   **kw("loss"))
    c[1].number_input("G learning rate", min_value=1e-6, max_value=1.0, step=1e-4, format="%.1e", **kw("lr_g"))
    c[2].number_input("D learning rate", min_value=1e-6, max_value=1.0, step=1e-4, format="%.1e", **kw("lr_d"))
    c[3].number_input("D steps per G step", min_value=1, max_value=20, step=1, **kw("d_steps"))
    c[4].number_input("Batch size", min_value=1, max_value=8192, step=32, **kw("batch_size"))
    c = st.columns([1.4, 1, 1, 0.8, 0.9])
    c[0].slider("Instance noise (std)", 0.0, 1.0, step=0.01,
                help="Gaussian noise added to D's inputs, real and fake; blurs the boundary D can draw.",
                **kw("instance_noise"))
    c[1].number_input("Anneal noise over steps", min_value=0, max_value=10_000_000, step=500,
                      help="0 keeps the noise constant.", **kw("noise_anneal_steps"))
    c[2].slider("Label smoothing", 0.0, 0.5, step=0.05, help="One-sided: real targets become 1 - s.",
                **kw("label_smoothing"))
    c[3].number_input("R1 gamma", min_value=0.0, max_value=1000.0, step=0.01, format="%.3g",
                      help="Penalty gamma/2 * |grad D(real)|^2; 0 turns it off.", **kw("r1_gamma"))
    loss = st.session_state["live_loss"]
    if loss in ("wgan_gp", "dragan"):
        c[4].number_input("GP weight", min_value=0.0, max_value=1000.0, step=1.0, **kw("gp_weight"))
    elif loss == "wgan":
        c[4].number_input("Clip value", min_value=1e-4, max_value=10.0, step=0.005, format="%.3g",
                          **kw("clip_value"))
    if "_live_error" in st.session_state:
        st.error(st.session_state["_live_error"])


def _act(run, action: str) -> None:
    if refuse():
        return
    try:
        if action == "start":
            run.start()
        elif action == "pause":
            run.pause()
        elif action in ("both", "d", "g"):
            run.step_once(action)
        elif action == "stop":
            run.stop()
        elif action == "reset":
            run.reset()
        elif action == "save":
            path = run.save()
            st.toast(f"Saved step {run.step:,} to {path.parent}/", icon=":material/save:")
        elif action == "rollback":
            step = run.rollback()
            st.toast(f"Rolled back to step {step:,}.", icon=":material/history:")
        st.session_state.pop("_action_error", None)
    except (RuntimeError, TimeoutError, ValueError, OSError) as exc:
        st.session_state["_action_error"] = str(exc)


def button_row(run, state: str) -> None:
    """Start/Pause, Step (both, D only, G only), Stop, Reset, Save; labels follow the run's state. In
    lecture mode a viewer sees them disabled (and ``_act`` refuses anyway)."""
    viewer = not can_control()
    busy = viewer or state in ("running", "error")
    cols = st.columns(7)
    if state == "running":
        cols[0].button("Pause", key="btn_pause", icon=":material/pause:", on_click=_act, args=(run, "pause"),
                       width="stretch", disabled=viewer)
    else:
        label = "Resume" if state in ("paused", "stopped", "finished") else "Start"
        cols[0].button(label, key="btn_start", icon=":material/play_arrow:", type="primary", on_click=_act,
                       args=(run, "start"), width="stretch", disabled=viewer or state == "error")
    cols[1].button("Step", key="btn_step", icon=":material/skip_next:", on_click=_act, args=(run, "both"),
                   disabled=busy, width="stretch", help="One iteration: D steps then one G step.")
    cols[2].button("D step only", key="btn_dstep", on_click=_act, args=(run, "d"), disabled=busy,
                   width="stretch")
    cols[3].button("G step only", key="btn_gstep", on_click=_act, args=(run, "g"), disabled=busy,
                   width="stretch")
    cols[4].button("Stop", key="btn_stop", icon=":material/stop:", on_click=_act, args=(run, "stop"),
                   disabled=viewer or state not in ("running", "paused"), width="stretch")
    cols[5].button("Reset", key="btn_reset", icon=":material/restart_alt:", on_click=_act, args=(run, "reset"),
                   width="stretch", disabled=viewer, help="New random weights and an empty history, same settings.")
    cols[6].button("Save", key="btn_save", icon=":material/save:", on_click=_act, args=(run, "save"),
                   width="stretch", disabled=viewer,
                   help=f"Checkpoint (weights, optimiser, history) to {run.autosave_dir}/; the Latent lab can "
                        "open it. Runs also autosave every train.autosave_minutes.")
    if viewer:
        st.caption(VIEWER_NOTE)
    if "_action_error" in st.session_state:
        st.error(st.session_state["_action_error"])


def rollback_button(run, snap: dict) -> None:
    """After a divergence: go back to the newest good in-memory snapshot."""
    if snap.get("diverged_at") is None or snap.get("rollback_step") is None:
        return
    st.button(f"Roll back to step {snap['rollback_step']:,} (last good snapshot)", key="btn_rollback",
              icon=":material/history:", type="primary", on_click=_act, args=(run, "rollback"),
              disabled=not can_control())
