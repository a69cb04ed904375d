"""Process-wide run registry shared by every browser session, and how a session attaches to a run.

Runs live in ``st.cache_resource`` (not session state): a refresh or a new tab is a new session and must
find the same training thread. The run id travels in the URL (``?run=...``); without one, a session
attaches to the current run, so a fresh tab watches what is already training. Every run autosaves to
``<runs dir>/<run id>/`` (``GAN_PLAYGROUND_RUNS``, default ``./runs``), so after the app restarts the same
URL brings the run back from its newest checkpoint.

A URL may also carry a configuration: ``?preset=grid25&lr_g=0.0005&loss=hinge`` builds a new run from the
preset with those settings (any config field, validated; a bad one is shown by name and changes nothing).
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Callable, Optional

import streamlit as st

from gan_core import Run
from gan_core.checkpoint import WEIGHTS_FILE, CheckpointError, read_meta
from gan_core.config import FIELD_SECTION, Config
from gan_core.presets import PRESETS, preset_config
from ui.lecture import VIEWER_NOTE, can_control

DEFAULT_PRESET = "ring8"
MAX_RUNS = 4  # older runs beyond this are stopped and dropped
ENV_RUNS_DIR = "GAN_PLAYGROUND_RUNS"
URL_CONFIG_KEYS = frozenset({"preset"} | set(FIELD_SECTION) | {f"{s}.{k}" for k, s in FIELD_SECTION.items()})


def runs_dir() -> Path:
    """Where checkpoints and autosaves go: $GAN_PLAYGROUND_RUNS, else ./runs."""
    return Path(os.environ.get(ENV_RUNS_DIR) or "runs")


class RunRegistry:
    def __init__(self):
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self.current_id: Optional[str] = None

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
            old = list(self._runs)[:-MAX_RUNS]
            dropped = [self._runs.pop(rid) for rid in old]
        for r in dropped:
            r.stop()
            r.save_if_unsaved()  # nothing lost: a run pushed out of the registry keeps its state on disk
        return run

    def create(self, config: Config, progress: Optional[Callable] = None) -> Run:
        return self.add(Run(config, progress=progress))

    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def close_all(self) -> None:
        for run in self.runs():
            run.stop()


@st.cache_resource(on_release=lambda reg: reg.close_all(), show_spinner=False)
def get_registry() -> RunRegistry:
    return RunRegistry()


def resume_saved(path, reg: Optional[RunRegistry] = None) -> Run:
    """Load a checkpoint folder as a paused run in the registry (or switch to it when already loaded)."""
    reg = reg or get_registry()
    live = reg.get(read_meta(path).get("run_id"))  # the header only: no tensors read twice
    if live is not None:
        reg.current_id = live.id
        return live
    run = Run.from_checkpoint(path)
    run.autosave_dir = Path(path)
    run.saved_step = run.step
    return reg.add(run)


def _restore_from_disk(reg: RunRegistry, rid: str) -> Optional[Run]:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", rid):  # a run id, never a path
        return None
    folder = runs_dir() / rid
    if not (folder / WEIGHTS_FILE).is_file():
        return None
    try:
        run = resume_saved(folder, reg)
    except (CheckpointError, OSError, ValueError, RuntimeError) as exc:
        st.toast(f"Run {rid} could not be restored from {folder}: {exc}", icon=":material/error:")
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
        return reg.create(config)
    except (ValueError, OSError, RuntimeError) as exc:
        st.session_state["_url_error"] = f"The settings in the link were not applied: {exc}"
        return None


def attached_run() -> Run:
    """The run this session shows: one built from settings in the URL, else the run named in the URL
    (restored from its checkpoint after a restart), else the current one, else a new default run."""
    reg = get_registry()
    rid = st.query_params.get("run")
    run = _run_from_url(reg) or reg.get(rid)
    if run is None and rid:
        run = _restore_from_disk(reg, rid)
        if run is None:
            st.toast(f"Run {rid} no longer exists and has no checkpoint; showing the current run.")
    if run is None:
        run = reg.current() or reg.create(preset_config(DEFAULT_PRESET))
    if st.query_params.get("run") != run.id:
        st.query_params["run"] = run.id
    if st.session_state.get("_url_error"):
        st.error(st.session_state.pop("_url_error"), icon=":material/link_off:")
    return run
