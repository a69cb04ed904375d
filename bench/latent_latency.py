"""Browser benchmark: how long a latent-lab slider move takes to change the generated image on screen.

    python bench/latent_latency.py [--moves 40] [--train-seconds 20] [--data-dir ../shared/data]

Starts `streamlit run app.py`, drives Debian's Chromium with Playwright: loads the mnist preset (28x28
DCGAN; MNIST read from --data-dir), trains it for a while, opens the Latent lab and presses the right
arrow on the z[0] slider ``--moves`` times. Latency = time from the key press (a keydown listener in the
page) to the moment the image element's src changes (a MutationObserver), both on the page's clock.
Measured twice: with the run paused, and while it keeps training on the same cores (the lab's "follow
training" redraw turned off, so every image change is the slider's).
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
WATCH_JS = """() => {
  window.__lat = {down: [], change: []};
  document.addEventListener('keydown', () => window.__lat.down.push(performance.now()), true);
  const src = () => { const img = [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stImage'] img")]
      .find(i => (i.closest("[data-testid='stImage']").innerText || "").includes("G(z), seed"));
      return img ? img.src : null; };
  window.__lat.last = src();
  new MutationObserver(() => { const s = src();
      if (s && s !== window.__lat.last) { window.__lat.last = s; window.__lat.change.push(performance.now()); } })
    .observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def wait(pred, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(what)


def start_server(data_dir: str):
    port = free_port()
    env = dict(os.environ, GAN_PLAYGROUND_DATA=str(Path(data_dir).resolve()))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)

    def healthy():
        try:
            with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
                return r.read().decode().strip() == "ok"
        except OSError:
            return False

    wait(healthy, 60, "server health")
    return proc, f"http://localhost:{port}"


def main_button(page, name: str):
    return page.locator("[data-testid='stMain']").get_by_role("button", name=name, exact=True).filter(visible=True)


def measure(page, moves: int, warmup: int = 3) -> list[float]:
    """Latencies (ms) of ``moves`` key presses on the z[0] slider, after ``warmup`` unrecorded ones."""
    page.evaluate(WATCH_JS)
    thumb = page.locator("[data-testid='stSlider']").filter(has_text="z[0]").locator("input[type='range']").first
    lat = []
    for i in range(moves + warmup):
        thumb.focus()
        n = page.evaluate("window.__lat.change.length")
        page.keyboard.press("ArrowRight" if i % 20 < 10 else "ArrowLeft")
        wait(lambda: page.evaluate("window.__lat.change.length") > n, 10, "the image to change")
        lat.append(page.evaluate("window.__lat.change[window.__lat.change.length-1] - "
                                 "window.__lat.down[window.__lat.down.length-1]"))
        time.sleep(0.25)
    return lat[warmup:]


def summary(name: str, lat: list[float]) -> str:
    q = statistics.quantiles(lat, n=20)
    return (f"{name:<32} n={len(lat):>3}  p50 {statistics.median(lat):6.1f} ms  p95 {q[18]:6.1f} ms  "
            f"max {max(lat):6.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--moves", type=int, default=40)
    ap.add_argument("--train-seconds", type=float, default=20)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright
    import streamlit
    import torch
    print(f"# {platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}, streamlit "
          f"{streamlit.__version__}, chromium /usr/bin/chromium")
    proc, url = start_server(args.data_dir)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(url)
            page.wait_for_selector(CONNECTED)
            page.get_by_text("Setup: preset").click()
            page.locator("[data-testid='stSelectbox']").filter(has_text="Preset").first.click()
            page.keyboard.type("mnist")
            page.keyboard.press("Enter")
            main_button(page, "Load preset").click()
            main_button(page, "Start").wait_for()
            time.sleep(1.0)
            main_button(page, "Start").click()
            time.sleep(args.train_seconds)
            main_button(page, "Pause").click()
            main_button(page, "Resume").wait_for()
            page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Latent lab").click()
            page.get_by_text("G(z), seed").first.wait_for(timeout=60_000)
            time.sleep(1.0)
            paused = measure(page, args.moves)
            page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Train").click()
            main_button(page, "Resume").click()
            main_button(page, "Pause").wait_for()
            page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Latent lab").click()
            page.get_by_text("G(z), seed").first.wait_for(timeout=60_000)
            page.get_by_text("Follow training").click()  # else the image also changes every second
            time.sleep(1.5)
            training = measure(page, args.moves)
            browser.close()
        print(summary("paused run", paused))
        print(summary("while training", training))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


if __name__ == "__main__":
    main()
