"""Real-browser test of the Latent lab: `streamlit run app.py` in a subprocess, Debian's Chromium driven by
Playwright (tests/helpers_browser.py).

The Latent lab first shows ring8's generator as a Plotly chart; after loading the digits preset on the
Train page it shows an image, and moving the z[0] slider with the keyboard redraws that image (its media
URL, a hash of the picture, changes). Skipped only when Playwright or /usr/bin/chromium is missing (never
download a browser for this).
"""
from __future__ import annotations

from helpers_browser import (CONNECTED, IMAGE_JS, choose, nav, open_setup, page_run_id as run_id, poll)

# Traces of a laid-out Plotly chart in the main area holding a trace with the given name.
PLOTLY_JS = """(name) => {
  const main = document.querySelector("[data-testid='stMain']") || document;
  for (const gd of main.querySelectorAll(".js-plotly-plot")) {
    const r = gd.getBoundingClientRect();
    const data = gd._fullData || gd.data || [];
    if (r.width > 0 && r.height > 0 && data.some(t => t.name === name)) {
      return {traces: data.map(t => t.name), points: gd.querySelectorAll(".scatterlayer .point").length};
    }
  }
  return null;
}"""


def test_latent_lab_slider_redraws_the_generated_image(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(30_000)
    main = page.locator("[data-testid='stMain']")

    def open_page(link: str, heading: str | None):
        nav(page, link)
        if heading:
            page.get_by_role("heading", name=heading, exact=True).wait_for()

    try:
        page.goto(server + "/?preset=ring8")
        page.wait_for_selector(CONNECTED)
        rid = poll(lambda: run_id(page), 20, "?run= in the URL")

        # ring8 (the default run) is toy data: the Latent lab draws G(z) in a Plotly chart, no image
        open_page("Latent lab", "Latent lab")
        chart = poll(lambda: page.evaluate(PLOTLY_JS, "G(z), random z"), 30, "the latent lab's toy chart")
        assert "G(z)" in chart["traces"]
        assert page.evaluate(IMAGE_JS, "G(z)") is None

        # a new run from the digits preset on the Train page
        open_page("Train", None)
        dialog = open_setup(page)
        choose(page, dialog, "Preset", "digits")
        dialog.get_by_role("button", name="Start new run").click()
        poll(lambda: "· digits" in main.inner_text(), 30, "the digits run on the Train page")
        assert run_id(page) not in (None, rid)  # a new run: the ring8 one is kept

        # the Latent lab now draws an image; moving z[0] must redraw it
        open_page("Latent lab", "Latent lab")
        first = poll(lambda: page.evaluate(IMAGE_JS, "G(z), seed 0"), 30, "the generated image")
        # the thumb of the slider labelled z[0]: an <input type=range> in streamlit 1.67 (role=slider before)
        slider = (page.locator("[data-testid='stMain'] [data-testid='stSlider']")
                  .filter(has=page.locator("[data-testid='stWidgetLabel']", has_text="z[0]"))
                  .locator("input[type='range'], [role='slider']"))
        slider.wait_for()  # strict: exactly one such thumb
        before = slider.input_value()
        slider.focus()
        for _ in range(6):
            page.keyboard.press("ArrowRight")  # + 6 x 0.05
        poll(lambda: slider.input_value() != before, 10, f"the z[0] slider to move from {before}")
        changed = poll(lambda: (lambda src: src if src and src != first else None)(
            page.evaluate(IMAGE_JS, "G(z), seed 0")), 30, "the image to change after moving z[0]")
        assert changed != first
        assert float(slider.input_value()) > float(before)
        page.screenshot(path=str(tmp_path / "latent.png"))  # for debugging only
    finally:
        try:
            page.screenshot(path=str(tmp_path / "last.png"))
        finally:
            page.close()
