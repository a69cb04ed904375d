"""Real-browser tests of the Train page (helpers_browser: `streamlit run app.py` + Debian's Chromium).

Start training, watch the Step metric and the live charts redraw, reload the page (a new session) and
check it reattaches to the same run, which kept training; pause it and open the Guide page, whose status
line names the run. Eight sessions at once; loading a config.json in the setup dialog; a run surviving
an app restart. Skipped only when Playwright or /usr/bin/chromium is missing (CI installs both; never
download a browser for this).
"""
from __future__ import annotations

from urllib.parse import urlparse

from helpers_browser import (CHARTS_JS, CONNECTED, METRIC_JS, STATUS_JS, button, nav, open_setup,
                             page_run_id, poll, run_id, serve, settled_step, status_step, step_of)

def test_training_updates_live_and_survives_a_reload(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(30_000)

    def state():
        return page.evaluate(METRIC_JS, "State")

    def step_above(n: int):
        s = step_of(page)
        return s if s is not None and s > n else None

    def charts_redrawn(before):
        """Both live charts (picture and training panels) drawn, with pixels different from ``before``."""
        now = page.evaluate(CHARTS_JS)
        return now if len(now) >= 2 and (before is None or all(a != b for a, b in zip(now, before))) else None

    try:
        page.goto(server + "/?preset=ring8")  # a new run from a link (the server is shared by the session)
        page.wait_for_selector(CONNECTED)
        # By accessible name: the button's text also holds its icon's ligature ("play_arrowStart"), and
        # Reset's "restart_alt" contains "start"; the icon is aria-hidden, so the name is just "Start".
        start = button(page, "Start")
        start.wait_for(state="visible")
        assert poll(lambda: step_of(page) is not None, 30, "the Step metric") and step_of(page) == 0
        assert state() == "ready"
        rid = poll(lambda: run_id(page.url), 10, "?run= in the URL")

        start.click()
        poll(lambda: state() == "running", 20, "State = running")
        s1 = poll(lambda: step_above(0), 20, "Step > 0")
        first = poll(lambda: charts_redrawn(None), 30, "the picture and the training chart")
        poll(lambda: step_above(s1), 20, f"Step to grow past {s1}")
        poll(lambda: charts_redrawn(first), 20, "both live charts to redraw with new data")

        before_reload = step_of(page)
        page.reload()
        page.wait_for_selector(CONNECTED)
        poll(lambda: run_id(page.url) == rid, 20, f"run={rid} in the URL after the reload")
        s2 = poll(lambda: step_above(before_reload), 30, f"Step after the reload to pass {before_reload}")
        poll(lambda: state() == "running", 10, "State = running after the reload")
        poll(lambda: step_above(s2), 20, f"Step to keep growing past {s2} after the reload")
        again = poll(lambda: charts_redrawn(None), 20, "the live charts after the reload")
        poll(lambda: charts_redrawn(again), 20, "the live charts to keep redrawing after the reload")
        assert run_id(page.url) == rid

        button(page, "Pause").click()
        poll(lambda: state() == "paused", 20, "State = paused")
        button(page, "Resume").wait_for()
        paused = settled_step(page)  # the step in flight when Pause was pressed shows on the next refresh
        assert paused >= s2

        # The Guide page keeps the run in the URL, and its status line names the run and its state.
        nav(page, "Guide")
        page.get_by_role("heading", name="Guide", exact=True).wait_for()
        poll(lambda: run_id(page.url) == rid and urlparse(page.url).path.endswith("/guide"), 10,
             f"/guide?run={rid} in the URL")
        poll(lambda: rid in (page.evaluate(STATUS_JS) or "") and "paused" in page.evaluate(STATUS_JS), 10,
             "the run's id and state in the Guide page's status line")
        assert status_step(page) == paused
    finally:
        try:  # for debugging only; nothing is asserted on pixels
            page.screenshot(path=str(tmp_path / "last.png"))
        finally:
            page.close()


def test_eight_open_sessions_all_keep_updating(server, browser):
    """Eight sessions at once (two on the Train page with its charts, six on the Guide page, whose status
    line shows the live step): every one keeps receiving new steps while the run trains, and all see Pause."""
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
        def live_step(p):
            return step_of(p) if p in pages[:2] else status_step(p)  # Train tabs: the metric; Guide: status

        seen = [poll(lambda p=p: live_step(p), 60, "the live step in every tab") for p in pages]
        for i, page in enumerate(pages):  # every session, not just the one in front, keeps getting new steps
            poll(lambda p=page, s=seen[i]: (live_step(p) or 0) > s, 60, f"tab {i} to show a newer step than {seen[i]}")
            assert page_run_id(page) == rid
        button(first, "Pause").click()

        def says_paused(p):
            return (p.evaluate(METRIC_JS, "State") if p in pages[:2] else p.evaluate(STATUS_JS) or "").count("paused")

        poll(lambda: all(says_paused(p) for p in pages), 60, "every tab to say paused")
    finally:
        context.close()


def test_loading_a_config_json_in_the_setup_dialog(server, browser, tmp_path):
    """The user's way in: Setup → Import / export → a config.json → Load → Start new run; a bad file shows
    the field and changes nothing."""
    import json as _json
    from gan_core.presets import preset_config
    good = tmp_path / "grid.json"
    good.write_text(_json.dumps(preset_config("grid25", lr_g=3e-4).to_dict()))
    bad = tmp_path / "bad.json"
    bad.write_text('{"train": {"lr_g": 9}}')
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(30_000)
    try:
        page.goto(server + "/?preset=ring8")
        page.wait_for_selector(CONNECTED)
        main = page.locator("[data-testid='stMain']")
        rid = poll(lambda: page_run_id(page), 20, "?run= in the URL")
        poll(lambda: "ring8" in main.inner_text(), 20, "the ring8 run on the page")
        dialog = open_setup(page)
        dialog.get_by_role("tab", name="Import / export").click()

        def load(path):
            uploader = dialog.locator("[data-testid='stFileUploader']").filter(has_text="config.json")
            uploader.locator("input[type=file]").set_input_files(str(path))
            poll(lambda: path.name in uploader.inner_text(), 20, f"{path.name} uploaded")
            apply = dialog.get_by_role("button", name="Load it into the fields")
            apply.wait_for(state="visible")
            apply.click()

        load(bad)
        poll(lambda: "train.lr_g = 9.0 is out of range" in dialog.inner_text(), 20, "the field-named error")
        assert page_run_id(page) == rid
        load(good)
        poll(lambda: "Loaded grid.json" in dialog.inner_text(), 20, "the loaded file's settings")
        dialog.get_by_role("button", name="Start new run").click()
        poll(lambda: page_run_id(page) not in (None, rid), 30, "a new run in the URL")
        poll(lambda: "custom (grid25)" in main.inner_text(), 30, "the new grid25 run's picture")
        assert page.get_by_role("dialog").count() == 0
    finally:
        page.close()


def test_a_run_survives_an_app_restart(tmp_path_factory, browser):  # noqa: F811
    """Train and Save, stop the server process, start a new one: the same URL shows the run, paused at the
    saved step, and Resume trains on from there."""
    env = {"GAN_PLAYGROUND_RUNS": str(tmp_path_factory.mktemp("runs"))}
    first = serve(tmp_path_factory, env)
    url = next(first)
    page = browser.new_page(viewport={"width": 1280, "height": 720})
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
    page = browser.new_page(viewport={"width": 1280, "height": 720})
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
