"""Real browser (Debian Chromium via Playwright, tests/helpers_browser.py): InfoGAN's code sliders in the
Latent lab. A digits_infogan run trains 100 steps from the Train page's ×100 button; its family chart is on
the Train page; in the Latent lab's Codes tab the paper's grid is drawn, and moving the continuous-code
slider c1 with the keyboard redraws the single sample (its media URL, a hash of the picture, changes)."""
from __future__ import annotations

from helpers_browser import CONNECTED, IMAGE_JS, button, nav, opened_page, poll, step_of


def test_infogan_code_slider_redraws_the_sample(server, browser, tmp_path):
    with opened_page(browser, tmp_path) as page:
        main = page.locator("[data-testid='stMain']")
        page.goto(server + "/?preset=digits_infogan")
        page.wait_for_selector(CONNECTED)
        button(page, "×100").click()
        poll(lambda: (step_of(page) or 0) >= 100, 60, "100 InfoGAN steps")
        poll(lambda: "Mutual information lower bound" in main.inner_text(), 30, "the InfoGAN chart")
        page.screenshot(path=str(tmp_path / "train.png"), full_page=True)

        nav(page, "Latent lab")
        page.get_by_role("heading", name="Latent lab", exact=True).wait_for()
        page.get_by_role("tab", name="Codes").click()
        poll(lambda: page.evaluate(IMAGE_JS, "Rows: categorical code"), 30, "the code grid")
        first = poll(lambda: page.evaluate(IMAGE_JS, "G(noise, codes)"), 30, "the single sample")
        # the thumb labelled exactly "Continuous code c1" (the Sliders tab has "z[16] = continuous code c1")
        slider = page.locator("[data-testid='stMain'] input[type='range'][aria-label='Continuous code c1']")
        slider.wait_for()
        before = slider.input_value()
        slider.focus()
        for _ in range(8):
            page.keyboard.press("ArrowRight")  # + 8 x 0.1
        poll(lambda: slider.input_value() != before, 10, "the c1 slider to move")
        changed = poll(lambda: (lambda src: src if src and src != first else None)(
            page.evaluate(IMAGE_JS, "G(noise, codes)")), 30, "the sample to change after moving c1")
        assert changed != first and float(slider.input_value()) > float(before)
        page.screenshot(path=str(tmp_path / "codes.png"))
