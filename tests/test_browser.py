"""Real-browser tests of the Train page (helpers_browser: `streamlit run app.py` + Debian's Chromium).

Start training, watch the Step metric and the loss chart update live, reload the page (a new session)
and check it reattaches to the same run, which kept training; stop it and open the Guide page. Eight
sessions at once; loading a config.json in the setup panel; a run surviving an app restart. Skipped only when Playwright or
/usr/bin/chromium is missing (CI installs both; never download a browser for this).
"""
from __future__ import annotations

from urllib.parse import urlparse

from helpers_browser import (CONNECTED, METRIC_JS, button, browser, page_run_id, poll, run_id,  # noqa: F401
                             serve, server, step_of)

# The drawn loss chart: a laid-out Plotly graph in the main area with a "D loss" trace. Returns how many
# SVG traces it drew, how many points the D loss line has and the last step it reaches.
CHART_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']") || document;
  for (const gd of main.querySelectorAll(".js-plotly-plot")) {
    const box = gd.getBoundingClientRect();
    // _fullData holds decoded arrays (the spec sends numpy data as base64 typed arrays)
    const d = (gd._fullData || gd.data || []).find(t => t.name === "D loss");
    if (!d || box.width === 0 || box.height === 0) continue;
    const xs = Array.from(d.x || []).filter(v => v !== null && !Number.isNaN(v));
    const paths = Array.from(gd.querySelectorAll(".scatterlayer .trace path.js-line"))
      .filter(p => (p.getAttribute("d") || "").length > 1);
    return {traces: gd.querySelectorAll(".scatterlayer .trace").length, lines: paths.length,
            points: xs.length, last: xs.length ? Math.max(...xs) : null};
  }
  return null;
}"""


def test_training_updates_live_and_survives_a_reload(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)

    def state():
        return page.evaluate(METRIC_JS, "State")

    def step():
        text = page.evaluate(METRIC_JS, "Step")  # "1,234"
        digits = "".join(ch for ch in text or "" if ch.isdigit())
        return int(digits) if digits else None

    def step_above(n: int):
        s = step()
        return s if s is not None and s > n else None

    def chart_past(n: float):
        """The loss chart's state once it is drawn (SVG traces with lines) and plots a step beyond ``n``."""
        c = page.evaluate(CHART_JS)
        return c if c and c["traces"] and c["lines"] and c["last"] is not None and c["last"] > n else None

    try:
        page.goto(server)
        page.wait_for_selector(CONNECTED)
        # By accessible name: the button's text also holds its icon's ligature ("play_arrowStart"), and
        # Reset's "restart_alt" contains "start"; the icon is aria-hidden, so the name is just "Start".
        start = button(page, "Start")
        start.wait_for(state="visible")
        assert poll(lambda: step() is not None, 30, "the Step metric") and step() == 0
        assert state() == "ready"
        rid = poll(lambda: run_id(page.url), 10, "?run= in the URL")

        start.click()
        poll(lambda: state() == "running", 20, "State = running")
        first = poll(lambda: chart_past(0), 30, "the loss chart to be drawn")
        s1 = poll(lambda: step_above(0), 20, "Step > 0")
        poll(lambda: step_above(s1), 20, f"Step to grow past {s1}")
        poll(lambda: chart_past(first["last"]), 20, f"the loss chart to extend past step {first['last']}")

        before_reload = step()
        page.reload()
        page.wait_for_selector(CONNECTED)
        poll(lambda: run_id(page.url) == rid, 20, f"run={rid} in the URL after the reload")
        s2 = poll(lambda: step_above(before_reload), 30, f"Step after the reload to pass {before_reload}")
        poll(lambda: state() == "running", 10, "State = running after the reload")
        poll(lambda: step_above(s2), 20, f"Step to keep growing past {s2} after the reload")
        poll(lambda: chart_past(before_reload), 20, "the loss chart after the reload")
        assert run_id(page.url) == rid

        page.screenshot(path=str(tmp_path / "train.png"))  # for debugging only
        button(page, "Stop").click()
        poll(lambda: state() == "stopped", 20, "State = stopped")
        assert step() >= s2

        # The Guide page keeps the run in the URL and its sidebar shows the run's state.
        page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Guide").click()
        page.get_by_role("heading", name="Guide", exact=True).wait_for()
        poll(lambda: run_id(page.url) == rid and urlparse(page.url).path.endswith("/guide"), 10,
             f"/guide?run={rid} in the URL")
        sidebar = page.locator("[data-testid='stSidebarUserContent']")
        poll(lambda: rid in sidebar.inner_text() and "stopped" in sidebar.inner_text(), 10,
             "the run's id and state in the Guide page's sidebar")
    finally:
        try:  # for debugging only; nothing is asserted on pixels
            page.screenshot(path=str(tmp_path / "last.png"))
        finally:
            page.close()


