"""The Turing test page in AppTest, played as users do: one player's whole round and its score; the page a
player sees before answering is the same whether the image is real or generated; and a lecture-mode class
round with a presenter and two viewers (votes counted once per session, the presenter's controls refused to
viewers even when forced, the round found again after a restart)."""
from __future__ import annotations

import re

import pytest

from helpers_ui import attached, clean_registry, new_session, rendered  # noqa: F401

TOKEN = "turing-token"


@pytest.fixture(autouse=True)
def no_lecture(monkeypatch, clean_registry):  # noqa: F811
    from ui.turing_class import forget_rounds
    monkeypatch.delenv("GAN_PLAYGROUND_PRESENTER_TOKEN", raising=False)
    monkeypatch.setattr("ui.lecture.WRONG_TOKEN_DELAY_S", 0.0)
    forget_rounds()
    yield
    forget_rounds()


def turing_page(run_id=None, preset=None):
    at = new_session(run_id)
    if preset:
        at.query_params["preset"] = preset
    rendered(at)
    at.switch_page("pages/turing.py")
    return rendered(at)


def press(at, key):
    at.button(key=key).click()
    return rendered(at)


def vote_keys(at, prefix):
    return [b.key for b in at.button if b.key and b.key.startswith(prefix)]


def answer(at, prefix: str, said: str):
    key = next(k for k in vote_keys(at, prefix) if k.startswith(f"{prefix}_{said}_"))
    return press(at, key)


def what_a_player_is_sent(at) -> list:
    """Every element's visible text and widget labels/keys/help, with the opaque item ids and the image
    index blanked: what must not depend on the answer."""
    out = []
    for el in at.main:  # the whole page tree (images carry no text)
        for node in _walk(el):
            for attr in ("value", "label", "body", "help", "key"):
                v = getattr(node, attr, None)
                if isinstance(v, str) and v:
                    out.append(re.sub(r"[0-9a-f]{16}", "<id>", re.sub(r"Image \d+", "Image #", v)))
    return out


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values() if isinstance(getattr(node, "children", None), dict) else []:
        yield from _walk(child)


def test_one_player_plays_a_round_and_gets_the_hype_score():
    at = turing_page(preset="digits")
    assert at.title[0].value == "Turing test"
    press(at, "turing_solo_start")  # 10 images
    game = at.session_state["turing_solo"]
    truths = [it.truth for it in game["items"]]
    assert truths.count("real") == 5 and truths.count("fake") == 5
    seen = []
    for i in range(10):
        assert f"Image {i + 1} of 10" in at.get("progress")[0].proto.text
        seen.append(game["items"][i].id)
        # this player calls everything real: all 5 generated images fool them, no real one is missed
        answer(at, "solo", "real")
    assert len(set(seen)) == 10
    assert at.subheader[0].value == "Your error rate (HYPE∞): 50%"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Generated images you took for real"] == "5 of 5"
    assert metrics["Real images you called fake"] == "0 of 5"
    assert metrics["Error rate, 95% interval"] == "24% – 76%"  # Wilson for 5 of 10
    assert any("Generated images that fooled you" in c.value for c in at.caption)
    assert any("Chance (50%) is inside the interval" in c.value for c in at.caption)
    press(at, "turing_solo_again")
    assert "turing_solo" not in at.session_state and at.button(key="turing_solo_start")


def test_a_perfect_player_scores_zero_and_the_feedback_follows():
    at = turing_page(preset="digits")
    press(at, "turing_solo_start")
    items = at.session_state["turing_solo"]["items"]
    for i, it in enumerate(items):
        answer(at, "solo", it.truth)
        if i + 1 < len(items):
            kind = "real" if it.truth == "real" else "generated"
            assert any(f"The last image was {kind}: right." == c.value for c in at.caption)
    assert at.subheader[0].value == "Your error rate (HYPE∞): 0%"
    assert any("Better than chance" in c.value for c in at.caption)


def test_before_answering_a_player_sees_the_same_page_for_real_and_generated_images():
    at = turing_page(preset="digits")
    press(at, "turing_solo_start")
    items = at.session_state["turing_solo"]["items"]
    pages = {}
    for it in items:  # answer each one "real" until a page of each kind was seen
        pages.setdefault(it.truth, what_a_player_is_sent(at))
        if len(pages) == 2:
            break
        answer(at, "solo", "real")
    # the first real and first fake pages differ only by the last line of feedback, if any: compare w/o it
    strip = [lambda p: [t for t in p if not t.startswith(("The last image", "So far"))]][0]
    assert strip(pages["real"]) == strip(pages["fake"])
    sent = strip(pages["real"])
    assert "Real" in sent and "Fake" in sent and "solo_real_<id>" in sent  # the walk reaches the buttons
    assert not [t for t in sent if t.startswith("It was")]


def test_points_get_a_message_not_a_round():
    at = turing_page(preset="ring8")
    assert any("trains on points" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "turing_solo_start"]


# ---------------------------------------------------------------- the class round (lecture mode)

