"""Real browser (Debian Chromium, tests/helpers_browser.py) at 1280x720: start a ring8 run, open the Manifold
page, and check that the warped mesh MOVES while the run trains (the Plotly figure's mesh coordinates read from
the DOM twice, a few seconds apart), that the JS curve gains points, and that the picture is above the fold;
back on the Train page, the live JS divergence is in the Losses panel."""
from __future__ import annotations

from helpers_browser import METRIC_JS, button, nav, open_and_start, opened_page, poll

from ui.live_charts import JS_TITLE

# (Plotly's _fullData: Streamlit sends numpy arrays as base64 typed arrays, which only the full data decodes.)
# The laid-out Manifold figure's mesh lines (traces named "mesh z1=..."), as [[x...], [y...]] per line, with
# the step named in the caption; and the x values of the JS curve.
MESH_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  for (const g of main.querySelectorAll(".js-plotly-plot")) {
    const r = g.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0) || !g._fullData) continue;
    const mesh = g._fullData.filter(t => (t.name || "").startsWith("mesh z1="));
    if (mesh.length) return {lines: mesh.map(t => [Array.from(t.x), Array.from(t.y)]), top: r.top,
                              bottom: r.bottom, width: r.width};
  }
  return null;
}"""
CURVE_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  for (const g of main.querySelectorAll(".js-plotly-plot")) {
    const r = g.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0) || !g._fullData) continue;
    const js = g._fullData.find(t => t.name === "JS");
    if (js) return Array.from(js.x);
  }
  return null;
}"""


LEGEND_JS = """(label) => Array.from(document.querySelectorAll(
  "[data-testid='stMain'] [data-testid='stVegaLiteChart'] svg text")).some(t => t.textContent.trim() === label)"""


def _moved(a, b) -> float:
    """Largest change of any mesh coordinate between two readings."""
    return max(abs(p - q) for la, lb in zip(a["lines"], b["lines"]) for ca, cb in zip(la, lb) for p, q in zip(ca, cb))


def test_the_mesh_moves_while_a_ring8_run_trains(server, browser, tmp_path):
    with opened_page(browser, tmp_path) as page:
        open_and_start(page, server, "ring8")
        page.mouse.move(640, 650)  # off the Pause button: its tooltip covers the navigation bar's first links
        nav(page, "Manifold")
        page.get_by_role("heading", name="Manifold", exact=True).wait_for()
        first = poll(lambda: page.evaluate(MESH_JS), 30, "the warped mesh")
        assert len(first["lines"]) == 21 and all(len(line[0]) == 41 for line in first["lines"])
        assert first["bottom"] <= 720 and first["top"] < 200  # the live picture is above the fold
        poll(lambda: page.evaluate(METRIC_JS, "JS divergence"), 30, "the JS metric")
        moved = poll(lambda: (lambda now: now if now and _moved(first, now) > 0.01 else None)(page.evaluate(MESH_JS)),
                     15, "the mesh to move")
        assert _moved(first, moved) > 0.01
        steps = poll(lambda: (lambda s: s if s and len(s) > 1 else None)(page.evaluate(CURVE_JS)), 15,
                     "a second point on the JS curve")
        assert steps == sorted(steps) and steps[-1] > steps[0]
        page.screenshot(path=str(tmp_path / "manifold.png"))
        nav(page, "Train")  # leave nothing training for the next test
        poll(lambda: page.evaluate(LEGEND_JS, "JS") and page.evaluate(LEGEND_JS, JS_TITLE), 30,
             "JS in the Losses panel")
        pause = button(page, "Pause")
        pause.focus()  # by keyboard: its tooltip, shown once the pointer passes over it, can intercept a click
        page.keyboard.press("Enter")
        poll(lambda: page.evaluate(METRIC_JS, "State") == "paused", 30, "the run to pause")