SIDEBAR_STEP_JS = """() => {
  const side = document.querySelector("[data-testid='stSidebarUserContent']");
  const m = side && side.innerText.match(/Step\\s+([0-9,]+)/);
  return m ? parseInt(m[1].replace(/,/g, "")) : null;
}"""


def test_eight_open_sessions_all_keep_updating(server, browser):
    """Eight sessions at once (two on the Train page with its charts, six on the Guide page, whose sidebar
    shows the live step): every one keeps receiving new steps while the run trains, and all see Pause."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        first = context.new_page()
        first.set_default_timeout(60_000)
        first.goto(server + "/?preset=ring8&max_steps=0")  # a fresh run from settings in the URL
        first.wait_for_selector(CONNECTED)
        rid = poll(lambda: page_run_id(first), 20, "?run= in the URL")
        button(first, "Start").click()
        poll(lambda: first.evaluate(METRIC_JS, "State") == "running", 30, "State = running")
        pages = [first]
        for i in range(7):
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{server}/{'' if i == 0 else 'guide'}?run={rid}")
            pages.append(page)
        for page in pages:
            page.wait_for_selector(CONNECTED)
        seen = [poll(lambda p=p: p.evaluate(SIDEBAR_STEP_JS), 60, "the sidebar's Step in every tab") for p in pages]
        for i, page in enumerate(pages):  # every session, not just the one in front, keeps getting new steps
            poll(lambda p=page, s=seen[i]: (p.evaluate(SIDEBAR_STEP_JS) or 0) > s, 60,
                 f"tab {i} to show a newer step than {seen[i]}")
            assert page_run_id(page) == rid
        assert (step_of(pages[1]) or 0) > seen[1]  # the second Train tab draws the live metrics too
        button(first, "Pause").click()
        poll(lambda: all("paused" in p.locator("[data-testid='stSidebarUserContent']").inner_text() for p in pages),
             60, "every tab to say paused")
    finally:
        context.close()


def test_loading_a_config_json_in_the_setup_panel(server, browser, tmp_path):
    """The user's way in: Setup → Load a config.json → Apply; a bad file shows the field, changes nothing."""
    import json as _json
    from gan_core.presets import preset_config
    good = tmp_path / "grid.json"
    good.write_text(_json.dumps(preset_config("grid25", lr_g=3e-4).to_dict()))
    bad = tmp_path / "bad.json"
    bad.write_text('{"train": {"lr_g": 9}}')
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        page.goto(server + "/?preset=ring8")
        page.wait_for_selector(CONNECTED)
        main = page.locator("[data-testid='stMain']")
        sidebar = page.locator("[data-testid='stSidebarUserContent']")
        poll(lambda: "ring8" in sidebar.inner_text(), 20, "the ring8 run in the sidebar")
        main.get_by_text("Setup: preset, data, model, loss").click()

        def load(path):
            main.locator("[data-testid='stFileUploader']").filter(has_text="config.json").locator(
                "input[type=file]").set_input_files(str(path))
            apply = main.get_by_role("button", name="Apply loaded config")
            apply.wait_for(state="visible")
            apply.click()

        load(bad)
        poll(lambda: "train.lr_g = 9.0 is out of range" in main.inner_text(), 20, "the field-named error")
        assert "ring8" in sidebar.inner_text()
        load(good)
        poll(lambda: "grid25" in sidebar.inner_text(), 20, "the grid25 run from the file")
    finally:
        page.close()


def test_a_run_survives_an_app_restart(tmp_path_factory, browser):  # noqa: F811
    """Train and Save, stop the server process, start a new one: the same URL shows the run, paused at the
    saved step, and Resume trains on from there."""
    env = {"GAN_PLAYGROUND_RUNS": str(tmp_path_factory.mktemp("runs"))}
    first = serve(tmp_path_factory, env)
    url = next(first)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        page.goto(url + "/?preset=ring8")
        page.wait_for_selector(CONNECTED)
        rid = poll(lambda: page_run_id(page), 20, "?run= in the URL")
        button(page, "Start").click()
        poll(lambda: (step_of(page) or 0) > 200, 30, "training past step 200")
        button(page, "Pause").click()
        poll(lambda: page.evaluate(METRIC_JS, "State") == "paused", 20, "State = paused")
        button(page, "Save").click()
        page.get_by_text("Saved step").wait_for()
        saved = step_of(page)
    finally:
        page.close()
        first.close()  # SIGTERM: the app process is gone

    second = serve(tmp_path_factory, env)
    url = next(second)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{url}/?run={rid}")
        page.wait_for_selector(CONNECTED)
        poll(lambda: step_of(page) == saved, 30, f"the restored run at step {saved}")
        assert page.evaluate(METRIC_JS, "State") == "paused" and page_run_id(page) == rid
        button(page, "Resume").click()
        poll(lambda: (step_of(page) or 0) > saved, 30, "the restored run to train on")
    finally:
        page.close()
        second.close()
