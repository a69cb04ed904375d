"""The Train page's control bar: Start/Pause, Step (x1, x10, x100, D or G only), slow motion, pause at a
step, Reset (a new run, after a confirmation when the old one has unsaved steps), Save, Setup and Copy
link. Drawn in the page body, so it shows the run's state as of the last full rerun; the live fragment
asks for one whenever the run's state or controls change (here or in another tab).

There is no separate Stop: Pause keeps everything and Resume continues. Unloading a run from memory
(save and stop its thread) is the Runs page's Stop.
"""
from __future__ import annotations

import streamlit as st

from ui.handoff import hand_off
from ui.layout import present_toggle
from ui.lecture import VIEWER_NOTE, can_control, lecture_mode, presenter_box, refuse
from ui.links import link_panel
from ui.runs import get_registry
from ui.text import plain, plural
from ui.setup import open_setup

SPEEDS = (1, 5, 20, 100, 0)  # steps per second; 0 = as fast as it goes


def _speed_label(rate: float) -> str:
    return "max" if not rate else f"{rate:g}/s"


def control_signature(run) -> tuple:
    """What the control bar shows; the live fragment reruns the page when this changes."""
    return run.id, run.state, run.pause_at, run.max_rate, run.config_version, id(run.trainer)


def act(run, action: str, arg=None) -> None:
    """Do a control action for this session (refused for lecture-mode viewers); errors are kept for the
    page to show."""
    if refuse():
        return
    reg = get_registry()
    try:
        if action == "start":
            paused = reg.start(run)
            if paused:
                st.toast(f"Paused {', '.join(paused)} so that only this run trains (Runs page: train side by "
                         "side).", icon=":material/pause_circle:")
        elif action == "pause":
            run.pause()
        elif action in ("both", "d", "g"):
            run.step_once(action)
        elif action == "steps":
            reg.pause_others(run)
            run.run_steps(int(arg))
        elif action == "save":
            path = run.save()
            st.toast(f"Saved step {run.step:,} to {plain(path.parent)}/", icon=":material/save:")
        elif action == "rollback":
            step = run.rollback()
            st.toast(f"Rolled back to step {step:,}.", icon=":material/history:")
        st.session_state.pop("_action_error", None)
    except (RuntimeError, TimeoutError, ValueError, OSError) as exc:
        st.session_state["_action_error"] = str(exc)


def _speed_changed(run) -> None:
    if refuse():
        return
    choice = st.session_state.get("ctl_speed")
    run.set_speed(float(choice) if choice is not None else 0.0)


def _pause_at_changed(run) -> None:
    if refuse():
        return
    value = st.session_state.get("ctl_pause_at")
    try:
        run.set_pause_at(int(value) if value else None)
        st.session_state.pop("_action_error", None)
    except ValueError as exc:
        st.session_state["_action_error"] = str(exc)


