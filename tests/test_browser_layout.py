"""The Train page as a lecturer projects it, in Debian's Chromium: at 1280x720 and 1440x900, while the run
trains, the control bar (Start/Pause, Step, speed), the step counter, the data-space picture (or the
sample grid) and the training charts are all inside the window without scrolling; presentation mode
(?present=1 and the toggle) hides the header and menu and draws chart text at 16 px or more; Enter in a
setup field starts nothing; live widgets keep the run's values across page switches, a refresh and a
second tab.
"""
from __future__ import annotations

import pytest

from helpers_browser import (CONNECTED, METRIC_JS, button, nav, open_setup, page_run_id, poll,
                             step_of)

# Bounding boxes of the named parts of the Train page (None for a part that is not laid out).
BOXES_JS = """() => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 ? {x: r.left, y: r.top, r: r.right, b: r.bottom} : null; };
  const main = document.querySelector("[data-testid='stMain']");
  const metric = Array.from(main.querySelectorAll("[data-testid='stMetric']")).find(
    m => (m.querySelector("[data-testid='stMetricLabel']") || {}).innerText === "Step");
  const charts = Array.from(main.querySelectorAll("[data-testid='stVegaLiteChart'] svg.marks"));
  const grid = Array.from(main.querySelectorAll("[data-testid='stImage'] img"))[0];
  return {
    start_pause: box(main.querySelector(".st-key-btn_pause button, .st-key-btn_start button")),
    step: box(main.querySelector(".st-key-btn_step button")),
    speed: box(main.querySelector(".st-key-ctl_speed [data-testid='stButtonGroup']")),
    step_counter: box(metric),
    picture: box(grid || charts[0]),
    training_charts: box(grid ? charts[0] : charts[1]),
    window: {w: window.innerWidth, h: window.innerHeight},
  };
}"""
PARTS = ("start_pause", "step", "speed", "step_counter", "picture", "training_charts")


def outside(boxes: dict) -> list[str]:
    w, h = boxes["window"]["w"], boxes["window"]["h"]
    bad = []
    for name in PARTS:
        b = boxes[name]
        if b is None or b["x"] < 0 or b["y"] < 0 or b["r"] > w or b["b"] > h:
            bad.append(f"{name}: {b}")
    return bad


def training(page, server_url: str, query: str = "preset=ring8"):
    page.goto(f"{server_url}/?{query}")
    page.wait_for_selector(CONNECTED)
    button(page, "Start").click()
    poll(lambda: page.evaluate(METRIC_JS, "State") == "running", 30, "the run to train")
    poll(lambda: (step_of(page) or 0) > 20, 30, "training past step 20")


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)])
def test_one_screen_while_training(server, browser, size, tmp_path):  # noqa: F811
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    page.set_default_timeout(30_000)
    try:
        training(page, server)
        boxes = poll(lambda: (lambda b: b if not outside(b) else None)(page.evaluate(BOXES_JS)), 30,
                     f"every part inside the {size[0]}x{size[1]} window")
        assert boxes["picture"]["r"] <= boxes["training_charts"]["x"]  # side by side, not stacked
        assert page.evaluate("document.scrollingElement.scrollTop") == 0
        button(page, "Pause").click()
        page.screenshot(path=str(tmp_path / f"train_{size[0]}.png"))
    finally:
        page.close()


