"""The model strip on the Train page in Debian's Chromium (ui/overview.py): at speed 1 step/s the network that
is lit changes between D and G while the run trains (D's phase: D lit, G frozen; G's phase: the other way
round), exactly one phase is on screen at a time, and it still does after going to the Guide and back; at
max speed it says the steps are too fast to follow; a D-only and a G-only step from the ⋮ menu light D and G.
The strip sits between the numbers and the picture, and the live picture and charts stay inside the window
at 1280x720 and 1440x900, in normal and presentation mode (screenshots in the test's tmp_path).
"""
from __future__ import annotations

import time

import pytest

from helpers_browser import CONNECTED, METRIC_JS, button, nav, opened_page, poll, step_of
from test_browser_layout import BOXES_JS, outside

# The strip's frame on screen (its CSS animation makes exactly one visible at a time), the classes of its G
# and D boxes, and the strip's box.
STRIP_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  const strips = Array.from(main.querySelectorAll(".ovs")).filter(s => s.getBoundingClientRect().width > 0);
  if (strips.length !== 1) return {strips: strips.length};
  const frames = Array.from(strips[0].querySelectorAll(".ovs-frame"))
    .filter(f => getComputedStyle(f).visibility === "visible");
  const r = strips[0].getBoundingClientRect();
  const out = {strips: 1, visible: frames.length, box: {x: r.left, y: r.top, r: r.right, b: r.bottom}};
  if (frames.length !== 1) return out;
  const f = frames[0], net = (n) => f.querySelector(`[data-net='${n}']`).className;
  return {...out, phase: f.dataset.phase, step: parseInt(f.dataset.step || "0"), g: net("g"), d: net("d"),
          title: f.querySelector(".ovs-title").innerText};
}"""
SPEED_JS = """() => { const b = document.querySelector(".st-key-ctl_speed button[aria-checked='true']");
  return b ? b.innerText.trim() : null; }"""


def strip(page) -> dict:
    return page.evaluate(STRIP_JS)


def lit_as_its_phase(s: dict) -> bool:
    """D's phase lights D and freezes G; G's phase the other way round."""
    if s["phase"] == "d":
        return "ovs-on-d" in s["d"] and "ovs-frozen" in s["g"]
    if s["phase"] == "g":
        return "ovs-on-g" in s["g"] and "ovs-frozen" in s["d"]
    return False


def speed(page, label: str) -> None:
    page.locator(".st-key-ctl_speed").get_by_text(label, exact=True).click()
    poll(lambda: page.evaluate(SPEED_JS) == label, 20, f"speed {label} chosen")


def watch_phases(page, seconds: float = 12.0) -> list:
    """Sample the strip every 0.1 s until D and G have each been on screen twice (or ``seconds`` pass);
    returns the (phase, step) runs in the order seen."""
    runs, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        s = strip(page)
        assert s.get("visible") == 1, s  # exactly one phase on screen, always
        assert lit_as_its_phase(s), s
        if not runs or runs[-1] != (s["phase"], s["step"]):
            runs.append((s["phase"], s["step"]))
        if sum(p == "d" for p, _ in runs) >= 2 and sum(p == "g" for p, _ in runs) >= 2:
            break
        time.sleep(0.1)
    return runs


def start_at_one_step_per_second(page, server: str, query: str = "preset=ring8") -> None:
    page.goto(f"{server}/?{query}")
    page.wait_for_selector(CONNECTED)
    poll(lambda: strip(page).get("phase") == "idle", 30, "the strip of the new run")
    speed(page, "1/s")
    button(page, "Start").click()
    poll(lambda: page.evaluate(METRIC_JS, "State") == "running", 30, "the run to train")
    poll(lambda: strip(page).get("phase") in ("d", "g"), 30, "the first narrated phase")


def assert_layout(page) -> dict:
    boxes = poll(lambda: (lambda b: b if not outside(b) else None)(page.evaluate(BOXES_JS)), 30,
                 "the control bar, numbers, picture and charts inside the window")
    s = strip(page)
    w, h = boxes["window"]["w"], boxes["window"]["h"]
    box = s["box"]
    assert 0 <= box["x"] and box["r"] <= w and box["b"] <= h, s
    assert boxes["step_counter"]["b"] <= box["y"]  # under the numbers
    assert box["b"] <= min(boxes["picture"]["y"], boxes["training_charts"]["y"])  # above the live picture
    assert page.evaluate("document.scrollingElement.scrollTop") == 0
    return boxes


def test_one_step_per_second_walks_through_d_then_g(server, browser, tmp_path):  # noqa: F811
    with opened_page(browser, tmp_path, 1280, 720) as page:
        start_at_one_step_per_second(page, server)
        runs = watch_phases(page)
        phases = [p for p, _ in runs]
        assert phases.count("d") >= 2 and phases.count("g") >= 2, runs
        assert all(a != b for a, b in zip(phases, phases[1:])), runs  # D, G, D, G: each iteration's two phases
        steps = [s for _, s in runs]
        assert steps == sorted(steps) and len(set(steps)) >= 2, runs  # later iterations, in order
        for (p, s), (q, t) in zip(runs, runs[1:]):
            if p == "d":
                assert q == "g" and t == s, runs  # an iteration's G phase follows its own D phase
        assert_layout(page)
        page.screenshot(path=str(tmp_path / "overview_1280.png"))

        nav(page, "Guide")
        page.get_by_role("heading", name="Guide", exact=True).wait_for()
        nav(page, "Train")
        poll(lambda: strip(page).get("phase") in ("d", "g"), 30, "the strip back on the Train page")
        again = [p for p, _ in watch_phases(page)]
        assert again.count("d") >= 2 and again.count("g") >= 2, again

        speed(page, "max")
        s = poll(lambda: (lambda s: s if s.get("phase") == "all" else None)(strip(page)), 20, "the fast frame")
        assert "then" in s["title"] and "ovs-frozen" not in s["g"] + s["d"]
        assert "too fast to follow" in page.locator("[data-testid='stMain'] .ovs").inner_text()
        button(page, "Pause").click()
        poll(lambda: page.evaluate(METRIC_JS, "State") == "paused", 20, "the pause")


def test_a_d_only_and_a_g_only_step_light_their_network(server, browser, tmp_path):  # noqa: F811
    with opened_page(browser, tmp_path, 1280, 720) as page:
        page.goto(f"{server}/?preset=ring8")
        page.wait_for_selector(CONNECTED)
        poll(lambda: strip(page).get("phase") == "idle", 30, "the strip of the new run")
        for name, phase in (("D step only", "d"), ("G step only", "g")):
            before = step_of(page) or 0
            page.locator("[data-testid='stMain'] [data-testid='stPopover'] button").first.click()
            page.get_by_role("button", name=name, exact=True).click()
            s = poll(lambda: (lambda s: s if s.get("step") == before + 1 else None)(strip(page)), 20,
                     f"the strip after {name}")
            assert s["phase"] == phase and lit_as_its_phase(s), s
            page.keyboard.press("Escape")


@pytest.mark.parametrize("size, query", [((1280, 720), "&present=1"), ((1440, 900), ""), ((1440, 900), "&present=1")])
def test_the_strip_keeps_the_live_picture_on_screen(server, browser, tmp_path, size, query):  # noqa: F811
    with opened_page(browser, tmp_path, *size) as page:
        start_at_one_step_per_second(page, server, "preset=ring8" + query)
        poll(lambda: strip(page).get("phase") in ("d", "g"), 20, "a narrated phase")
        assert_layout(page)
        page.screenshot(path=str(tmp_path / f"overview_{size[0]}{'_present' if query else ''}.png"))
        button(page, "Pause").click()
