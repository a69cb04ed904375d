"""A lecture in a real browser with the run handed to a process of its own (ui/handoff.py): the presenter signs
in, trains ring8 a little, presses ⋮ → "Train in its own process" and lands on the Watch page, where the step
climbs; a viewer who opens the app's address is sent there too, sees the same run and cannot pause it; the
presenter's Pause holds the trainer for both (the step stays), Resume goes on, Stop ends it with a checkpoint.
Screenshots of both at 1280x720 are kept in the test's tmp folder."""
from __future__ import annotations

import pytest

from helpers_server import live_status as _status
from helpers_browser import CONNECTED, button, main_text as text, page_run_id, poll, serve, step_of as step

TOKEN = "handoff-browser-token"


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    root = tmp_path_factory.mktemp("handoff-browser-runs")
    for url in serve(tmp_path_factory, {"GAN_PLAYGROUND_PRESENTER_TOKEN": TOKEN, "GAN_PLAYGROUND_RUNS": str(root)}):
        yield url, root


def test_the_class_watches_the_run_in_its_own_process(lecture, browser, tmp_path):
    url, root = lecture
    contexts = [browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(2)]
    try:
        presenter, viewer = (c.new_page() for c in contexts)
        for p in (presenter, viewer):
            p.set_default_timeout(30_000)
        presenter.goto(f"{url}/?preset=ring8")
        presenter.wait_for_selector(CONNECTED)
        presenter.get_by_role("button", name="Presenter sign-in").click()
        presenter.get_by_label("Presenter token").fill(TOKEN)
        presenter.get_by_role("button", name="Enter presenter mode").click()
        # (while the page redraws for the presenter, the viewer's disabled bar and the new one can both be there)
        poll(lambda: button(presenter, "×10").evaluate_all("bs => bs.length === 1 && !bs[0].disabled"), 20,
             "the presenter's controls")  # (one read of the page: a count, then a check, saw a redraw between)
        button(presenter, "×10").click()
        poll(lambda: (step(presenter) or 0) >= 10, 20, "ten steps")
        rid = page_run_id(presenter)
        presenter.locator("[data-testid='stMain'] [data-testid='stPopover'] button").first.click()
        presenter.get_by_role("button", name="Train in its own process", exact=True).click()
        poll(lambda: f"Watching {rid}" in text(presenter), 60, "the presenter's Watch page")
        first = poll(lambda: step(presenter) if "· running ·" in text(presenter) else None, 60, "the trainer")
        assert first >= 10  # it goes on from the handed-over step
        poll(lambda: (step(presenter) or 0) > first + 200, 30, "the step to climb")

        viewer.goto(url)  # the lecture's address, no run named: the class is sent to the watched run
        viewer.wait_for_selector(CONNECTED)
        poll(lambda: f"Watching {rid}" in text(viewer), 30, "the viewer's Watch page")
        poll(lambda: step(viewer), 30, "the viewer's Step")
        assert button(viewer, "Pause").is_disabled() and button(viewer, "Stop").is_disabled()
        assert button(viewer, "Take over").is_disabled()
        # the live settings below the picture: the presenter's change reaches the trainer, the viewer's are disabled
        lr_d = presenter.get_by_role("spinbutton", name="D learning rate")
        lr_d.fill("7.0e-04")
        lr_d.press("Enter")
        poll(lambda: _status(root / rid).get("config", {}).get("train", {}).get("lr_d") == 0.0007, 20,
             "the trainer to take the presenter's D learning rate")
        assert viewer.get_by_role("spinbutton", name="D learning rate").is_disabled()
        viewer.screenshot(path=str(tmp_path / "viewer-1280x720.png"))
        presenter.screenshot(path=str(tmp_path / "presenter-1280x720.png"))

        button(presenter, "Pause").click()
        poll(lambda: button(presenter, "Resume").count() == 1, 20, "the presenter's Resume")
        poll(lambda: "· paused ·" in text(viewer), 20, "the viewer to see the pause")
        held = step(viewer)
        poll(lambda: step(presenter) == held, 10, "both on the paused step")
        presenter.wait_for_timeout(2_000)
        assert step(viewer) == held and step(presenter) == held  # held: not a step further
        button(presenter, "Resume").click()
        poll(lambda: (step(viewer) or 0) > held + 100, 30, "the viewer to see it train again")
        button(presenter, "Stop").click()
        poll(lambda: "· stopped ·" in text(viewer), 30, "the viewer to see it stopped")
        poll(lambda: (root / rid / "checkpoint.safetensors").is_file() and not button(presenter, "Stop").is_enabled(),
             30, "the final checkpoint")
    finally:
        for c in contexts:
            c.close()
