"""The class Turing round in a real browser (lecture mode): the presenter signs in, builds a digits run from
Setup and starts a round on the Turing test page; two viewers (two browser profiles) vote on the same images.
The presenter sees the votes counted once per viewer (a viewer's refresh does not vote again), the reveal shows
the right split and fool rate, each viewer learns whether they were right, and before voting a viewer's page
(its whole DOM, image sources, numbers and the earlier images' score aside) is the same for a real and for a generated image."""
from __future__ import annotations

import difflib
import json
import re

import pytest

from helpers_browser import CONNECTED, METRIC_JS, button, choose, nav, open_setup, page_run_id, poll, serve

TOKEN = "turing-browser-token"

DOM_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  return main.innerHTML;
}"""


@pytest.fixture(scope="module")
def lecture(tmp_path_factory):
    root = tmp_path_factory.mktemp("turing-browser-runs")
    for url in serve(tmp_path_factory, {"GAN_PLAYGROUND_PRESENTER_TOKEN": TOKEN, "GAN_PLAYGROUND_RUNS": str(root)}):
        yield url, root


def ballot_dom(page) -> str:
    """The viewer's page with what must differ blanked: image sources, the opaque image ids, the image number."""
    html = page.evaluate(DOM_JS)
    html = re.sub(r'src="[^"]*"', 'src=""', html)
    html = re.sub(r"[0-9a-f]{16}", "<id>", html)
    html = re.sub(r":r\w+:", ":r:", html)  # React's element ids
    html = re.sub(r"Your score: \d+ of \d+", "Your score: # of #", html)  # the earlier images' score
    return re.sub(r"(?i)image[ -]\d+[ -]of", "Image # of", html)


def meta_of(root, rid) -> dict:
    (path,) = list((root / rid / "turing").glob("*/round.json"))
    return json.loads(path.read_text())


def text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def press_until(page, name: str, done, what: str, tries: int = 4) -> None:
    """Click a button until ``done()``: the live fragments redraw every second, and a click that lands while
    its button is being replaced is lost (a person clicks again too)."""
    for _ in range(tries):
        b = button(page, name)
        if b.count() == 1:
            try:
                b.click(timeout=5_000)
            except Exception:  # noqa: BLE001  (replaced under the mouse: try again)
                pass
        try:
            poll(done, 6, what)
            return
        except BaseException:  # noqa: BLE001  (pytest's fail is a BaseException)
            continue
    poll(done, 1, what)


def test_a_class_round_with_a_presenter_and_two_viewers(lecture, browser):
    url, root = lecture
    contexts = [browser.new_context(viewport={"width": 1280, "height": 720}) for _ in range(3)]
    try:
        presenter, v1, v2 = (c.new_page() for c in contexts)
        for p in (presenter, v1, v2):
            p.set_default_timeout(30_000)
        presenter.goto(url)
        presenter.wait_for_selector(CONNECTED)
        presenter.get_by_role("button", name="Presenter sign-in").click()
        presenter.get_by_label("Presenter token").fill(TOKEN)
        presenter.get_by_role("button", name="Enter presenter mode").click()
        poll(lambda: button(presenter, "Setup").is_enabled(), 20, "the presenter's controls")
        dialog = open_setup(presenter)
        choose(presenter, dialog, "Preset", "digits")
        dialog.get_by_role("button", name="Start new run").click()
        poll(lambda: "· digits" in text(presenter), 30, "the digits run")
        rid = page_run_id(presenter)
        nav(presenter, "Turing test")
        # under a loaded suite the page (its images drawn from the training run) can take a while to draw
        poll(lambda: button(presenter, "Start the class round").count() == 1, 60, "the Turing page's start button")
        press_until(presenter, "Start the class round", lambda: "Image 1 of 10" in text(presenter), "the round's first image")

        for v in (v1, v2):
            v.goto(f"{url}/turing?run={rid}")
            v.wait_for_selector(CONNECTED)
            poll(lambda: button(v, "Real").count() == 1, 30, "the viewer's ballot")
        doms = {}
        for i in range(10):  # until the ballot was seen for a real and for a generated image
            truth = meta_of(root, rid)["items"][i]["truth"]
            poll(lambda: f"Image {i + 1} of 10" in text(v1) and button(v1, "Real").count() == 1, 30, "the ballot")
            if i:  # from the second image on, the ballot also carries the score so far: compare like with like
                doms.setdefault(truth, ballot_dom(v1))
            if i >= 2:  # both viewers' votes were checked on the first two images: now only reveal and move on
                press_until(presenter, "Reveal", lambda: "It was" in text(presenter), "the reveal")
            else:
                press_until(v1, "Real", lambda: "You said real" in text(v1), "v1's vote to be taken")
                press_until(v2, "Fake", lambda: "You said fake" in text(v2), "v2's vote to be taken")
                if i == 0:  # a refresh is a new session of the same browser: it does not vote again
                    v2.reload()
                    v2.wait_for_selector(CONNECTED)
                    poll(lambda: "Image 1 of 10" in text(v2), 30, "v2 back on the round")
                    assert button(v2, "Fake").count() == 0 and "You said fake" in text(v2)
                poll(lambda: presenter.evaluate(METRIC_JS, "Votes") == "2", 20, "the presenter to count 2 votes")
                assert "said real" not in text(presenter)  # nothing projected before the reveal
                press_until(presenter, "Reveal", lambda: "It was" in text(presenter), "the reveal")
                kind = "real" if truth == "real" else "generated"
                fooled = "50%"  # one viewer said real, one fake: one of the two was wrong, whatever the truth
                poll(lambda: f"It was {kind}: 1 said real, 1 said fake — {fooled} of the class was fooled" in text(presenter),
                     20, "the presenter's tally")
                poll(lambda: f"It was {kind}: you said real — {'right' if truth == 'real' else 'wrong'}" in text(v1), 20,
                     "v1 to learn the answer")
                poll(lambda: f"you said fake — {'right' if truth == 'fake' else 'wrong'}" in text(v2), 20, "v2's answer")
                votes = json.loads((next((root / rid / "turing").glob("*/votes.json"))).read_text())
                assert sorted(votes[meta_of(root, rid)["items"][i]["id"]].values()) == ["fake", "real"]
            if len(doms) == 2:
                break
            press_until(presenter, "Next image", lambda: f"Image {i + 2} of 10" in text(presenter), "the next image")
        assert set(doms) == {"real", "fake"}
        assert doms["real"] == doms["fake"], "a viewer's ballot differs between a real and a generated image:\n" + \
            "\n".join(difflib.unified_diff(doms["real"].split(">"), doms["fake"].split(">"), lineterm="", n=1))

        press_until(presenter, "End the round now", lambda: "Last class round" in text(presenter),
                    "the presenter's results")
        poll(lambda: "The class round is over" in text(v1), 30, "the viewers' end of round")
        shown = meta_of(root, rid)["current"] + 1
        assert f"Class error rate (HYPE∞) over {shown} revealed image(s): 50%" in text(presenter)
        assert "2 sessions voted" in text(presenter)
    finally:
        for c in contexts:
            c.close()