def sign_in(at):
    at.text_input(key="presenter_entry").input(TOKEN)
    at.button[[b.label for b in at.button].index("Enter presenter mode")].click()
    return rendered(at)


def test_a_class_round_with_a_presenter_and_two_viewers(monkeypatch):
    from ui.turing_class import class_round, forget_rounds
    monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", TOKEN)
    presenter = rendered(new_session())
    sign_in(presenter)
    presenter.query_params["preset"] = "digits"  # a link with settings is only followed for the presenter
    run = attached(rendered(presenter))
    assert run.trainer.is_image
    presenter.switch_page("pages/turing.py")
    rendered(presenter)
    v1, v2 = turing_page(run.id), turing_page(run.id)
    assert any("No class round yet" in i.value for i in v1.info)
    assert not vote_keys(v1, "turing_class_start") and not [b for b in v1.button if b.key == "turing_reveal"]

    presenter.selectbox(key="turing_class_n").set_value(6)
    press(presenter, "turing_class_start")
    r = class_round(run)
    assert r is not None and len(r.items) == 6 and (r.folder.parent.parent == run.autosave_dir)
    first = r.current()
    for v in (v1, v2):
        rendered(v)
        assert any("Image 1 of 6" in m.value for m in v.markdown)
    answer(v1, "class", "real")
    answer(v2, "class", "fake")
    assert any("You said **real**" in m.value for m in v1.markdown)
    assert not vote_keys(v1, "class_")  # no buttons once voted

    t = r.tally(0)
    assert (t["real"], t["fake"], t["n"]) == (1, 1, 2)
    rendered(presenter)
    assert [m.value for m in presenter.metric if m.label == "Votes"] == ["2"]
    assert not any("said real" in m.value for m in presenter.markdown)  # no tally before the reveal
    press(presenter, "turing_reveal")
    assert r.revealed
    line = next(m.value for m in presenter.markdown if m.value.startswith("It was"))
    assert "1 said real, 1 said fake" in line and "50% of the class was fooled" in line
    rendered(v2)
    truth = "real" if first.truth == "real" else "generated"
    assert any(m.value.startswith(f"It was **{truth}**: you said fake") for m in v2.markdown)
    press(presenter, "turing_next")
    assert r.index == 1 and not r.revealed

    forget_rounds()  # what a restart leaves: the round in the run's folder only
    back = class_round(run)
    assert back is not r and back.id == r.id and back.index == 1 and back.tally(0)["n"] == 2
    press(presenter, "turing_finish")
    assert class_round(run).finished
    rendered(v1)
    assert any("The class round is over" in m.value for m in v1.markdown)
    rendered(presenter)
    assert any("Last class round: 2 images" in s.value for s in presenter.subheader)
    # every image shown, with the class's fool rate under it
    (captions,) = [list(im.captions) for im in presenter.get("image") if len(im.captions) == 2]
    truth0 = "real" if r.items[0].truth == "real" else "generated"
    assert captions == [f"1 · {truth0} · 50% fooled (1/2)", captions[1]] and captions[1].endswith("no votes")


def test_a_viewer_is_sent_the_same_page_for_a_real_and_a_generated_image(monkeypatch):
    import numpy as np
    from gan_core.turing import ClassRound, Item
    from ui import turing_class
    monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", TOKEN)
    presenter = rendered(new_session())
    sign_in(presenter)
    presenter.query_params["preset"] = "digits"
    run = attached(rendered(presenter))
    items = [Item(f"{i:016x}", t, np.full((8, 8), 40 * i, np.uint8)) for i, t in enumerate(["real", "fake"])]
    r = ClassRound.create(run.autosave_dir, items, step=0, run_id=run.id)
    with turing_class._LOCK:
        turing_class._ROUNDS[run.id] = r
    viewer = turing_page(run.id)
    real_page = what_a_player_is_sent(viewer)
    r.reveal()
    r.next()  # the presenter moves on to the generated one; the viewer's page follows
    rendered(viewer)
    fake_page = what_a_player_is_sent(viewer)
    assert real_page == fake_page
    assert "class_real_<id>" in real_page and not [t for t in real_page if t.startswith("It was")]


def test_a_round_from_a_saved_checkpoint():
    from gan_core import Run
    from gan_core.presets import preset_config
    from ui.runs import runs_dir
    saved = Run(preset_config("digits", seed=3), run_id="turingckpt")
    for _ in range(3):
        saved.step_once()
    saved.save(runs_dir() / saved.id)
    saved.stop()
    at = turing_page(preset="digits")
    at.radio(key="turing_source").set_value("Checkpoint")
    rendered(at)
    at.selectbox(key="ckpt_pick").set_value(str(runs_dir() / saved.id))
    rendered(at)
    press(at, "turing_solo_start")
    game = at.session_state["turing_solo"]
    assert game["label"] == "checkpoint turingckpt" and game["step"] == saved.step == 3
    assert "checkpoint turingckpt at step 3" in at.get("progress")[0].proto.text
