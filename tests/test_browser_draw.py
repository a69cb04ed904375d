"""Draw your own data in a real browser (Debian Chromium, tests/helpers_browser.py) at 1280x720: in Setup →
Data choose "drawn", place two points by clicking the canvas and draw a stroke by dragging, undo and redraw
it, start a new run, and check that it trains on the drawing: the saved config.json holds the points where
the mouse put them, and every real point of the data-space picture lies on them (the picture's marks read
from their accessibility labels). Then away to Diagnostics (the drawing's own measures) and back, and a
refresh: the same run, still training on the same data. Screenshots at 1280x720 and 1440x900 go to tmp_path.
"""
from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import torch

from gan_core.data.drawn import fit_bounds
from gan_core.viz import ZOOMS
from helpers_browser import (CONNECTED, METRIC_JS, button, choose, nav, open_setup, opened_page, page_run_id,
                             poll, step_of)

# The real points of the laid-out data-space picture, from the Vega marks' labels ("x: 1.2; y: -0.5; kind: real"),
# and, to measure its axes, the heatmap image's edges (it spans the view exactly) and each axis's tick labels
# with their positions on the screen.
PICTURE_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  for (const chart of main.querySelectorAll("[data-testid='stVegaLiteChart']")) {
    const r = chart.getBoundingClientRect();
    const img = chart.querySelector("svg image");
    if (!(r.width > 0 && r.height > 0) || !img) continue;
    const real = Array.from(chart.querySelectorAll("path[aria-label*='kind: real']")).map(p => p.getAttribute("aria-label"));
    if (!real.length) continue;
    const ir = img.getBoundingClientRect();
    const ticks = Array.from(chart.querySelectorAll("g[aria-roledescription='axis']")).map(axis =>
      Array.from(axis.querySelectorAll(".role-axis-label text")).map(t => {
        const b = t.getBoundingClientRect(); return [t.textContent, (b.left + b.right) / 2, (b.top + b.bottom) / 2];
      }));
    return {real, image: [ir.left, ir.right, ir.top, ir.bottom], ticks};
  }
  return null;
}"""
NUM = r"[−-]?\d+(?:\.\d+)?"


def _num(text: str) -> float:
    return float(text.replace("−", "-"))


def _domain(ticks, lo_px: float, hi_px: float, coord: int) -> tuple:
    """The data range between two screen positions, from an axis's first and last tick labels."""
    (a, *_), (b, *_) = ticks[0], ticks[-1]
    pa, pb = ticks[0][coord], ticks[-1][coord]
    per_px = (_num(b) - _num(a)) / (pb - pa)
    return tuple(sorted((_num(a) + (lo_px - pa) * per_px, _num(a) + (hi_px - pa) * per_px)))


def picture(page):
    """(real points [(x, y)], x range, y range) of the data-space picture, or None before it is drawn."""
    got = page.evaluate(PICTURE_JS)
    if not got or len(got["ticks"]) != 2 or min(map(len, got["ticks"])) < 2:
        return None
    pts = [tuple(_num(v) for v in re.findall(rf"[xy]: ({NUM})", label)) for label in got["real"]]
    left, right, top, bottom = got["image"]
    return pts, _domain(got["ticks"][0], left, right, 1), _domain(got["ticks"][1], bottom, top, 2)


def canvas_state(dialog) -> dict:
    """What the canvas shows: the server's point count and the strokes still waiting for the server."""
    root = dialog.locator(".draw-root")
    return {"points": int(root.get_attribute("data-points") or -1), "pending": int(root.get_attribute("data-pending") or 0)}


def settled_count(dialog, at_least: int) -> int:
    """The canvas's point count once the server holds every stroke drawn (and at least ``at_least``)."""
    def done():
        s = canvas_state(dialog)
        return s["points"] if s["pending"] == 0 and s["points"] >= at_least else None
    return poll(done, 20, f"at least {at_least} points on the server")


def drag(page, box, start, end, steps: int = 25) -> None:
    """A mouse drag across the canvas ``box`` between two fractions of its size."""
    at = lambda f: (box["x"] + f[0] * box["width"], box["y"] + f[1] * box["height"])  # noqa: E731
    page.mouse.move(*at(start))
    page.mouse.down()
    for i in range(1, steps + 1):
        t = i / steps
        page.mouse.move(*at((start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)))
    page.mouse.up()


def data_xy(f) -> tuple:
    """Where a click at fraction ``f`` of the canvas lands in data coordinates (the canvas spans -4..4)."""
    return -4 + 8 * f[0], 4 - 8 * f[1]


