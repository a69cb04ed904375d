"""Real browser (Debian Chromium via Playwright, tests/helpers_browser.py): CycleGAN's translate panel. A
cycle_ink run (white ink on black -> dark ink on white) trains 200 steps from the Train page, whose
picture is the A / A -> B / A -> B -> A strip; in the Latent lab a student uploads a PNG of their own digit
and sees it, its translation and the way back. The pictures are read back from the page and checked: the
upload is the dark-background image that was sent, its translation has a light background (inverted)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from helpers_browser import METRIC_JS, button, nav, open_and_start, opened_page, poll, step_of

EXACT_IMAGE_JS = """(caption) => {
  const main = document.querySelector("[data-testid='stMain']") || document;
  for (const box of main.querySelectorAll("[data-testid='stImageContainer']")) {
    const img = box.querySelector("img");
    const r = box.getBoundingClientRect();
    if (img && r.width > 0 && r.height > 0 && box.innerText.trim() === caption && img.complete
        && img.naturalWidth > 0) return img.getAttribute("src");
  }
  return null;
}"""


def pixels(page, server: str, src: str) -> np.ndarray:
    body = page.request.get(src if src.startswith("http") else server.rstrip("/") + "/" + src.lstrip("/")).body()
    return np.asarray(Image.open(io.BytesIO(body)).convert("L"), dtype=np.float32) / 255.0


def a_seven(path) -> None:
    img = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(img).line([(14, 12), (50, 12), (28, 54)], fill=255, width=8)
    img.save(path)


def test_cyclegan_translates_an_uploaded_image(server, browser, tmp_path):
    upload = tmp_path / "seven.png"
    a_seven(upload)
    with opened_page(browser, tmp_path) as page:
        main = page.locator("[data-testid='stMain']")
        open_and_start(page, server, "cycle_ink")
        poll(lambda: (step_of(page) or 0) >= 200, 90, "200 CycleGAN steps")  # mostly inverted by step 150 (measured)
        button(page, "Pause").click()
        poll(lambda: page.evaluate(METRIC_JS, "State") == "paused", 30, "the pause")
        assert "Rows in threes" in main.inner_text() and "Cycle consistency" in main.inner_text()
        page.screenshot(path=str(tmp_path / "train.png"))

        nav(page, "Latent lab")
        page.get_by_role("heading", name="Latent lab", exact=True).wait_for()
        bank = poll(lambda: page.evaluate(EXACT_IMAGE_JS, "A"), 30, "domain A's image")
        page.get_by_text("Upload", exact=True).click()
        page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(upload))
        shown = poll(lambda: (lambda s: s if s and s != bank else None)(page.evaluate(EXACT_IMAGE_JS, "A")), 30,
                     "the uploaded image as A")
        out = poll(lambda: page.evaluate(EXACT_IMAGE_JS, "A → B"), 30, "its translation")
        assert poll(lambda: page.evaluate(EXACT_IMAGE_JS, "A → B → A"), 30, "the way back")
        a, b = pixels(page, server, shown), pixels(page, server, out)
        assert a.mean() < 0.35 and a.max() > 0.9  # the white seven on black that was uploaded (8x8, enlarged)
        assert b.mean() > 0.6  # translated into domain B: dark ink on a light background
        assert "Round-trip error" in main.inner_text()
        page.screenshot(path=str(tmp_path / "translate.png"))
