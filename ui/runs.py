"""Process-wide run registry shared by every browser session, and how a session attaches to a run.

Runs live in one process-wide registry (a module global, not session state and not ``st.cache_resource``:
any websocket client can send ``BackMsg.clear_cache``, and a cache release used to stop every run without
saving). A refresh or a new tab is a new session and finds the same training thread. The run id travels in the URL (``?run=...``); without one, a session
attaches to the current run, so a fresh tab watches what is already training. Every run autosaves to
``<runs dir>/<run id>/`` (``GAN_PLAYGROUND_RUNS``, default ``./runs``), so after the app restarts the same
URL brings the run back from its newest checkpoint.

A URL may also carry a configuration: ``?preset=grid25&lr_g=0.0005&loss=hinge`` builds a new run from the
preset with those settings (any config field, validated; a bad one is shown by name and changes nothing).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Optional

import streamlit as st

from gan_core import Run
from gan_core.run import RUN_ID
from gan_core.checkpoint import WEIGHTS_FILE, CheckpointError, read_meta
from gan_core.config import FIELD_SECTION, Config
from gan_core.presets import PRESETS, preset_config
from ui.lecture import VIEWER_NOTE, can_control
from ui.text import plain

DEFAULT_PRESET = "ring8"
MAX_RUNS = 4  # older runs beyond this are stopped and dropped
ENV_RUNS_DIR = "GAN_PLAYGROUND_RUNS"
URL_CONFIG_KEYS = frozenset({"preset"} | set(FIELD_SECTION) | {f"{s}.{k}" for k, s in FIELD_SECTION.items()})


def runs_dir() -> Path:
    """Where checkpoints and autosaves go: $GAN_PLAYGROUND_RUNS, else ./runs."""
    return Path(os.environ.get(ENV_RUNS_DIR) or "runs")


class RunRegistry:
    """The live runs of this app process. Building a run with fresh weights or new settings always makes a
    NEW run (new id, new folder): the old one is paused, saved if it trained, and stays listed, so a reset
    never overwrites a saved run. By default starting one run pauses the others (``exclusive``)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self.current_id: Optional[str] = None
        self.exclusive = True  # starting a run pauses the others, so nothing trains unseen
        self.successors: dict[str, str] = {}  # replaced run id -> the run that replaced it

    def get(self, run_id: Optional[str]) -> Optional[Run]:
        with self._lock:
            return self._runs.get(run_id) if run_id else None

    def current(self) -> Optional[Run]:
        return self.get(self.current_id)

    def add(self, run: Run) -> Run:
        if run.autosave_dir is None:
            run.autosave_dir = runs_dir() / run.id
        with self._lock:
            self._runs[run.id] = run
            self.current_id = run.id
            dropped = []
            while len(self._runs) > MAX_RUNS:  # the oldest idle run goes first; a training one only if all train
                idle = [r for rid, r in self._runs.items() if rid != run.id and r.state != "running"]
                old = idle[0] if idle else next(r for rid, r in self._runs.items() if rid != run.id)
                dropped.append(self._runs.pop(old.id))
        for r in dropped:
            r.stop()
            r.save_if_unsaved()  # nothing lost: a run pushed out of the registry keeps its state on disk
        return run

    def create(self, config: Config, progress: Optional[Callable] = None, preset: Optional[str] = None) -> Run:
        return self.add(Run(config, progress=progress, preset=preset))

    def replace(self, old: Run, config: Config, progress: Optional[Callable] = None,
                preset: Optional[str] = None) -> tuple[Run, str]:
        """A new run with fresh weights and ``config`` in place of ``old`` (which is paused, saved when it
        trained, and kept). Returns (new run, a note on what happened to the old one). Raises like ``Run``
        (bad data, out of memory) before anything changes."""
        new = Run(config, progress=progress, preset=preset)
        old.pause()
        if old.step == 0:  # never trained: nothing to keep
            note = ""
            self.remove(old.id)
        else:
            note = keep_note(old)
        self.successors[old.id] = new.id
        return self.add(new), note

    def start(self, run: Run) -> list[str]:
        """Start (or resume) ``run``; with ``exclusive`` the other running runs pause. Returns their ids."""
        paused = self.pause_others(run)
        run.start()
        return paused

    def pause_others(self, run: Run) -> list[str]:
        """With ``exclusive``: pause every other running run (so nothing trains unseen); their ids."""
        paused = []
        for other in self.runs() if self.exclusive else ():
            if other is not run and other.state == "running":
                other.pause()
                paused.append(other.id)
        return paused

    def open(self, run_id: str) -> Optional[Run]:
        """Make a live run the current one (the Runs page's Open); it no longer forwards to a successor."""
        run = self.get(run_id)
        if run is not None:
            self.current_id = run.id
            self.successors.pop(run.id, None)
        return run

    def successor(self, run_id: str) -> Optional[Run]:
        """The newest live run that replaced ``run_id`` (following Reset after Reset), if any."""
        seen, rid, found = set(), run_id, None
        while rid in self.successors and rid not in seen:
            seen.add(rid)
            rid = self.successors[rid]
            found = self.get(rid) or found
        return found

    def remove(self, run_id: str) -> Optional[Run]:
        """Stop a run and drop it from memory without saving (Delete); its folder is left alone."""
        with self._lock:
            run = self._runs.pop(run_id, None)
            if self.current_id == run_id:
                self.current_id = next(reversed(self._runs), None) if self._runs else None
        if run is not None:
            run.stop()
        return run

    def unload(self, run_id: str) -> Optional[Path]:
        """Stop a run, save it, and drop it from memory (the Runs page's Stop); open it again to resume.
        Raises OSError when the save fails (the run then stays loaded, paused)."""
        run = self.get(run_id)
        if run is None:
            return None
        run.pause()
        path = run.save() if run.step else None
        self.remove(run_id)
        return path

    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def close_all(self) -> None:
        """Stop every run and keep what it trained since its last save on disk."""
        for run in self.runs():
            run.stop(timeout=None)
            run.save_if_unsaved()