def test_a_drawing_is_trained_on(server, browser, tmp_path):
    clicks = ((0.25, 0.25), (0.75, 0.25))  # data (-2, 2) and (2, 2)
    stroke = ((0.3, 0.7), (0.7, 0.7))  # data y = -1.6, x from -1.6 to 1.6
    with opened_page(browser, tmp_path) as page:
        page.goto(f"{server}/?preset=ring8")
        page.wait_for_selector(CONNECTED)
        old = poll(lambda: page_run_id(page), 20, "?run= in the URL")
        dialog = open_setup(page)
        choose(page, dialog, "Dataset", "drawn")
        canvas = dialog.locator("canvas.draw-canvas")
        canvas.wait_for(state="visible")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box["width"] >= 300 and abs(box["width"] - box["height"]) < 1
        assert 0 <= box["y"] and box["y"] + box["height"] <= 720  # the whole canvas on a 1280x720 screen
        assert canvas_state(dialog)["points"] == 0
        for f in clicks:
            page.mouse.click(box["x"] + f[0] * box["width"], box["y"] + f[1] * box["height"])
        drag(page, box, *stroke)
        first = settled_count(dialog, 2 + 25)
        button_in = lambda name: dialog.get_by_role("button", name=name, exact=True)  # noqa: E731
        button_in("Undo").click()  # takes the stroke away
        poll(lambda: canvas_state(dialog)["points"] == 2, 20, "the stroke undone")
        drag(page, box, *stroke)
        n = settled_count(dialog, first)
        assert n == first and f"{n} points" in dialog.inner_text()
        page.screenshot(path=str(tmp_path / "draw_setup_1280x720.png"))

        button_in("Start new run").click()
        poll(lambda: page_run_id(page) not in (None, old) and page.get_by_role("dialog").count() == 0, 60,
             "the new run on the drawing")
        rid = page_run_id(page)
        button(page, "Save").click()
        saved = Path(os.environ["GAN_PLAYGROUND_RUNS"]) / rid / "config.json"
        poll(lambda: saved.is_file(), 30, f"{saved}")
        data = json.loads(saved.read_text())["config"]["data"]
        points = [tuple(p) for p in data["points"]]
        assert data["dataset"] == "drawn" and len(points) == n
        for got, f in zip(points[:2], clicks):  # the clicks, where the mouse put them
            assert math.dist(got, data_xy(f)) < 0.03, (got, data_xy(f))
        line = points[2:]
        (x0, y0), (x1, _) = data_xy(stroke[0]), data_xy(stroke[1])
        assert all(abs(y - y0) < 0.03 for _, y in line)
        assert abs(line[0][0] - x0) < 0.03 and abs(line[-1][0] - x1) < 0.15
        assert all(0.05 < math.dist(a, b) < 0.15 for a, b in zip(line, line[1:]))  # a point every 0.1

        button(page, "Start").focus()  # by keyboard: no tooltip left over the picture for the screenshot
        page.keyboard.press("Enter")
        poll(lambda: page.evaluate(METRIC_JS, "State") == "running", 30, "the run to train")
        poll(lambda: (step_of(page) or 0) > 50, 60, "a few steps")
        pts, xd, yd = poll(lambda: picture(page), 30, "the data-space picture")
        assert len(pts) >= 100
        assert all(min(math.dist(p, q) for q in points) < 0.35 for p in pts)  # real = the drawing + jitter
        (fx0, fx1), (fy0, fy1) = fit_bounds(torch.tensor(points), data["point_std"])  # the drawing's own view
        zoom = (xd[1] - xd[0]) / (fx1 - fx0)  # ... widened in steps while G's points are outside it
        assert min(abs(zoom - z) for z in ZOOMS) < 0.03, (xd, yd, zoom)
        assert abs((xd[0] + xd[1]) / 2 - (fx0 + fx1) / 2) < 0.05 and abs((yd[0] + yd[1]) / 2 - (fy0 + fy1) / 2) < 0.05
        assert abs((xd[1] - xd[0]) - (yd[1] - yd[0])) < 0.05  # square: the drawing is not distorted
        page.screenshot(path=str(tmp_path / "draw_train_1280x720.png"))
        nav(page, "Diagnostics")
        poll(lambda: page.evaluate(METRIC_JS, "On the drawing"), 30, "the drawing's diagnostics")
        nav(page, "Train")
        poll(lambda: page_run_id(page) == rid and picture(page), 30, "the same run's picture back on Train")
        page.reload()
        page.wait_for_selector(CONNECTED)
        before = poll(lambda: step_of(page), 30, "the step after a refresh")
        assert page_run_id(page) == rid
        poll(lambda: (step_of(page) or 0) > before, 30, "training going on after the refresh")
        pts, _, _ = poll(lambda: picture(page), 30, "the picture after the refresh")
        assert all(min(math.dist(p, q) for q in points) < 0.35 for p in pts)
        pause_run(page)


def pause_run(page) -> None:
    """Leave nothing training for the next test (by keyboard: Pause's tooltip can intercept a click)."""
    button(page, "Pause").focus()
    page.keyboard.press("Enter")
    poll(lambda: page.evaluate(METRIC_JS, "State") == "paused", 30, "the run to pause")


def test_the_drawn_preset_at_1440x900(server, browser, tmp_path):
    with opened_page(browser, tmp_path, 1440, 900) as page:
        page.goto(f"{server}/?preset=drawn")
        page.wait_for_selector(CONNECTED)
        poll(lambda: "· drawn" in page.locator("[data-testid='stMain']").inner_text(), 30, "the drawn run")
        dialog = open_setup(page)
        canvas = dialog.locator("canvas.draw-canvas")
        canvas.wait_for(state="visible")
        assert canvas_state(dialog)["points"] > 100  # the preset's smiley
        box = canvas.bounding_box()
        assert box["y"] + box["height"] <= 900  # no scrolling needed at this size
        page.screenshot(path=str(tmp_path / "draw_setup_1440x900.png"))
        dialog.get_by_role("button", name="Cancel").click()
        poll(lambda: page.get_by_role("dialog").count() == 0, 20, "the dialog to close")
        button(page, "Start").focus()
        page.keyboard.press("Enter")
        poll(lambda: (step_of(page) or 0) > 300, 60, "300 steps")
        page.screenshot(path=str(tmp_path / "draw_train_1440x900.png"))
        pause_run(page)
