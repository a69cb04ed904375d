"""Helpers shared by the latent-lab / diagnostics / health tests (not a test module itself).

- ``OneModeG`` and ``force_mode_collapse``: make a ring8 Run's generator put every sample on one mode and
  record evaluations past ``health.MIN_STEP``, so the mode-collapse and low-diversity alerts must fire.
- AppTest and run helpers: ``new_session``, ``rendered``, ``attached``, ``wait_until``, ``chart_specs`` (Plotly),
  ``vega_charts`` / ``chart_with`` (the live Vega-Lite charts),
  ``values``, ``run_threads``; fixtures ``clean_registry`` (AppTest) and ``stopped_runs`` (no thread left).
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) does not put the root on sys.path
    sys.path.insert(0, str(ROOT))

from gan_core import health  # noqa: E402

APP = str(ROOT / "app.py")
TIMEOUT = 30.0
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"  # real data; absent in CI


# ---------------------------------------------------------------- a collapsed generator

class OneModeG(nn.Module):
    """G(z) = one fixed 2D point plus a tiny z-dependent offset (std ~1e-3, far inside 3 x 0.02)."""

    def __init__(self, point: torch.Tensor):
        super().__init__()
        self.register_buffer("point", point.detach().clone().float())
        self.scale = nn.Parameter(torch.tensor(1e-3))  # a parameter, so .parameters() is not empty

    def forward(self, z: torch.Tensor, y=None) -> torch.Tensor:
        offset = z.sum(1, keepdim=True) * torch.tensor([1.0, -1.0], device=z.device)  # (B, 2)
        return self.point[None] + self.scale * offset


def force_mode_collapse(run, evaluations: int = 3):
    """Give a ring8 run's trainer a one-mode generator and evaluate it ``evaluations`` times past MIN_STEP."""
    tr = run.trainer
    assert tr.data.modes is not None, "needs a 2D mixture (ring8 / grid25)"
    with run._lock:
        tr.G = OneModeG(tr.data.modes[0]).to(tr.device)
    for i in range(evaluations):
        tr.step_count = health.MIN_STEP + 100 * (i + 1)
        run._evaluate()
    return run


# ---------------------------------------------------------------- AppTest

def wait_until(predicate, timeout: float = TIMEOUT, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def run_threads() -> list[threading.Thread]:
    """Live training threads (gan_core.Run names them gan-run-<id>)."""
    return [t for t in threading.enumerate() if t.name.startswith("gan-run-") and t.is_alive()]


@pytest.fixture
def stopped_runs():
    """After the test: stop every run and check that no training thread is left (a module imports it and
    sets ``pytestmark = pytest.mark.usefixtures("stopped_runs")``)."""
    yield
    from gan_core.run import stop_all
    stop_all()
    deadline = time.monotonic() + 2.0
    while run_threads() and time.monotonic() < deadline:  # stop_all joins with a 1 s timeout per run
        time.sleep(0.01)
    assert not run_threads(), f"threads left running: {run_threads()}"


@pytest.fixture
def clean_registry():
    """AppTest: every test starts with an empty run registry and leaves no training thread behind."""
    import streamlit as st
    from gan_core.run import stop_all
    from ui.runs import release_registry
    st.cache_resource.clear()
    release_registry()
    stop_all(timeout=None)
    yield
    stop_all(timeout=None)
    release_registry()
    st.cache_resource.clear()
    stop_all(timeout=None)
    assert run_threads() == [], f"training threads still alive: {run_threads()}"


def attached(at):
    """The Run an AppTest session shows (the one named in its URL)."""
    from ui.runs import get_registry
    rid = at.query_params["run"]
    rid = rid[0] if isinstance(rid, list) else rid
    run = get_registry().get(rid)
    assert run is not None, f"run {rid} from the URL is not in the registry"
    return run


def new_session(run_id: str | None = None):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if run_id is not None:
        at.query_params["run"] = run_id
    return at


def rendered(at):
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def values(arr) -> list:
    """A plotly data array as floats: a JSON list, or a typed array {"dtype", "bdata"} (numpy input)."""
    if isinstance(arr, dict):
        import base64

        import numpy as np
        return np.frombuffer(base64.b64decode(arr["bdata"]), dtype=np.dtype(arr["dtype"])).tolist()
    return [v for v in arr if v is not None]


def vega_charts(at) -> list[dict]:
    """The Vega-Lite charts an AppTest page drew: {"spec": dict, "data": {dataset name: DataFrame}}."""
    import pyarrow as pa
    out = []
    for chart in at.get("vega_lite_chart"):
        data = {d.name: pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets}
        out.append({"spec": json.loads(chart.proto.spec), "data": data})
    return out


def chart_with(at, dataset: str) -> dict:
    """The one Vega-Lite chart holding ``dataset`` (train, points, hist, modes...)."""
    found = [c for c in vega_charts(at) if dataset in c["data"]]
    assert len(found) == 1, f"expected one chart with dataset {dataset!r}, got {[list(c['data']) for c in vega_charts(at)]}"
    return found[0]


def shown(markdown: str) -> str:
    """What a markdown body reads as on the page: ui.text.plain's backslash escapes and zero-width spaces
    removed (error texts from users and files are escaped so they cannot render as links or images)."""
    import re
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u200b", "")


def error_texts(at) -> list[str]:
    return [shown(e.value) for e in at.error]
