"""Shared by the real-browser tests (not a test module itself): Debian's Chromium driven by Playwright
against `streamlit run app.py` in a subprocess. Importing this skips the importing module when Playwright
or /usr/bin/chromium is missing (CI installs both; never download a browser for these tests).

The fixtures ``server`` (one `streamlit run app.py` for every browser test module) and ``browser`` (one
Chromium) are session-wide, in tests/conftest.py.
"""
from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from helpers_server import free_port, poll, serve  # noqa: F401  (re-exported for the browser tests)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"

# The src of a laid-out, loaded st.image in the main area whose caption starts with the given text
# (Streamlit may keep hidden, zero-size copies of elements while a fragment reruns).
IMAGE_JS = """(caption) => {
  const main = document.querySelector("[data-testid='stMain']") || document;
  for (const box of main.querySelectorAll("[data-testid='stImageContainer']")) {
    const img = box.querySelector("img");
    const r = box.getBoundingClientRect();
    if (img && r.width > 0 && r.height > 0 && box.innerText.trim().startsWith(caption)
        && img.complete && img.naturalWidth > 0) {
      return img.getAttribute("src");
    }
  }
  return null;
}"""


@contextmanager
def opened_page(browser, tmp_path, width: int = 1280, height: int = 720):
    """A page of ``browser`` at ``width`` x ``height`` with a 30 s default timeout; on the way out a
    screenshot of where it ended (tmp_path/last.png, for debugging) and the page closed."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        try:
            page.screenshot(path=str(tmp_path / "last.png"))
        finally:
            page.close()

# The text of a laid-out metric in the main area, by label (Streamlit may keep hidden, zero-size copies
# of elements while a fragment reruns; only what is laid out counts).
METRIC_JS = """(label) => {
  const main = document.querySelector("[data-testid='stMain']") || document;
  for (const m of main.querySelectorAll("[data-testid='stMetric']")) {
    const name = m.querySelector("[data-testid='stMetricLabel']");
    const value = m.querySelector("[data-testid='stMetricValue']");
    const box = m.getBoundingClientRect();
    if (name && value && name.innerText.trim() === label && box.width > 0 && box.height > 0) {
      return value.innerText.trim();
    }
  }
  return null;
}"""



def button(page, name: str):
    return page.locator("[data-testid='stMain']").get_by_role("button", name=name, exact=True).filter(visible=True)


def run_id(url: str):
    return parse_qs(urlparse(url).query).get("run", [None])[0]


def page_run_id(page):
    """The ?run= of the page's current URL, read in the page: ``page.url`` is a cached value that the sync
    API only refreshes while it talks to the browser, so polling it alone never sees a change."""
    return run_id(page.evaluate("location.href"))


def main_text(page) -> str:
    """The visible text of the page's main area."""
    return page.locator("[data-testid='stMain']").inner_text()


def step_of(page):
    """The Step metric of ``page`` as an int (None before it is drawn)."""
    digits = "".join(ch for ch in (page.evaluate(METRIC_JS, "Step") or "") if ch.isdigit())
    return int(digits) if digits else None


def open_and_start(page, server_url: str, preset: str) -> None:
    """Open a new run of ``preset`` from its link and press Start; returns once it trains."""
    page.goto(f"{server_url}/?preset={preset}")
    page.wait_for_selector(CONNECTED)
    poll(lambda: f"· {preset}" in page.locator("[data-testid='stMain']").inner_text(), 30, f"the {preset} run")
    button(page, "Start").click()
    poll(lambda: page.evaluate(METRIC_JS, "State") == "running", 30, "the run to train")


def nav(page, name: str) -> None:
    """Click a page in the top navigation bar."""
    page.locator("[data-testid='stTopNav']").get_by_role("link", name=name, exact=True).click()


# The status line of pages other than Train ("Run `id` · preset · **state** · step 1,234 · ...").
STATUS_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']") || document;
  for (const p of main.querySelectorAll("[data-testid='stMarkdownContainer']")) {
    const t = p.innerText.trim();
    if (t.startsWith("Run ") && / · step [0-9,]+/.test(t)) return t;
  }
  return null;
}"""


def status_step(page):
    m = re.search(r" · step ([0-9,]+)", page.evaluate(STATUS_JS) or "")
    return int(m.group(1).replace(",", "")) if m else None


def open_setup(page):
    """Press Setup; returns the dialog."""
    button(page, "Setup").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for(state="visible")
    return dialog


def choose(page, scope, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` inside ``scope`` (typed, then Enter)."""
    box = scope.get_by_role("combobox", name=label)
    box.click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    poll(lambda: box.input_value() == option, 10, f"{option!r} chosen in {label!r}")


# The live charts are Vega-Lite views (Streamlit renders them as SVG): a hash of each laid-out chart's
# marks, to see them redraw with new data.
CHARTS_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']") || document;
  return Array.from(main.querySelectorAll("[data-testid='stVegaLiteChart'] svg.marks")).filter(c => {
    const r = c.getBoundingClientRect(); return r.width > 0 && r.height > 0;
  }).map(c => { const d = c.innerHTML; let h = d.length; for (let i = 0; i < d.length; i += 3) h = (h * 31 + d.charCodeAt(i)) | 0; return h; });
}"""


def settled_step(page, timeout: float = 20):
    """The Step metric once it stops changing (a paused run's last step shows on the next 2 s refresh)."""
    state = {"last": None}

    def same():
        time.sleep(2.2)
        now = step_of(page)
        done, state["last"] = now is not None and now == state["last"], now
        return now if done else None
    return poll(same, timeout, "the step to settle")
