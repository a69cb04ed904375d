"""Live overhead: training speed with the app open in browser tabs, against the same preset headless.

    python bench/live_overhead.py [--preset ring8] [--seconds 20] [--tabs 1,4] [--rounds 2]

In one run on one machine, taking turns ``--rounds`` times:
- headless: ``python -m gan_core train --preset P`` for about ``--seconds`` (its own steps/s figure);
- app + N tabs: ``streamlit run app.py``, a run of preset P started from the first tab
  (``?preset=P&max_steps=0``), N Chromium tabs (Debian's /usr/bin/chromium via Playwright) showing the
  Train page with its live charts; the steps the run makes over ``--seconds`` (read from the page's Step
  metric), after a few seconds of warm-up.
Prints a table of steps/s per round and the best of each, with the ratio to headless.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
STEP_JS = """() => {
  for (const m of document.querySelectorAll("[data-testid='stMain'] [data-testid='stMetric']")) {
    const l = m.querySelector("[data-testid='stMetricLabel']"), v = m.querySelector("[data-testid='stMetricValue']");
    if (l && v && l.innerText.trim() === "Step" && m.getBoundingClientRect().width > 0)
      return parseInt(v.innerText.replace(/[^0-9]/g, ""));
  }
  return null;
}"""


def headless(preset: str, seconds: float, rate_guess: float) -> float:
    steps = max(200, int(seconds * rate_guess))
    out = subprocess.run([sys.executable, "-m", "gan_core", "train", "--preset", preset, "--steps", str(steps),
                          "--quiet", "--set", "max_steps=0"], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["steps_per_s"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def with_tabs(pw, preset: str, tabs: int, seconds: float, warmup: float = 5.0) -> float:
    port = _free_port()
    env = {**os.environ, "GAN_PLAYGROUND_RUNS": f"/tmp/live-overhead-runs-{port}"}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://localhost:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            first = ctx.new_page()
            first.goto(f"{url}/?preset={preset}&max_steps=0")
            first.wait_for_selector(CONNECTED)
            first.get_by_role("button", name="Start", exact=True).click()
            while "run=" not in first.evaluate("location.href"):
                time.sleep(0.1)
            rid = first.evaluate("new URLSearchParams(location.search).get('run')")
            pages = [first] + [ctx.new_page() for _ in range(tabs - 1)]
            for p in pages[1:]:
                p.goto(f"{url}/?run={rid}")
            for p in pages:
                p.wait_for_selector(CONNECTED)
            time.sleep(warmup)
            s0, t0 = first.evaluate(STEP_JS), time.perf_counter()
            time.sleep(seconds)
            s1, t1 = first.evaluate(STEP_JS), time.perf_counter()
            return (s1 - s0) / (t1 - t0)
        finally:
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="ring8")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--tabs", default="1,4")
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    tabs = [int(t) for t in a.tabs.split(",")]
    from playwright.sync_api import sync_playwright

    import torch
    import streamlit
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"streamlit {streamlit.__version__}, preset {a.preset}, {a.seconds:g} s per measurement, "
          f"load before {os.getloadavg()[0]:.2f}")
    results: dict = {"headless": []}
    results.update({f"app + {n} tab{'s' if n > 1 else ''}": [] for n in tabs})
    with sync_playwright() as pw:
        for r in range(a.rounds):
            guess = max(results["headless"] or [300.0])
            results["headless"].append(headless(a.preset, a.seconds, guess))
            for n in tabs:
                results[f"app + {n} tab{'s' if n > 1 else ''}"].append(with_tabs(pw, a.preset, n, a.seconds))
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in results.items()), flush=True)
    base = max(results["headless"])
    print("\n| setting | steps/s per round | best | vs headless |\n|---|---|---|---|")
    for k, v in results.items():
        print(f"| {k} | {', '.join(f'{x:.0f}' for x in v)} | {max(v):.0f} | {max(v) / base:.0%} |")
    print(f"# load after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
