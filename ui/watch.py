"""Watching a run that trains in another process (``python -m gan_core train --out DIR``, on this machine or on
a server whose folder is shared): the Watch page reads the folder's live files (gan_core.live_folder) every
second and draws them as the Train page draws a local run, read-only; the newest checkpoint opens in the Latent
lab, and **Take over** loads it as a local run to go on training here.

Any session may watch a folder directly under the runs directory (``?watch=NAME``); another path is for the
local user or the presenter only (it reads what the server can read)."""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Optional

import streamlit as st

from gan_core.checkpoint import WEIGHTS_FILE
from gan_core.live_folder import LIVE, LiveFolder
from ui.handoff import live_trainer, remote_controls, stop_for_take_over
from ui.lecture import can_control, refuse
from ui.payload import Shared
from ui.runs import runs_dir
from ui.text import plain

_SHARED = Shared(keep=16)  # one read of a folder's files per change, for every session watching it


def watched_snapshot(path) -> dict:
    """The folder's snapshot as of now: its files read once per change for all sessions, then aged per call
    (the heartbeat's age is the reader's own)."""
    from ui.live import LIVE_POINTS
    folder = LiveFolder(path)
    content = _SHARED.get(("watch", folder.signature()), lambda: folder.content(LIVE_POINTS))
    return LiveFolder.aged(content)


NAME = re.compile(r"[A-Za-z0-9][\w.-]{0,99}")
OTHER = "other path…"


def named_folder(name: str) -> Optional[Path]:
    """``runs dir / name`` when ``name`` is a plain folder name there (never a path, never a link)."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or ".." in name:
        return None
    root = runs_dir()
    folder = root / name
    if folder.is_symlink() or not folder.is_dir() or folder.resolve().parent != root.resolve():
        return None
    return folder


def live_folders() -> list[Path]:
    """Folders under the runs directory that a trainer writes live files into, newest heartbeat first."""
    root = runs_dir()
    if not root.is_dir():
        return []
    found = [p.parent.parent for p in root.glob(f"*/{LIVE}/status.json") if not p.parent.parent.is_symlink()]
    return sorted(found, key=lambda p: (p / LIVE / "status.json").stat().st_mtime, reverse=True)


def pick_folder() -> Optional[Path]:
    """The folder to watch: from ``?watch=``, else picked here; None after saying why there is none."""
    asked = st.query_params.get("watch")
    if not asked:
        st.title("Watch a run")
    if asked:
        folder = named_folder(asked)
        if folder is None:
            st.error(f"No run folder named {plain(asked)!r} under {runs_dir()}/ (`?watch=` takes a folder name "
                     "there, e.g. the NAME of `--out runs/NAME`).", icon=":material/folder_off:")
            return None
        return folder
    found = live_folders()
    if not found:
        st.info(f"No run folder under {runs_dir()}/ is being written. Start a training run in another terminal "
                f"or on a server, e.g. `python -m gan_core train --preset mnist --steps 20000 --out "
                f"{runs_dir()}/server-mnist`, and it appears here.", icon=":material/terminal:")
    options = [p.name for p in found] + ([OTHER] if can_control() else [])
    choice = st.selectbox("Run folder", options, key="watch_pick", index=None if not options else 0,
                          placeholder="no live run folder yet",
                          help=f"Folders under {runs_dir()}/ that `python -m gan_core train --out` is writing.")
    if choice is None:
        return None
    if choice == OTHER:
        path = st.text_input("Folder", key="watch_path", placeholder="/path/to/DIR given to --out")
        return Path(path) if path else None
    st.query_params["watch"] = choice  # a link to this view
    return runs_dir() / choice


def _take_over(folder: str) -> None:
    if refuse():
        return
    from ui.runs import copy_saved, resume_saved
    try:
        why = stop_for_take_over(Path(folder))  # a trainer this app started: it saves, exits, then we load
        if why:
            raise RuntimeError(why)
        if live_trainer(Path(folder)):  # started elsewhere and still at work: its folder stays its own
            run = copy_saved(folder)
            st.session_state["_run_note"] = (
                f"The trainer writing {plain(folder)} was started elsewhere and goes on. This is a copy of its "
                f"step {run.step:,} checkpoint: run {run.id}, saved to {plain(run.autosave_dir)}/ (the Runs page "
                "lists both).")
        else:
            run = resume_saved(folder)
    except (OSError, ValueError, RuntimeError) as exc:
        st.session_state["_watch_error"] = f"Could not load the checkpoint in {folder}: {plain(exc)}"
        return
    st.session_state["_watch_open"] = run.id


def _open_in_latent_lab(folder: str) -> None:
    inside = Path(folder).resolve().parent == runs_dir().resolve()
    st.session_state["lat_source"] = "Checkpoint"
    if inside:
        st.session_state["ckpt_pick"] = str(runs_dir() / Path(folder).name)
    elif can_control():
        st.session_state.update(ckpt_pick=OTHER, ckpt_path=str(folder))
    st.session_state["_watch_latent"] = True


def actions(folder: Path, snap: dict) -> None:
    """Take over (a local run from the newest checkpoint), the Latent lab on it, and the presenter's Pause /
    Resume and Stop of the trainer (ui.handoff)."""
    rid = st.session_state.pop("_watch_open", None)
    if rid:
        st.switch_page("pages/train.py", query_params={"run": rid})
    if st.session_state.pop("_watch_latent", None):
        st.switch_page("pages/latent.py")
    has_ckpt = (folder / WEIGHTS_FILE).is_file()
    a, b, c, d = st.columns([1, 1.4, 0.8, 0.8])
    remote_controls(folder, snap, (c, d))
    a.button("Take over", key="watch_take_over", icon=":material/login:", disabled=not has_ckpt or not can_control(),
             on_click=_take_over, args=(str(folder),), width="stretch",
             help="Load the newest checkpoint as a local run (paused) and go on training it here. A trainer "
                  "this app started is stopped first (it saves); one started elsewhere goes on, and you get a "
                  "copy in a folder of its own.")
    b.button("Latent lab on its checkpoint", key="watch_latent", icon=":material/tune:", disabled=not has_ckpt,
             on_click=_open_in_latent_lab, args=(str(folder),), width="stretch")
    if not has_ckpt:
        st.caption("No checkpoint yet: the trainer writes one every `train.autosave_minutes` and at the end.")
    if st.session_state.get("_watch_error"):
        st.error(st.session_state.pop("_watch_error"))


def status_text(snap: dict) -> str:
    age = snap["heartbeat_age"]
    when = f"heartbeat {age:.1f} s ago" if age < 120 else f"last written {time.strftime('%H:%M:%S', time.localtime(time.time() - age))}"
    name = Path(snap["watched"]).name.replace("`", "'")
    return (f"Watching `{name}` · trained by pid {snap.get('pid')} on {plain(str(snap.get('host')))} · "
            f"**{snap['state']}** · step {snap['step']:,} · {when}")
