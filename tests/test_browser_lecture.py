"""Lecture mode in a real browser: the app runs with a presenter token; the presenter signs in (the
"Presenter sign-in" popover under the control bar) and trains; a viewer (another browser profile) watches the same run update live and has no
working control: every button and live setting is disabled, Setup too, and even a forced click changes
nothing."""
from __future__ import annotations

import pytest

from helpers_browser import (CONNECTED, METRIC_JS, button, page_run_id, poll, serve, step_of)

TOKEN = "lecture-token-42"
CONTROLS = ("Start", "Step", "×10", "×100", "Reset", "Save", "Setup")


@pytest.fixture(scope="module")
def lecture_server(tmp_path_factory):
    yield from serve(tmp_path_factory, {"GAN_PLAYGROUND_PRESENTER_TOKEN": TOKEN})


def state(page):
    return page.evaluate(METRIC_JS, "State")


def test_viewer_has_no_working_controls_while_the_presenter_trains(lecture_server, browser):  # noqa: F811
    presenter_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    viewer_ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        presenter = presenter_ctx.new_page()
        presenter.set_default_timeout(30_000)
        presenter.goto(lecture_server)
        presenter.wait_for_selector(CONNECTED)
        rid = poll(lambda: page_run_id(presenter), 20, "?run= in the URL")
        start = button(presenter, "Start")
        start.wait_for(state="visible")
        assert start.is_disabled()  # lecture mode: nobody controls before signing in

        presenter.get_by_role("button", name="Presenter sign-in").click()
        presenter.get_by_label("Presenter token").fill(TOKEN)
        presenter.get_by_role("button", name="Enter presenter mode").click()
        poll(lambda: "you are the presenter" in presenter.locator("[data-testid='stMain']").inner_text(), 20,
             "the presenter's note")
        poll(lambda: button(presenter, "Start").is_enabled(), 20, "Start to be enabled for the presenter")
        button(presenter, "Start").click()
        poll(lambda: state(presenter) == "running", 20, "the presenter's run to start")

        viewer = viewer_ctx.new_page()
        viewer.set_default_timeout(30_000)
        viewer.goto(lecture_server)  # no ?run=: a student opens the plain address and sees the live run
        viewer.wait_for_selector(CONNECTED)
        poll(lambda: page_run_id(viewer) == rid, 20, "the viewer to attach to the presenter's run")
        first = poll(lambda: step_of(viewer), 30, "the viewer's Step metric")
        poll(lambda: (step_of(viewer) or 0) > first, 30, "the viewer's Step to update live")
        assert state(viewer) == "running"

        main = viewer.locator("[data-testid='stMain']")
        poll(lambda: button(viewer, "Pause").count() == 1, 20, "the Pause button")
        for name in ("Pause",) + CONTROLS[1:]:
            assert button(viewer, name).is_disabled(), f"{name} is enabled for a viewer"
        for label in ("G learning rate", "D learning rate", "Batch size"):
            assert main.get_by_role("spinbutton", name=label).is_disabled(), f"{label} is editable for a viewer"
        assert "presenter controls this run" in main.inner_text()

        button(viewer, "Pause").click(force=True)  # a disabled button: the click does nothing
        s = step_of(viewer)
        poll(lambda: (step_of(viewer) or 0) > s, 30, "training to go on after the viewer's click")
        assert state(presenter) == "running"

        button(presenter, "Pause").click()
        poll(lambda: state(viewer) == "paused", 30, "the viewer to see the presenter's pause")
    finally:
        presenter_ctx.close()
        viewer_ctx.close()
