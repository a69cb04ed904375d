"""The Turing test's core (gan_core/turing.py): a round's images, HYPE-infinity scoring and its interval, and
the class round's votes (once per session, bound to the open image, kept on disk across a restart)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from gan_core import Run
from gan_core.presets import preset_config
from gan_core.turing import ClassRound, Item, check_size, draw_items, score, to_uint8, voter_key, wilson


@pytest.fixture(scope="module")
def digits_run():
    run = Run(preset_config("digits", seed=0))
    run.run_steps(3)
    yield run
    run.stop()


def test_a_round_is_half_real_half_generated_all_different_and_shuffled(digits_run):
    view, data = digits_run.generator_view(), digits_run.trainer.data
    items = draw_items(view, data, 20, seed=7)
    assert [it.truth for it in items].count("real") == 10 and [it.truth for it in items].count("fake") == 10
    assert len({it.image.tobytes() for it in items}) == 20  # no image shown twice
    assert len({it.id for it in items}) == 20 and all(len(it.id) == 16 for it in items)
    real_set = {im.tobytes() for im in to_uint8(data.images)}
    for it in items:  # real ones are training images; generated ones are not
        assert (it.image.tobytes() in real_set) == (it.truth == "real")
        assert it.image.dtype == np.uint8 and it.image.shape == (8, 8)
    truths = [it.truth for it in items]
    assert truths != sorted(truths) and truths != sorted(truths, reverse=True)
    again = draw_items(view, data, 20, seed=7)  # seeded: the same images in the same order
    assert [a.image.tobytes() for a in again] == [a.image.tobytes() for a in items]


def test_a_collapsed_generator_cannot_fill_a_round(digits_run):
    view = digits_run.generator_view()

    class Same(torch.nn.Module):
        def forward(self, z, y=None):
            return torch.zeros(z.shape[0], 1, 8, 8)
    import dataclasses
    collapsed = dataclasses.replace(view, G=Same())
    with pytest.raises(ValueError, match="only 1 different images"):
        draw_items(collapsed, digits_run.trainer.data, 10, seed=0)


@pytest.mark.parametrize("n", [0, 3, 5, 102, 2.0, True])
def test_round_size_is_validated(n):
    with pytest.raises(ValueError, match=r"images per round .* even number in \[4, 100\]"):
        check_size(n)


def test_points_have_no_turing_test():
    run = Run(preset_config("ring8", seed=0))
    try:
        with pytest.raises(ValueError, match="needs image data"):
            draw_items(run.generator_view(), run.trainer.data, 10, 0)
    finally:
        run.stop()


def test_wilson_matches_the_formula_and_known_values():
    lo, hi = wilson(5, 10)  # symmetric about 0.5
    assert lo == pytest.approx(1 - hi) and lo == pytest.approx(0.2366, abs=1e-4)
    lo, hi = wilson(0, 20)
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_score_counts_both_kinds_of_error():
    truths = ["real", "fake", "fake", "real", "fake", "real"]
    answers = ["real", "real", "fake", "fake", "real", "real"]
    s = score(truths, answers)
    assert (s["n"], s["fooled"], s["missed"], s["errors"], s["correct"]) == (6, 2, 1, 3, 3)
    assert s["error_rate"] == pytest.approx(0.5) and s["fake_error"] == pytest.approx(2 / 3)
    assert s["real_error"] == pytest.approx(1 / 3) and s["ci"] == wilson(3, 6)
    partial = score(truths, answers[:2])  # an unfinished round counts what was answered
    assert partial["n"] == 2 and partial["errors"] == 1
    assert math.isnan(score(truths, [])["error_rate"])


def _items(truths):
    return [Item(f"{i:016x}", t, np.full((8, 8), 16 * i, np.uint8)) for i, t in enumerate(truths)]


def test_class_round_counts_one_vote_per_session_on_the_open_image(tmp_path):
    r = ClassRound.create(tmp_path / "run", _items(["fake", "real", "fake"]), step=42, run_id="r1")
    first = r.current().id
    assert r.vote(first, "s1", "real") == "counted"
    assert r.vote(first, "s1", "fake") == "already"  # a second vote of a session counts nothing
    assert r.vote(first, "s2", "fake") == "counted"
    assert r.vote(first, "s3", "maybe") == "bad"
    assert r.vote(r.items[1].id, "s3", "real") == "closed"  # not the open image
    t = r.tally(0)
    assert (t["real"], t["fake"], t["n"], t["wrong"]) == (1, 1, 2, 1) and t["fool_rate"] == 0.5
    r.reveal()
    assert r.vote(first, "s3", "real") == "closed"  # revealed: voting on it is over
    r.next()
    assert r.index == 1 and not r.revealed
    assert r.vote(r.current().id, "s1", "real") == "counted"
    r.next()
    r.next()  # the last image: the round finishes
    assert r.finished and r.revealed
    assert r.vote(r.current().id, "s1", "real") == "closed"
    assert r.vote_of(first, "s1") == "real" and r.vote_of(first, "nobody") is None
    stored = json.loads((r.folder / "votes.json").read_text())
    assert "s1" not in json.dumps(stored) and voter_key(r.id, "s1") in stored[first]  # sessions are hashed


def test_class_totals_and_their_interval(tmp_path):
    r = ClassRound.create(tmp_path / "run", _items(["fake", "real"]), step=1, run_id="r1")
    for s, a in [("a", "real"), ("b", "real"), ("c", "fake"), ("d", "fake")]:
        r.vote(r.items[0].id, s, a)  # image 0 is generated: a and b were fooled
    assert r.totals()["images"] == 0  # nothing revealed yet: nothing counted on the projector
    r.reveal()
    tot = r.totals()
    assert (tot["images"], tot["voters"], tot["votes"], tot["wrong"]) == (1, 4, 4, 2)
    assert tot["error_rate"] == 0.5 and tot["fake_error"] == 0.5
    lo, hi = tot["ci"]
    assert 0.0 <= lo < 0.5 < hi <= 1.0
    r.next()
    for s in "abcd":
        r.vote(r.items[1].id, s, "real")  # a real one, all right
    r.next()
    tot = r.totals()
    assert (tot["images"], tot["votes"], tot["wrong"]) == (2, 8, 2) and tot["error_rate"] == 0.25


def test_a_class_round_survives_a_restart(tmp_path):
    run_dir = tmp_path / "run"
    items = _items(["real", "fake", "fake", "real"])
    r = ClassRound.create(run_dir, items, step=7, run_id="r1")
    r.vote(items[0].id, "s1", "fake")
    r.reveal()
    r.next()
    r.vote(items[1].id, "s2", "real")
    back = ClassRound.newest(run_dir)  # what the app finds in the run's folder after a restart
    assert back is not None and back.id == r.id and back.index == 1 and not back.revealed
    assert [it.truth for it in back.items] == [it.truth for it in items]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(back.items, items))
    assert back.tally(0)["wrong"] == 1 and back.tally(1)["real"] == 1
    assert back.vote(items[1].id, "s2", "fake") == "already"  # still once per session after the restart
    assert ClassRound.newest(tmp_path / "no-such-run") is None


def test_a_tampered_round_file_is_refused(tmp_path):
    r = ClassRound.create(tmp_path / "run", _items(["real", "fake", "real", "fake"]), step=1, run_id="r1")
    meta = json.loads((r.folder / "round.json").read_text())
    meta["items"][0]["id"] = "../../etc/passwd"
    (r.folder / "round.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="not a Turing round"):
        ClassRound.load(r.folder)
    assert ClassRound.newest(tmp_path / "run") is None  # skipped, not a crash