def control_bar(run) -> None:
    """One row: Start/Pause · Step x1/x10/x100 (+ D/G only) · speed · pause at · Reset · Save · Setup · Link."""
    viewer = not can_control()
    state = run.state
    st.session_state["ctl_speed"] = int(run.max_rate) if run.max_rate in SPEEDS else 0
    st.session_state["ctl_pause_at"] = run.pause_at
    busy = viewer or state in ("running", "error")
    bar = st.container(horizontal=True, vertical_alignment="center", gap="xsmall", key="control_bar")
    with bar:
        if state == "running":
            st.button("Pause", key="btn_pause", icon=":material/pause:", on_click=act, args=(run, "pause"),
                      disabled=viewer, type="primary", width=104,
                      help="Pause training; Resume goes on from here with nothing lost.")
        else:
            label = "Start" if state == "ready" else "Resume"
            st.button(label, key="btn_start", icon=":material/play_arrow:", type="primary", on_click=act,
                      args=(run, "start"), disabled=viewer or state == "error", width=104)
        st.button("Step", key="btn_step", icon=":material/skip_next:", on_click=act, args=(run, "both"),
                  disabled=busy, help="One iteration: D steps then one G step.")
        st.button("×10", key="btn_step10", on_click=act, args=(run, "steps", 10), disabled=busy,
                  help="Train 10 iterations at the chosen speed, then pause.")
        st.button("×100", key="btn_step100", on_click=act, args=(run, "steps", 100), disabled=busy,
                  help="Train 100 iterations at the chosen speed, then pause.")
        with st.popover("", icon=":material/more_vert:", help="Step one network only; train in a process of its "
                                                               "own (for a class); copy a link to these settings"):
            c = st.columns(2)
            c[0].button("D step only", key="btn_dstep", on_click=act, args=(run, "d"), disabled=busy,
                        width="stretch", help="One discriminator update, G frozen.")
            c[1].button("G step only", key="btn_gstep", on_click=act, args=(run, "g"), disabled=busy,
                        width="stretch", help="One generator update, D frozen.")
            st.button("Train in its own process", key="btn_handoff", icon=":material/rocket_launch:",
                      on_click=hand_off, args=(run,), disabled=viewer or state == "error", width="stretch",
                      help="For a class: save this run and train it on in a process of its own, watched on the "
                           "Watch page (pause, resume and stop there). The class's sessions then cost the "
                           "server, not the training.")
            link_panel(run)
        st.segmented_control("Speed", SPEEDS, format_func=_speed_label, key="ctl_speed", required=True,
                             label_visibility="collapsed", on_change=_speed_changed, args=(run,),
                             disabled=viewer, help="Slow motion for narrating one iteration at a time: at most "
                                                   "this many steps per second.")
        st.number_input("Pause at step", min_value=0, max_value=10**9, step=100, value=None,
                        key="ctl_pause_at", placeholder="pause at…", label_visibility="collapsed",
                        on_change=_pause_at_changed, args=(run,), disabled=viewer, width=120,
                        help="Training pauses by itself when it reaches this step (empty: never).")
        st.button("Reset", key="btn_reset", icon=":material/restart_alt:", disabled=viewer,
                  on_click=_reset_clicked, args=(run,),
                  help="Start over with fresh weights and the same settings, as a new run; this one is "
                       "paused, saved and kept under Runs.")
        st.button("Save", key="btn_save", icon=":material/save:", on_click=act, args=(run, "save"),
                  disabled=viewer,
                  help=f"Checkpoint (weights, optimiser, history) to {plain(run.autosave_dir)}/; the Latent lab can "
                       "open it. Runs also autosave every train.autosave_minutes.")
        st.button("Setup", key="btn_setup", icon=":material/tune:", disabled=viewer,
                  on_click=open_setup, args=(run,), help="Preset, data, model, loss, training: a new run.")
        present_toggle()
    if lecture_mode():
        note, box = st.columns([5, 1.2], vertical_alignment="center")
        note.caption(VIEWER_NOTE if viewer else "Lecture mode: you are the presenter; the class watches this run "
                     "(a whole class? ⋮ → Train in its own process keeps its speed).")
        with box:
            presenter_box()
    if "_action_error" in st.session_state:
        st.error(plain(st.session_state["_action_error"]))


def _reset_clicked(run) -> None:
    if refuse():
        return
    if run.unsaved_steps:
        st.session_state["_dialog"] = "reset"  # ask first: the page opens the confirmation
    else:
        reset(run)


def reset(run) -> None:
    """Fresh weights, same settings: a new run replaces this one in the session (the old one is kept)."""
    try:
        new, note = get_registry().replace(run, run.config, preset=run.preset)
    except (ValueError, OSError, RuntimeError) as exc:
        st.session_state["_action_error"] = str(exc)
        return
    st.query_params["run"] = new.id
    st.session_state.pop("_action_error", None)
    st.toast(f"New run {new.id} with fresh weights. {plain(note)}", icon=":material/restart_alt:")


@st.dialog("Start over with fresh weights?", on_dismiss="rerun")
def confirm_reset(run) -> None:
    st.markdown(f"Run `{run.id}` has trained **{plural(run.unsaved_steps, 'step')} since it was last saved**.")
    st.markdown(f"Reset starts a **new run** with the same settings. Run `{run.id}` is paused, saved to "
                f"{plain(run.autosave_dir)}/ and stays under **Runs**, so nothing is lost.")
    c = st.columns(2)
    if c[0].button("Save it and start over", key="btn_confirm_reset", type="primary", width="stretch"):
        st.session_state.pop("_dialog", None)
        if not refuse():
            reset(run)
        st.rerun()
    if c[1].button("Cancel", key="btn_cancel_reset", width="stretch"):
        st.session_state.pop("_dialog", None)
        st.rerun()


def rollback_button(run, snap: dict) -> None:
    """After a divergence: go back to the newest good in-memory snapshot."""
    if snap.get("diverged_at") is None or snap.get("rollback_step") is None:
        return
    st.button(f"Roll back to step {snap['rollback_step']:,} (last good snapshot)", key="btn_rollback",
              icon=":material/history:", type="primary", on_click=act, args=(run, "rollback"),
              disabled=not can_control())