def keep_note(run: Run) -> str:
    """Save a run that is being set aside when it has unsaved steps; say where it is (or why not)."""
    if run.unsaved_steps:
        try:
            run.save()
        except (OSError, RuntimeError, ValueError) as exc:
            return (f"Run {run.id} (step {run.step:,}) is paused and still listed under Runs, but saving it "
                    f"failed: {exc}")
    return f"Run {run.id} (step {run.step:,}) is paused and saved to {run.autosave_dir}/; open it from Runs."


_REGISTRY: Optional[RunRegistry] = None
_REGISTRY_LOCK = threading.Lock()


def get_registry() -> RunRegistry:
    """The process's run registry (made on first use)."""
    global _REGISTRY
    with _REGISTRY_LOCK:
        if _REGISTRY is None:
            _REGISTRY = RunRegistry()
        return _REGISTRY


def release_registry() -> None:
    """Stop every run, save what trained since its last save, and forget them (tests; a restart does this
    through gan_core.run.stop_all at exit)."""
    global _REGISTRY
    with _REGISTRY_LOCK:
        reg, _REGISTRY = _REGISTRY, None
    if reg is not None:
        reg.close_all()


def resume_saved(path, reg: Optional[RunRegistry] = None) -> Run:
    """Load a checkpoint folder as a paused run in the registry (or switch to it when already loaded)."""
    from gan_core import trainer_process
    if trainer_process.alive(path):  # handed to a process of its own (ui/handoff.py): one writer per folder
        raise RuntimeError(f"{Path(path).name} trains in a process of its own: watch it on the Watch page "
                           "(its Take over stops it and loads it here)")
    reg = reg or get_registry()
    live = reg.get(read_meta(path).get("run_id"))  # the header only: no tensors read twice
    if live is not None:
        reg.current_id = live.id
        return live
    run = Run.from_checkpoint(path)
    run.autosave_dir = Path(path)
    run.saved_step = run.step
    return reg.add(run)


