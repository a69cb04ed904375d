"""The bugs a new user met on the Train page, done again the user's way in Debian's Chromium at 1280x720:
a Reset must not overwrite a saved run; a preset must keep the data folder typed in the setup; starting a
run pauses the others (and the Runs page says so); the small ones (the learning rate the schedule really
uses, the background's meaning for a critic, the quality metrics' real sample count, psi = 0).
(Bug 1, widgets after a page switch, and bug 3, Enter in a setup field: tests/test_browser_layout.py.)"""
from __future__ import annotations

import re

import numpy as np

from helpers_browser import (CONNECTED, METRIC_JS, button, choose, nav, open_setup, page_run_id, poll,
                             step_of)


def new_page(browser):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(30_000)
    return page


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def test_reset_starts_a_new_run_and_keeps_the_saved_one(server, browser):  # noqa: F811
    from gan_core.checkpoint import read_meta
    from ui.runs import runs_dir  # the server shares this process's GAN_PLAYGROUND_RUNS (tests/conftest.py)
    page = new_page(browser)
    try:
        page.goto(f"{server}/?preset=ring8")
        page.wait_for_selector(CONNECTED)
        old = poll(lambda: page_run_id(page), 20, "?run=")
        button(page, "×100").click()
        poll(lambda: page.evaluate(METRIC_JS, "State") == "paused" and step_of(page) == 100, 30, "100 steps")
        button(page, "Save").click()
        poll(lambda: (runs_dir() / old / "checkpoint.safetensors").exists(), 20, "the checkpoint")
        assert int(read_meta(runs_dir() / old)["step"]) == 100
        button(page, "Step").click()
        poll(lambda: step_of(page) == 101, 20, "step 101")
        button(page, "Reset").click()
        dialog = page.get_by_role("dialog")
        poll(lambda: "1 step since it was last saved" in dialog.inner_text(), 20, "Reset asking first")
        dialog.get_by_role("button", name="Save it and start over").click()
        new = poll(lambda: (lambda r: r if r not in (None, old) else None)(page_run_id(page)), 20, "a new run id")
        poll(lambda: step_of(page) == 0, 20, "the new run at step 0")
        button(page, "Step").click()
        poll(lambda: step_of(page) == 1, 20, "one step on the new run")
        button(page, "Save").click()
        poll(lambda: (runs_dir() / new / "checkpoint.safetensors").exists(), 20, "the new run's checkpoint")
        assert int(read_meta(runs_dir() / old)["step"]) == 101  # the old run: saved by Reset, never overwritten
        assert int(read_meta(runs_dir() / new)["step"]) == 1
        nav(page, "Runs")
        page.get_by_role("heading", name="Runs", exact=True).wait_for()
        poll(lambda: old in main_text(page) and new in main_text(page), 20, "both runs listed")
    finally:
        page.close()


def test_a_preset_keeps_the_data_folder_typed_in_setup(server, browser, tmp_path):  # noqa: F811
    from test_data_images import write_idx
    (tmp_path / "mnist").mkdir()
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte", rng.integers(0, 255, (64, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte", (np.arange(64) % 10).astype(np.uint8))
    page = new_page(browser)
    try:
        page.goto(server)
        page.wait_for_selector(CONNECTED)
        dialog = open_setup(page)
        field = dialog.get_by_role("textbox", name="Data folder (MNIST files)")
        field.fill(str(tmp_path))
        field.press("Tab")
        choose(page, dialog, "Preset", "mnist")  # after typing the folder, as the user did
        poll(lambda: field.input_value() == str(tmp_path), 10, "the typed folder kept")
        dialog.get_by_role("button", name="Start new run").click()
        poll(lambda: "· mnist" in main_text(page) and page.get_by_role("dialog").count() == 0, 60,
             "the mnist run (its DCGAN) built from the typed folder")
        assert "not found" not in main_text(page)
        poll(lambda: "64 fixed noise vectors" in main_text(page), 30,  # the sample grid: image data on the DCGAN
             "the sample grid of the preset's model")
    finally:
        page.close()


def test_starting_a_run_pauses_the_others(server, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        first, second = context.new_page(), context.new_page()
        first.goto(f"{server}/?preset=ring8")
        first.wait_for_selector(CONNECTED)
        a = poll(lambda: page_run_id(first), 20, "run a")
        button(first, "Start").click()
        poll(lambda: first.evaluate(METRIC_JS, "State") == "running", 20, "run a training")
        second.goto(f"{server}/?preset=grid25")  # a link to another run, as a lecturer opens one
        second.wait_for_selector(CONNECTED)
        b = poll(lambda: (lambda r: r if r not in (None, a) else None)(page_run_id(second)), 20, "run b")
        button(second, "Start").click()
        poll(lambda: first.evaluate(METRIC_JS, "State") == "paused", 20, "run a paused by run b's Start")
        nav(second, "Runs")
        row = second.locator("[data-testid='stHorizontalBlock']").filter(has_text=a).first
        poll(lambda: "paused" in row.inner_text(), 20, "run a listed as paused")
        assert b in main_text(second)
        nav(second, "Train")
        # the Runs page's own per-row Pause buttons stay on screen until the Train page has drawn
        poll(lambda: second.evaluate(METRIC_JS, "State") == "running", 20, "the Train page of run b")
        button(second, "Pause").click()
        poll(lambda: second.evaluate(METRIC_JS, "State") == "paused", 20, "run b paused")
    finally:
        context.close()


def test_the_small_ones(server, browser):  # noqa: F811
    page = new_page(browser)
    try:
        page.goto(f"{server}/?preset=ring8")
        page.wait_for_selector(CONNECTED)
        button(page, "×100").click()
        poll(lambda: page.evaluate(METRIC_JS, "State") == "paused", 30, "100 steps")
        # the schedule's multiplier is shown beside the typed learning rate
        poll(lambda: re.search(r"now 1\.9\de-03 \(schedule ×0\.97\)", main_text(page)), 20, "the effective rate")
        box = page.get_by_role("combobox", name="Loss")
        box.click()
        page.keyboard.type("wgan")
        page.keyboard.press("Enter")
        poll(lambda: "the critic's raw score" in main_text(page), 20, "the critic's caption")
        assert "D's belief that a point is real" not in main_text(page)

        page.goto(f"{server}/?preset=digits")  # quality metrics on 1,797 real digits: 898 per set, said so
        page.wait_for_selector(CONNECTED)
        button(page, "×10").click()
        poll(lambda: page.evaluate(METRIC_JS, "State") == "paused", 30, "10 steps")
        nav(page, "Diagnostics")
        choose(page, page.locator("[data-testid='stMain']"), "Samples", "2000")
        poll(lambda: "Uses 898 per set" in main_text(page), 20, "the real sample count at the control")

        nav(page, "Latent lab")  # psi 0 says why the sliders look dead
        psi = page.locator(".st-key-lat_psi").get_by_role("slider")
        psi.focus()
        page.keyboard.press("Home")
        poll(lambda: "ψ = 0 pulls every z onto the mean" in main_text(page), 20, "the psi = 0 warning")
    finally:
        page.close()
