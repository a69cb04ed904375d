"""The Runs page's widgets: every run in memory (id, preset, state, step, it/s, what is unsaved) and every
run saved on disk, with Open, Pause, Stop (save and unload from memory) and Delete (after a confirmation
that says what would be lost). By default only one run trains at a time: starting one pauses the others.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import streamlit as st

from gan_core.checkpoint import CheckpointError, list_checkpoints
from gan_core.presets import PRESETS, preset_config
from ui.lecture import refuse
from ui.runs import get_registry, resume_saved, runs_dir
from ui.text import plain, plural

RUN_FILES = ("checkpoint.safetensors", "config.json", "metrics.csv")  # what a run folder holds


def preset_label(preset, config) -> str:
    """'ring8', 'ring8, changed: loss, lr_g' or 'custom (digits)'."""
    if preset not in PRESETS:
        return f"custom ({config.data.dataset})"
    base = preset_config(preset).flat()
    changed = [k for k, v in config.flat().items() if v != base[k] and k not in ("seed", "max_steps")]  # (CLI runs set it)
    return preset + (f", changed: {', '.join(changed[:4])}{'…' if len(changed) > 4 else ''}" if changed else "")


def _open(run_id: str) -> None:
    if get_registry().open(run_id) is not None:
        st.session_state["_open_run"] = run_id


def _open_saved(path: str) -> None:
    if refuse():
        return
    try:
        run = resume_saved(path, get_registry())
    except (CheckpointError, OSError, ValueError, RuntimeError) as exc:
        st.session_state["_runs_error"] = str(exc)
        return
    get_registry().open(run.id)
    st.session_state["_open_run"] = run.id


def _pause(run_id: str) -> None:
    run = get_registry().get(run_id)
    if run is not None and not refuse():
        run.pause()


def _stop(run_id: str) -> None:
    if refuse():
        return
    try:
        path = get_registry().unload(run_id)
    except (OSError, RuntimeError, ValueError) as exc:
        st.session_state["_runs_error"] = f"Run {run_id} could not be saved, so it stays loaded: {exc}"
        return
    _leave(run_id)
    st.toast(f"Run {run_id} saved to {plain(path.parent)}/ and unloaded." if path else f"Run {run_id} unloaded.",
             icon=":material/stop_circle:")


def _leave(run_id: str) -> None:
    """This tab showed a run that was just unloaded or deleted: show the current run instead (not reload
    the same one from its folder)."""
    if st.query_params.get("run") == run_id:
        current = get_registry().current()
        if current is not None:
            st.query_params["run"] = current.id
        else:
            del st.query_params["run"]


def _ask_delete(run_id: str, folder: str | None) -> None:
    if not refuse():
        st.session_state["_delete"] = (run_id, folder)


def delete_folder(folder: Path) -> list[str]:
    """Remove a run folder's own files (never follows links, never leaves the runs folder); returns the
    names of anything else left in it (then the folder stays)."""
    root = runs_dir().resolve()
    if folder.is_symlink() or folder.resolve().parent != root:
        raise ValueError(f"{folder} is not a run folder directly inside {root}")
    for child in folder.iterdir():
        if child.is_file() and not child.is_symlink() and (child.name in RUN_FILES or child.name.endswith(".tmp")):
            child.unlink()
    left = sorted(p.name for p in folder.iterdir())
    if not left:
        folder.rmdir()
    return left


@st.dialog("Delete this run?", on_dismiss="rerun")
def confirm_delete(run_id: str, folder: str | None) -> None:
    run = get_registry().get(run_id)
    lost = []
    if run is not None and run.unsaved_steps:
        lost.append(f"**{plural(run.unsaved_steps, 'step')}** trained since its last save")
    if folder and Path(folder).exists():
        lost.append(f"its folder {plain(folder)}/ (the checkpoint and metrics)")
    st.markdown(f"Run {plain(run_id)} will be removed from memory and disk. This cannot be undone.")
    if lost:
        st.markdown("Lost: " + "; ".join(lost) + ".")
    c = st.columns(2)
    if c[0].button("Delete", key="btn_confirm_delete", type="primary", width="stretch"):
        st.session_state.pop("_delete", None)
        if not refuse():
            get_registry().remove(run_id)
            _leave(run_id)
            try:
                left = delete_folder(Path(folder)) if folder and Path(folder).exists() else []
                st.toast(f"Deleted run {plain(run_id)}." + (f" Kept other files in its folder: {plain(', '.join(left))}."
                                                     if left else ""), icon=":material/delete:")
            except (OSError, ValueError) as exc:
                st.session_state["_runs_error"] = f"Run {run_id} was removed from memory; its folder stays: {exc}"
        st.rerun()
    if c[1].button("Cancel", key="btn_cancel_delete", width="stretch"):
        st.session_state.pop("_delete", None)
        st.rerun()


def _side_by_side() -> None:
    if not refuse():
        get_registry().exclusive = not st.session_state.get("runs_side_by_side", False)


def live_runs(current_id: str) -> None:
    reg = get_registry()
    st.session_state["runs_side_by_side"] = not reg.exclusive
    st.toggle("Let runs train side by side", key="runs_side_by_side", on_change=_side_by_side,
              help="Off (the default): starting a run pauses the others, so nothing trains unseen and the run "
                   "on screen gets the whole CPU.")
    runs = reg.runs()
    st.subheader(f"In memory ({len(runs)})")
    header = st.columns([1.1, 2.6, 0.9, 1, 0.8, 1.6, 3.2])
    for col, name in zip(header, ("run", "preset", "state", "step", "it/s", "saved", "")):
        col.markdown(f"**{name}**")
    for run in reversed(runs):
        snap = run.snapshot(max_points=2, visual=False)
        rate = snap["latest"].get("steps_per_s", math.nan)
        c = st.columns([1.1, 2.6, 0.9, 1, 0.8, 1.6, 3.2], vertical_alignment="center")
        c[0].markdown(f"`{run.id}`" + (" ← this tab" if run.id == current_id else ""))
        c[1].write(preset_label(run.preset, run.config))
        c[2].write(snap["state"])
        c[3].write(f"{snap['step']:,}")
        c[4].write(f"{rate:,.0f}" if snap["state"] == "running" and math.isfinite(rate) else "–")
        c[5].write("nothing to save" if not snap["step"] else
                   "saved" if not snap["unsaved_steps"] else f"{plural(snap['unsaved_steps'], 'step')} unsaved")
        b = c[6].columns(4)
        b[0].button("Open", key=f"runs_open_{run.id}", on_click=_open, args=(run.id,), width="stretch",
                    disabled=run.id == current_id)
        b[1].button("Pause", key=f"runs_pause_{run.id}", on_click=_pause, args=(run.id,), width="stretch",
                    disabled=snap["state"] != "running")
        b[2].button("Stop", key=f"runs_stop_{run.id}", on_click=_stop, args=(run.id,), width="stretch",
                    help="Save it and unload it from memory; Open it from the saved runs to go on.")
        folder = str(run.autosave_dir) if run.autosave_dir else None
        b[3].button("Delete", key=f"runs_delete_{run.id}", on_click=_ask_delete, args=(run.id, folder),
                    width="stretch")


def saved_runs() -> None:
    loaded = {r.id for r in get_registry().runs()}
    found = [e for e in list_checkpoints(runs_dir()) if e.get("run_id") not in loaded]
    st.subheader(f"Saved in {plain(runs_dir())}/ ({len(found)})")
    if not found:
        st.caption("No other saved runs. Runs autosave while they train (every train.autosave_minutes), "
                   "and Save writes at once.")
        return
    for e in found:
        c = st.columns([1.1, 2.6, 2.3, 2.1, 3.2], vertical_alignment="center")
        c[0].markdown(plain(e["run_id"]))
        if "error" in e:
            c[1].markdown(plain(e["error"]))
        else:
            preset = e.get("preset") if e.get("preset") in PRESETS else "custom"
            c[1].write(f"{preset} · {e['dataset']} · {e['arch']} · {e['loss']}")
            c[2].write(f"step {e['step']:,}")
        c[3].write(time.strftime("saved %Y-%m-%d %H:%M", time.localtime(e["saved_at"])))
        b = c[4].columns(4)
        b[0].button("Open", key=f"saved_open_{e['run_id']}", on_click=_open_saved, args=(str(e["path"]),),
                    width="stretch", disabled="error" in e, help="Load it, paused at its saved step.")
        b[3].button("Delete", key=f"saved_delete_{e['run_id']}", on_click=_ask_delete,
                    args=(e["run_id"], str(e["path"])), width="stretch")
