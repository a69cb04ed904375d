"""Live-chart blanking: how much of the time a live chart shows nothing, Plotly against Vega-Lite.

    python bench/live_chart_blanking.py [--seconds 10]

Serves a small Streamlit page (written to a temporary file) whose fragment redraws the Train page's
training chart and data-space picture from random data twice a second, the way the live panel does —
once with the Plotly figures (ui/charts.py) and once with the Vega-Lite specs (ui/live_charts.py) — and
measures in Debian's Chromium (/usr/bin/chromium via Playwright) the share of ``--seconds`` during which
the page holds no drawn chart (a MutationObserver on the chart elements). Streamlit 1.67 gives a Plotly
chart a new element id whenever its figure changes, so each refresh remounts it; a Vega-Lite chart keeps
its id and swaps its data. Both run in one process on one machine, one after the other.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
APP = '''
import sys; sys.path.insert(0, {root!r})
import numpy as np, streamlit as st
from ui import charts, live_charts
kind = st.query_params.get("kind", "vega")

@st.fragment(run_every=0.5)
def live():
    h = {{c: np.random.rand(600).astype(np.float32) for c, *_ in charts.TRAINING_TRACES}}
    h["step"] = np.arange(600, dtype=np.float32)
    vis = {{"kind": "2d", "real": np.random.randn(512, 2), "fake": np.random.randn(512, 2),
           "heat": np.random.rand(48, 48), "heat_x": np.linspace(-3, 3, 48), "heat_y": np.linspace(-3, 3, 48),
           "arrow_xy": np.random.randn(128, 2), "arrow_uv": np.random.randn(128, 2), "output": "logit",
           "bounds": ((-3, 3), (-3, 3)), "outside": 0, "step": 1}}
    a, b = st.columns(2)
    if kind == "plotly":
        cache = st.session_state
        if "figs" not in cache:
            cache.figs = (charts.training_figure("logit"), charts.space_figure(vis))
        a.plotly_chart(charts.update_space(cache.figs[1], vis), key="space")
        b.plotly_chart(charts.update_training(cache.figs[0], h), key="train")
    else:
        spec = live_charts.space_spec(vis); spec["datasets"] = live_charts.space_data(vis)
        a.vega_lite_chart(spec, key="space", width="content")
        spec = live_charts.training_spec("logit"); spec["datasets"] = {{"train": live_charts.training_data(h)}}
        b.vega_lite_chart(spec, key="train", width="content")
live()
'''
BLANK_JS = """(seconds) => new Promise(res => {
  const drawn = () => document.querySelectorAll('.js-plotly-plot .trace, [data-testid=stVegaLiteChart] svg.marks').length >= 2;
  let blank = 0, last = performance.now(), state = drawn(), t0 = performance.now(), flips = 0;
  const obs = new MutationObserver(() => { const now = performance.now(); if (!state) blank += now - last;
    last = now; const s = drawn(); if (s !== state) flips++; state = s; });
  obs.observe(document.body, {subtree: true, childList: true});
  setTimeout(() => { const now = performance.now(); if (!state) blank += now - last; obs.disconnect();
    res({blank_pct: Math.round(1000 * blank / (now - t0)) / 10, blank_phases: Math.floor(flips / 2)}); }, seconds * 1000);
})"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    app = Path(tempfile.mkdtemp()) / "blanking_app.py"
    app.write_text(APP.format(root=str(ROOT)))
    import socket
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    results = {}
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for kind in ("plotly", "vega"):
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.goto(f"http://localhost:{port}/?kind={kind}")
                page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']")
                time.sleep(4)
                results[kind] = page.evaluate(BLANK_JS, args.seconds)
                page.close()
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
    for kind, r in results.items():
        print(f"{kind:7s} blank {r['blank_pct']:5.1f}% of {args.seconds:g} s ({r['blank_phases']} blank phases)")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