def test_the_sample_grid_fits_for_image_data(server, browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(30_000)
    try:
        training(page, server, "preset=digits")
        poll(lambda: not outside(page.evaluate(BOXES_JS)), 30, "the sample grid and charts inside 1280x720")
        button(page, "Pause").click()
    finally:
        page.close()


FONT_JS = """() => Array.from(document.querySelectorAll("[data-testid='stMain'] [data-testid='stVegaLiteChart'] svg text"))
  .filter(t => t.textContent.trim()).map(t => parseFloat(getComputedStyle(t).fontSize))"""


def test_presentation_mode(server, browser, tmp_path):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(30_000)
    try:
        training(page, server, "preset=ring8&present=1")
        poll(lambda: not outside(page.evaluate(BOXES_JS)), 30, "every part inside 1280x720 in presentation mode")
        assert not page.locator("header[data-testid='stHeader']").is_visible()  # no Deploy, menu or navigation
        assert page.get_by_role("button", name="Deploy").count() == 0
        assert not page.locator("[data-testid='stTopNav']").is_visible()
        sizes = poll(lambda: page.evaluate(FONT_JS), 20, "chart text")
        assert len(sizes) > 20 and min(sizes) >= 16, sorted(sizes)[:5]
        page.screenshot(path=str(tmp_path / "present.png"))
        toggle = page.locator(".st-key-present_toggle input")
        assert toggle.is_checked()
        page.locator(".st-key-present_toggle label").click()  # out again: header back, ?present gone
        poll(lambda: page.locator("[data-testid='stTopNav']").is_visible(), 20, "the navigation back")
        poll(lambda: "present=" not in page.evaluate("location.href"), 10, "present= gone from the URL")
        assert min(poll(lambda: page.evaluate(FONT_JS), 20, "chart text")) < 16  # normal size again
        button(page, "Pause").click()
    finally:
        page.close()


def test_enter_in_a_setup_field_starts_nothing(server, browser):  # noqa: F811
    """Bug: Enter in "Data folder" submitted the setup form and wiped a trained run."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{server}/?preset=ring8")
        page.wait_for_selector(CONNECTED)
        button(page, "×10").click()  # a run that trained: what a submit used to wipe
        poll(lambda: page.evaluate(METRIC_JS, "State") == "paused" and step_of(page) == 10, 30, "10 steps")
        rid, step = page_run_id(page), 10
        dialog = open_setup(page)
        field = dialog.get_by_role("textbox", name="Data folder (MNIST files)")
        field.fill("/tmp/somewhere")
        field.press("Enter")
        page.wait_for_timeout(1500)  # what a submit would have done by now: a new run in the URL
        assert page.get_by_role("dialog").is_visible()
        assert page_run_id(page) == rid and step_of(page) == step
        dialog.get_by_role("button", name="Cancel").click()
        poll(lambda: page.get_by_role("dialog").count() == 0, 10, "the dialog to close")
        assert page_run_id(page) == rid and step_of(page) == step
    finally:
        page.close()


def test_live_widgets_keep_the_run_values_across_pages_refresh_and_tabs(server, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{server}/?preset=ring8")
        page.wait_for_selector(CONNECTED)
        rid = poll(lambda: page_run_id(page), 20, "?run= in the URL")
        batch = page.get_by_role("spinbutton", name="Batch size")
        batch.fill("200")
        batch.press("Enter")
        poll(lambda: batch.input_value() == "200", 10, "batch 200")
        page.wait_for_timeout(500)
        nav(page, "Guide")
        page.get_by_role("heading", name="Guide", exact=True).wait_for()
        nav(page, "Train")
        batch = page.get_by_role("spinbutton", name="Batch size")
        poll(lambda: batch.input_value() == "200", 20, "the run's batch size (200) after Guide and back")
        page.locator(".st-key-live_batch_size").get_by_role("button").last.click()  # "+": one step of 32
        poll(lambda: batch.input_value() == "232", 20, "200 + 32 after one '+'")
        page.reload()
        page.wait_for_selector(CONNECTED)
        poll(lambda: page.get_by_role("spinbutton", name="Batch size").input_value() == "232", 20,
             "232 after a refresh")
        other = context.new_page()
        other.goto(f"{server}/?run={rid}")
        other.wait_for_selector(CONNECTED)
        poll(lambda: other.get_by_role("spinbutton", name="Batch size").input_value() == "232", 20,
             "232 in a second tab")
        other.close()
    finally:
        context.close()
