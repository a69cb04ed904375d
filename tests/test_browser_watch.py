"""Watching a CLI run in a real browser: `python -m gan_core train --out <runs>/NAME` trains in a subprocess,
Chromium opens `?watch=NAME` and sees the step climb and the picture; the trainer is killed (SIGKILL, mid-write
as far as it knows) and the page says so; Take over loads the newest checkpoint as a local run on the Train
page."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

from helpers_browser import CONNECTED, METRIC_JS, ROOT, button, opened_page, poll
from ui.runs import runs_dir


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def watched_step(page):
    v = page.evaluate(METRIC_JS, "Step")
    return int(v.replace(",", "")) if v else None


def test_the_browser_watches_a_cli_run_and_takes_it_over(server, browser, tmp_path):
    name = f"cli-{uuid.uuid4().hex[:6]}"
    out = runs_dir() / name
    proc = subprocess.Popen([sys.executable, "-m", "gan_core", "train", "--preset", "ring8", "--steps", "500000",
                             "--out", str(out), "--quiet", "--set", "train.autosave_minutes=0.05"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        poll(lambda: (out / "live" / "status.json").is_file(), 60, "the trainer's first live status")
        with opened_page(browser, tmp_path) as page:
            page.goto(f"{server}/?watch={name}")  # a link to the Train page with ?watch= lands on Watch
            page.wait_for_selector(CONNECTED)
            poll(lambda: f"Watching {name}" in main_text(page), 30, "the Watch page")
            first = poll(lambda: watched_step(page), 30, "the watched Step")
            poll(lambda: (watched_step(page) or 0) > first + 100, 30, "the watched Step to climb")
            poll(lambda: "· running ·" in main_text(page) and "Data space at step" in main_text(page), 20,
                 "the watched run's state and picture")
            assert button(page, "Start").count() == 0  # nothing here trains or changes the run
            poll(lambda: (out / "checkpoint.safetensors").is_file(), 60, "an autosave")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            poll(lambda: "stopped writing" in main_text(page), 40, "the page to notice the trainer is gone")
            poll(lambda: button(page, "Take over").is_enabled(), 20, "Take over")
            button(page, "Take over").click()
            poll(lambda: button(page, "Resume").count() == 1, 30, "the Train page with the local run's controls")
            poll(lambda: page.evaluate(METRIC_JS, "State") == "paused", 30, "the local run's State")  # drawn after the bar
            assert "watch=" not in page.evaluate("location.href")
            step = poll(lambda: watched_step(page), 30, "the local run's Step")
            assert step > 0  # the newest autosave, now a local run that Resume continues
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
