"""Process-wide run registry shared by every browser session, and how a session attaches to a run.

Runs live in ``st.cache_resource`` (not session state): a refresh or a new tab is a new session and must
find the same training thread. The run id travels in the URL (``?run=...``); without one, a session
attaches to the current run, so a fresh tab watches what is already training.
"""
from __future__ import annotations

import threading
from typing import Callable, Optional

import streamlit as st

from gan_core import Run
from gan_core.config import Config
from gan_core.presets import preset_config

DEFAULT_PRESET = "ring8"
MAX_RUNS = 4  # older runs beyond this are stopped and dropped


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
        with self._lock:
            self._runs[run.id] = run
            self.current_id = run.id
            old = list(self._runs)[:-MAX_RUNS]
            dropped = [self._runs.pop(rid) for rid in old]
        for r in dropped:
            r.stop()
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


def attached_run() -> Run:
    """The run this session shows: the one in the URL, else the current one, else a new default run."""
    reg = get_registry()
    rid = st.query_params.get("run")
    run = reg.get(rid)
    if run is None:
        if rid:
            st.toast(f"Run {rid} no longer exists (the app was restarted?); showing the current run.")
        run = reg.current() or reg.create(preset_config(DEFAULT_PRESET))
    if st.query_params.get("run") != run.id:
        st.query_params["run"] = run.id
    return run
