"""What the live panel sends, built once per run and step for every session that shows it (a class watching).

Each open tab re-renders the Train page's live panel twice a second. With a class of 32 watching, building the
charts' tables (pandas, then Arrow), the 2D picture's heatmap PNG and the sample grid's PNG per session and
refresh cost more CPU than the training itself (profiled: 55% of the server's samples in the panel, 16% in
training, with 8 watchers). Here each such piece is made once per key — the run, its step or picture step,
and the sizes it is drawn at — and the finished bytes (Arrow IPC, PNG) go to every session; Streamlit then
only wraps them in its messages. Concurrent sessions asking for the same key wait for one build.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

KEEP = 64  # built pieces kept (a few runs x a few kinds x two sizes: normal and presentation)
WAIT_S = 10.0


class Shared:
    def __init__(self, keep: int = KEEP):
        self._lock = threading.Lock()
        self._done: OrderedDict = OrderedDict()
        self._building: dict = {}
        self.keep = keep
        self.builds = 0  # how many times something was built (tests, the bench)
        self.hits = 0

    def get(self, key, build: Callable):
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                self.hits += 1
                return self._done[key]
            event = self._building.get(key)
            owner = event is None
            if owner:
                event = self._building[key] = threading.Event()
        if not owner:
            event.wait(WAIT_S)
            with self._lock:
                if key in self._done:
                    self.hits += 1
                    return self._done[key]
            return build()  # the builder failed or is stuck: this session makes its own
        try:
            value = build()
            with self._lock:
                self.builds += 1
                self._done[key] = value
                while len(self._done) > self.keep:
                    self._done.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._building.pop(key, None)
            event.set()

    def clear(self) -> None:
        with self._lock:
            self._done.clear()


SHARED = Shared()


def arrow(df) -> bytes:
    """A table as the Arrow IPC bytes Streamlit sends for a chart's dataset (it passes bytes through)."""
    from streamlit import dataframe_util
    return dataframe_util.convert_anything_to_arrow_bytes(df)


def chart(key, build_spec: Callable, datasets: Callable) -> dict:
    """A Vega-Lite spec with its datasets as Arrow bytes, shared by ``key``; a fresh top-level copy each call
    (Streamlit moves the datasets out of the dict it is given)."""
    def build():
        spec = build_spec()
        spec["datasets"] = {name: arrow(df) for name, df in datasets().items()}
        return spec
    spec = SHARED.get(key, build)
    return {**spec, "datasets": dict(spec["datasets"])}


def digest(*parts) -> str:
    """A short fingerprint of what a piece is built from (arrays by content, dicts by their items): the same
    inputs, in any session, make the same key; anything changed (a roll back, a new run) makes another."""
    import hashlib

    import numpy as np
    h = hashlib.blake2b(digest_size=16)

    def feed(x):
        if isinstance(x, dict):
            for k in sorted(x, key=str):
                h.update(str(k).encode())
                feed(x[k])
        elif isinstance(x, np.ndarray):
            h.update(str((x.dtype, x.shape)).encode())
            h.update(np.ascontiguousarray(x).tobytes())
        elif isinstance(x, (list, tuple)):
            h.update(b"[")
            for v in x:
                feed(v)
            h.update(b"]")
        else:
            h.update(repr(x).encode())
    for p in parts:
        feed(p)
    return h.hexdigest()


SNAPSHOT_S = 0.25  # sessions refreshing within the same quarter second are shown the same snapshot


def snapshot(run, max_points: int) -> dict:
    """``run.snapshot(max_points)``, taken once per quarter second for all lecture-mode viewers while the run
    trains: the same snapshot makes the same keys, so the pieces built from it are built once."""
    import time

    from ui.controls import control_signature
    from ui.lecture import can_control
    if run.state != "running" or can_control():  # an idle page must show a Step or a Save at once, and the
        return run.snapshot(max_points=max_points)  # presenter's own page the newest step: only the class shares
    key = ("snapshot", control_signature(run), max_points, int(time.monotonic() / SNAPSHOT_S))
    return SHARED.get(key, lambda: run.snapshot(max_points=max_points))  # a pause or a new setting: a new key
