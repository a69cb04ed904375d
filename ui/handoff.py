"""A run handed to a process of its own, for a class: the Train page's ⋮ → "Train in its own process" saves the run,
takes it out of this server's memory and starts ``python -m gan_core train --resume DIR --out DIR``
(gan_core.trainer_process) on its folder; everyone on the Train page of that run (the class included) is sent to
the Watch page of the folder, where the presenter pauses, resumes or stops it (gan_core.live_control) and
"Take over" brings it back as a local run.

Why: in one server process the class's sessions and the training thread share one interpreter lock; with the
training in its own process, 32 watching sessions leave it its full speed (docs/BENCHMARKS.md)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import streamlit as st

from gan_core import trainer_process
from gan_core.live_control import send
from gan_core.live_folder import LiveFolder
from ui.lecture import can_control, refuse
from ui.runs import get_registry, runs_dir
from ui.text import plain

STOP_WAIT_S = 30.0  # Take over waits this long for the trainer to save and exit

_latest: Optional[str] = None  # the folder name of the newest hand-off: where a class opening the app is sent


def live_trainer(folder: Path) -> bool:
    """A trainer is at work on ``folder``: one this server started is alive, or the folder's status has a fresh
    heartbeat while it trains or waits paused by the app (a trainer started elsewhere)."""
    if trainer_process.alive(folder):
        return True
    try:
        return LiveFolder(folder).at_work()
    except (OSError, ValueError):
        return False


def watch_instead(rid: Optional[str]) -> Optional[str]:
    """For the Train page, before a run is attached: the folder name to watch instead, if any. This session
    just handed its run over; or the run it names (``?run=``) trains in its own process; or it names no run,
    this server holds none, and the newest hand-off is still training (a class opening the lecture's URL)."""
    handed = st.session_state.pop("_handed", None)
    if handed:
        return handed
    if rid and get_registry().get(rid) is None and (runs_dir() / rid).is_dir() and live_trainer(runs_dir() / rid):
        return rid
    if not rid and _latest and get_registry().current() is None and live_trainer(runs_dir() / _latest):
        return _latest
    return None


def hand_off(run) -> None:
    """The ⋮ menu's button: save, unload, start the trainer, watch it."""
    global _latest
    if refuse():
        return
    reg = get_registry()
    folder = Path(run.autosave_dir or runs_dir() / run.id)
    steps = run.config.train.max_steps - run.step if run.config.train.max_steps > run.step else \
        trainer_process.UNLIMITED_STEPS
    try:
        run.pause()
        run.save(folder)
        reg.remove(run.id)
        trainer_process.launch(folder, steps)
    except (OSError, ValueError, RuntimeError) as exc:
        st.session_state["_action_error"] = f"Could not hand run {run.id} to a process of its own: {exc}"
        return
    _latest = folder.name
    st.session_state["_handed"] = folder.name


def starting_note(folder: Path) -> bool:
    """Before the trainer's first status: say it is starting (or why it stopped). False when nothing applies."""
    proc = trainer_process.process_of(folder)
    if proc is None:
        return False
    if proc.poll() is None:
        st.info(f"Starting the trainer (pid {proc.pid}) for `{folder.name}`: loading the data and the "
                "checkpoint…", icon=":material/hourglass_top:")
    else:
        st.error(f"The trainer for `{folder.name}` ended (exit code {proc.returncode}) before writing its live "
                 f"files. Its log ({trainer_process.LOG}):\n\n```\n{trainer_process.log_tail(folder)}\n```",
                 icon=":material/error:")
    return True


def _send(folder: str, action: str) -> None:
    if refuse():
        return
    try:
        send(folder, action)
    except OSError as exc:
        st.session_state["_watch_error"] = f"Could not ask the trainer to {action}: {plain(exc)}"
        return
    st.toast(f"Asked the trainer to {action}.", icon=":material/send:")


def remote_controls(folder: Path, snap: dict, cols) -> None:
    """Pause / Resume and Stop for the trainer of ``folder``: the presenter's (or local user's) only."""
    viewer = not can_control()
    live = snap.get("live") and snap.get("controllable")  # a torchrun run (or an older trainer) obeys nothing
    if snap.get("held"):
        cols[0].button("Resume", key="watch_resume", icon=":material/play_arrow:", type="primary",
                       on_click=_send, args=(str(folder), "resume"), disabled=viewer or not live, width="stretch")
    else:
        cols[0].button("Pause", key="watch_pause", icon=":material/pause:", on_click=_send,
                       args=(str(folder), "pause"), disabled=viewer or not live or snap.get("state") != "running",
                       width="stretch", help="The trainer pauses and waits (it keeps its process and memory)."
                       if snap.get("controllable") else "This trainer takes no commands (torchrun runs do not).")
    cols[1].button("Stop", key="watch_stop", icon=":material/stop:", on_click=_send, args=(str(folder), "stop"),
                   disabled=viewer or not live, width="stretch",
                   help="The trainer saves its checkpoint here and exits; Take over (or --resume) continues it.")


def stop_for_take_over(folder: Path) -> Optional[str]:
    """Before Take over: a trainer this server started in ``folder`` is stopped (it saves first); None when it
    has exited (or there was none), else why not."""
    proc = trainer_process.process_of(folder)
    if proc is None or proc.poll() is not None:
        return None
    send(folder, "stop")
    deadline = time.monotonic() + STOP_WAIT_S
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return None if proc.poll() is not None else f"the trainer (pid {proc.pid}) did not stop within {STOP_WAIT_S:.0f} s"
