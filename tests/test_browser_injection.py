"""Text from a URL is shown as text: a link whose ``?run=`` or ``?preset=`` holds markdown must not make the
viewer's browser fetch an image, show a link, break out of a code span, or render LaTeX, colours or icons
(Debian's Chromium against `streamlit run app.py`)."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from helpers_browser import (CONNECTED, poll)

PAYLOADS = [
    ("run", "![x](http://127.0.0.1:9/pixel.png)"),
    ("run", "[login](http://evil.example/steal)"),
    ("run", "a`b`**bold**"),
    ("preset", ":red[big] :material/home: $x^2$ www.evil.example http://evil.example/x"),
]

RENDERED_JS = """() => {
  const app = document.body;  // toasts live outside the app container
  return {
    text: app.innerText,
    images: Array.from(app.querySelectorAll("img")).map(i => i.getAttribute("src") || "").filter(s => s.includes("127.0.0.1:9")),
    links: Array.from(app.querySelectorAll("a")).map(a => a.getAttribute("href") || "").filter(h => h.includes("evil")),
    katex: app.querySelectorAll(".katex").length,
    strong: Array.from(app.querySelectorAll("strong")).filter(s => s.innerText === "bold").length,
    red: Array.from(app.querySelectorAll("span")).filter(s => s.innerText === "big" && s.style.color).length,
  };
}"""


@pytest.mark.parametrize("param, payload", PAYLOADS)
def test_markdown_in_a_link_is_shown_as_text(server, browser, param, payload):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{server}/?{param}={quote(payload, safe='')}")
        page.wait_for_selector(CONNECTED)
        visible = payload.split(" ")[0].replace("`", "")[:12]
        seen = poll(lambda: (lambda r: r if visible in r["text"].replace("`", "").replace("\u200b", "") else None)(
            page.evaluate(RENDERED_JS)), 20, f"the payload shown as text ({visible!r})")
        assert seen["images"] == [] and seen["links"] == [], seen
        assert seen["katex"] == 0 and seen["strong"] == 0 and seen["red"] == 0, seen
    finally:
        page.close()