def copy_saved(path, reg: Optional[RunRegistry] = None) -> Run:
    """Load a checkpoint folder that another trainer still writes as a NEW run with its own id and folder
    (runs/<new id>/, saved at once): one writer per folder, and the other trainer's checkpoints stay its own."""
    reg = reg or get_registry()
    run = Run.from_checkpoint(path, new_id=True)
    run.autosave_dir = runs_dir() / run.id
    run.save()  # (records the saved step too)
    return reg.add(run)


def _restore_from_disk(reg: RunRegistry, rid: str) -> Optional[Run]:
    if not RUN_ID.fullmatch(rid):  # a run id, never a path
        return None
    folder = runs_dir() / rid
    if not (folder / WEIGHTS_FILE).is_file():
        return None
    try:
        run = resume_saved(folder, reg)
    except (CheckpointError, OSError, ValueError, RuntimeError) as exc:
        st.toast(f"Run {rid} could not be restored: {plain(exc)}", icon=":material/error:")
        return None
    st.toast(f"Restored run {rid} from its checkpoint at step {run.step:,} (paused).", icon=":material/restore:")
    return run


def _run_from_url(reg: RunRegistry) -> Optional[Run]:
    """A new run from ``?preset=...&key=value`` in the URL; errors are shown and change nothing."""
    params = {k: st.query_params.get(k) for k in st.query_params if k in URL_CONFIG_KEYS}
    if not params:
        return None
    for k in params:
        del st.query_params[k]
    if not can_control():
        st.session_state["_url_error"] = f"The settings in the link were ignored. {VIEWER_NOTE}"
        return None
    name = params.pop("preset", None) or DEFAULT_PRESET
    try:
        if name not in PRESETS:
            raise ValueError(f"preset {name!r} is not one of {list(PRESETS)}")
        config = preset_config(name).with_overrides([f"{k}={v}" for k, v in params.items()])
        return reg.create(config, preset=name)
    except (ValueError, OSError, RuntimeError) as exc:
        st.session_state["_url_error"] = f"The settings in the link were not applied: {plain(exc)}"
        return None


def attached_run(train_page: bool = False) -> Run:
    """The run this session shows: one built from settings in the URL, else the run named in the URL
    (or the run that replaced it; restored from its checkpoint after a restart), else the current one,
    else a new default run. On the Train page, a run that trains in a process of its own is watched
    instead (ui/handoff.py: the session switches to the Watch page)."""
    reg = get_registry()
    rid = st.query_params.get("run")
    if train_page:
        from ui.handoff import watch_instead  # (ui.handoff imports this module)
        name = watch_instead(rid)
        if name:
            st.switch_page("pages/watch.py", query_params={"watch": name})
    run = _run_from_url(reg)
    if run is None and rid:
        newer = reg.successor(rid)
        if newer is not None:
            st.toast(f"Run {rid} was replaced by run {newer.id} (fresh weights or new settings); the old one "
                     "is listed under Runs.", icon=":material/fiber_new:")
        run = newer or reg.get(rid)
        if run is None and can_control():  # a viewer may not load runs (nor push the presenter's out)
            run = _restore_from_disk(reg, rid)
        if run is None:
            st.toast(f"Run {plain(rid)} is not running here; showing the current run.")
    if run is None:
        run = reg.current() or reg.create(preset_config(DEFAULT_PRESET), preset=DEFAULT_PRESET)
    if st.query_params.get("run") != run.id:
        st.query_params["run"] = run.id
    if st.session_state.get("_url_error"):
        st.error(st.session_state.pop("_url_error"), icon=":material/link_off:")
    if st.session_state.get("_run_note"):
        st.info(st.session_state.pop("_run_note"), icon=":material/content_copy:")
    return run
