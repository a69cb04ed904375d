"""Draw your own data (dataset "drawn"): the config field and its validation, the sampler, the bounds of the
data-space picture, checkpoints and the command line, a short seeded training run that learns a drawing,
the drawing panel's draft logic (ui/draw.py), and the Setup path in AppTest (draw -> Start new run -> the
new run trains on the drawing; the draft survives closing the dialog and switching pages; lecture-mode
viewers change nothing even with the dialog forced open).
"""
from __future__ import annotations

import json
import math

import pytest
import torch

from gan_core.config import MAX_POINTS, MIN_POINTS, POINT_BOX, Config, points_text
from gan_core.data.drawn import (SPACING, STARTERS, drawing_fit, drawn_dataset, fit_bounds, near_fraction,
                                 starter_points, starter_strokes)
from helpers_ui import attached, clean_registry, error_texts, new_session, rendered  # noqa: F401

CPU = torch.device("cpu")
THREE = ((-2.0, -1.0), (2.0, -1.0), (0.0, 2.0))


def drawn(points=THREE, **kw) -> Config:
    return Config().replace(dataset="drawn", points=points, **kw)


# ---------------------------------------------------------------- the config field

def test_points_are_canonical_tuples_and_survive_json():
    cfg = drawn([[0, 0], [1.5, -2], [3.25, 4]])  # JSON-style lists of ints and floats
    assert cfg.data.points == ((0.0, 0.0), (1.5, -2.0), (3.25, 4.0))
    assert all(isinstance(v, float) for p in cfg.data.points for v in p)
    again = Config.from_json(json.dumps(cfg.to_dict()))
    assert again == cfg and again.data.points == cfg.data.points


@pytest.mark.parametrize("points, message", [
    (THREE[:2], "data.points holds 2 points; data.dataset = 'drawn' needs at least 3"),
    ((), "data.points holds 0 points"),
    (((0, 0), (1, 1), (4.5, 0)), r"data.points\[2\] = \(4.5, 0\) is out of range: x and y must lie in \[-4.0, 4.0\]"),
    (((0, 0), (1, 1), (0, -4.01)), r"data.points\[2\].*out of range"),
    (((0, 0), (1, 1), (float("nan"), 0)), r"data.points\[2\].*out of range"),
    (((0, 0), (1, 1), (float("inf"), 0)), r"data.points\[2\].*out of range"),
    (((0, 0), (1, 1), (1, 2, 3)), r"data.points\[2\] = \(1, 2, 3\) must be an \[x, y\] pair of numbers"),
    (((0, 0), (1, 1), ("1", 2)), r"data.points\[2\].*pair of numbers"),
    (((0, 0), (1, 1), (True, 2)), r"data.points\[2\].*pair of numbers"),
    ("0,0;1,1;2,2", "data.points must be a list of"),
    (((0.0, 0.0),) * (MAX_POINTS + 1), f"data.points holds {MAX_POINTS + 1} points; at most {MAX_POINTS} allowed"),
])
def test_bad_points_name_the_field_and_the_range(points, message):
    with pytest.raises(ValueError, match=message):
        drawn(points)


def test_the_limits_themselves_are_allowed():
    corners = ((-POINT_BOX, -POINT_BOX), (POINT_BOX, POINT_BOX), (POINT_BOX, -POINT_BOX))
    assert drawn(corners).data.points == corners
    assert len(drawn(((0.5, -0.5),) * MAX_POINTS).data.points) == MAX_POINTS
    assert len(drawn(THREE[:MIN_POINTS]).data.points) == MIN_POINTS
    assert Config().replace(points=THREE[:1]).data.dataset == "ring8"  # other datasets ignore points


def test_a_cyclegan_domain_a_drawing_needs_points_too():
    with pytest.raises(ValueError, match="data.source = 'drawn' needs at least 3"):
        Config().replace(family="cyclegan", source="drawn", dataset="ring8")
    cfg = Config().replace(family="cyclegan", source="drawn", dataset="ring8", points=THREE)
    assert cfg.data.points == THREE


def test_point_std_is_range_checked():
    assert drawn(point_std=0.0).data.point_std == 0.0
    with pytest.raises(ValueError, match=r"data.point_std = 0.6 is out of range \[0.0, 0.5\]"):
        drawn(point_std=0.6)


def test_points_from_the_command_line_text_and_json():
    cfg = Config().with_overrides(["dataset=drawn", "points=0,0; 1.5,-2 ;3,0.25"])
    assert cfg.data.points == ((0.0, 0.0), (1.5, -2.0), (3.0, 0.25))
    assert Config().with_overrides(["dataset=drawn", "data.points=[[0, 0], [1, 1], [2, 0]]"]).data.points == (
        (0.0, 0.0), (1.0, 1.0), (2.0, 0.0))
    for text in ("0,0;1", "abc", "[[0, 0], [1"):
        with pytest.raises(ValueError, match="data.points"):
            Config().with_overrides(["dataset=drawn", f"points={text}"])


def test_points_text_round_trips_exactly():
    gen = torch.Generator().manual_seed(0)
    pts = tuple(map(tuple, (torch.rand(200, 2, generator=gen, dtype=torch.float64) * 8 - 4).tolist()))
    cfg = drawn(pts)
    text = points_text(cfg.data.points)
    assert Config().with_overrides(["dataset=drawn", f"points={text}"]) == cfg
    assert points_text(((1.0, -2.0), (0.125, 3.0))) == "1,-2;0.125,3"


def test_a_link_rebuilds_a_drawn_run():
    from urllib.parse import parse_qsl
    from ui.links import settings_query
    cfg = drawn(starter_points("heart"))
    query = dict(parse_qsl(settings_query(cfg, "drawn")))
    assert query["preset"] == "drawn" and "points" in query
    from gan_core.presets import preset_config
    rebuilt = preset_config(query.pop("preset")).with_overrides([f"{k}={v}" for k, v in query.items()])
    assert rebuilt == cfg
    assert "points" not in dict(parse_qsl(settings_query(preset_config("drawn"), "drawn")))  # the preset's own


# ---------------------------------------------------------------- the sampler and its bounds

def test_samples_are_seeded_and_reproducible():
    ds = drawn_dataset(THREE, 0.05)
    a, labels = ds.sample(512, torch.Generator().manual_seed(3), CPU)
    b, _ = ds.sample(512, torch.Generator().manual_seed(3), CPU)
    c, _ = ds.sample(512, torch.Generator().manual_seed(4), CPU)
    assert a.shape == (512, 2) and a.dtype == torch.float32 and labels is None
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_samples_are_the_drawn_points_with_gaussian_jitter():
    std = 0.05
    x, _ = drawn_dataset(THREE, std).sample(30_000, torch.Generator().manual_seed(0), CPU)
    means = torch.tensor(THREE)
    dist, idx = torch.cdist(x, means).min(1)
    counts = torch.bincount(idx, minlength=3).float() / len(x)
    assert torch.allclose(counts, torch.full((3,), 1 / 3), atol=0.015)  # each point as often as the others
    assert float(dist.max()) < 6 * std  # nothing strays (P(r > 6 std) in 2D is e^-18)
    offsets = x - means[idx]
    assert offsets.mean(0).abs().max() < 0.003
    assert torch.allclose(offsets.std(0), torch.full((2,), std), rtol=0.05)  # the stated std, per axis
    exact, _ = drawn_dataset(THREE, 0.0).sample(100, torch.Generator().manual_seed(0), CPU)
    assert {tuple(p) for p in exact.tolist()} <= set(THREE)  # std 0: exactly the drawn points


def test_bounds_are_square_and_fit_the_drawing():
    pts = torch.tensor([[1.0, 2.0], [3.0, 2.5], [2.0, 3.5]])
    (x0, x1), (y0, y1) = fit_bounds(pts, 0.05)
    assert x1 - x0 == pytest.approx(y1 - y0)  # square: the picture does not distort the drawing
    assert (x0 + x1) / 2 == pytest.approx(2.0) and (y0 + y1) / 2 == pytest.approx(2.75)
    assert x0 < 1.0 - 0.15 and x1 > 3.0 + 0.15 and y0 < 2.0 and y1 > 3.5
    assert x1 - x0 < 2 * 1.5  # fits: not the whole canvas
    (a0, a1), _ = fit_bounds(torch.tensor([[0.5, 0.5], [0.5, 0.5]]), 0.0)
    assert a1 - a0 == pytest.approx(1.5)  # a single spot still gets a readable view


def test_the_data_space_picture_frames_the_drawing():
    from gan_core.trainer import Trainer
    from gan_core.viz import make_visual
    pts = tuple((1.5 + 0.1 * i, 2.0 + 0.05 * i) for i in range(12))  # a small stroke far from the origin
    tr = Trainer(drawn(pts, device="cpu"))
    vis = make_visual(tr)
    (x0, x1), (y0, y1) = vis["bounds"]
    assert vis["kind"] == "2d" and tr.data.modes is None
    assert x0 <= 1.5 and x1 >= 2.6 and y0 <= 2.0 and y1 >= 2.55
    assert x1 - x0 == pytest.approx(y1 - y0)
    assert float(torch.cdist(torch.as_tensor(vis["real"]), torch.tensor(pts)).min(1).values.max()) < 0.3


def test_starter_shapes_are_valid_strokes():
    for name in STARTERS:
        strokes = starter_strokes(name)
        pts = starter_points(name)
        assert len(pts) == sum(map(len, strokes)) >= MIN_POINTS and len(pts) <= MAX_POINTS
        assert drawn(pts).data.points == pts  # inside the box, finite, valid
        for s in strokes:
            gaps = [math.dist(a, b) for a, b in zip(s, s[1:])]
            assert all(g <= 1.5 * SPACING for g in gaps), name  # evenly spaced, like a drag on the canvas
    with pytest.raises(ValueError, match="unknown starter shape 'nope'"):
        starter_strokes("nope")


def test_drawing_fit_tells_a_collapse_from_a_cover():
    pts = starter_points("heart")
    on_all = torch.tensor(pts).repeat(10, 1)
    assert drawing_fit(on_all, pts, 0.05) == (1.0, 1.0)
    one_spot = torch.tensor(pts[:1]).repeat(500, 1)
    on, covered = drawing_fit(one_spot, pts, 0.05)
    assert on == 1.0 and covered < 0.05
    far = torch.zeros(100, 2)  # the origin is inside the heart, not on it
    assert drawing_fit(far, pts, 0.05) == (0.0, 0.0)


# ---------------------------------------------------------------- checkpoints, the CLI, budget

def test_a_checkpoint_keeps_the_drawing(tmp_path):
    from gan_core import Run
    from gan_core.checkpoint import load_checkpoint
    cfg = drawn(starter_points("dots") + ((0.25, 0.125),), point_std=0.02, device="cpu")
    run = Run(cfg)
    run.step_once()
    run.save(tmp_path / "r")
    run.stop()
    assert load_checkpoint(tmp_path / "r").config.data.points == cfg.data.points
    back = Run.from_checkpoint(tmp_path / "r")
    assert back.config == cfg and back.step == 1
    x, _ = back.trainer.data.sample(64, torch.Generator().manual_seed(0), CPU)
    assert near_fraction(x, cfg.data.points, 0.1) == 1.0
    back.stop()
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["config"]["data"]["points"] == [list(p) for p in cfg.data.points]


def test_the_command_line_trains_on_given_points(tmp_path, capsys):
    from gan_core.checkpoint import load_checkpoint
    from gan_core.cli import main
    assert main(["train", "--preset", "drawn", "--steps", "5", "--quiet", "--out", str(tmp_path / "c"),
                 "--set", "points=0,0;1,1;-1,2;2,-2"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["step"] == 5 and "modes_covered" not in out
    assert load_checkpoint(tmp_path / "c").config.data.points == ((0, 0), (1, 1), (-1, 2), (2, -2))
    assert main(["train", "--preset", "drawn", "--steps", "5", "--quiet", "--set", "points=0,0;9,9;1,1"]) != 0
    assert "data.points[1]" in capsys.readouterr().err


def test_budget_knows_the_shape_without_training():
    from gan_core import budget
    from gan_core.presets import preset_config
    cfg = preset_config("drawn")
    assert budget.data_shape_for(cfg) == (2,) and budget.num_classes_for(cfg) == 0


# ---------------------------------------------------------------- it learns the drawing

def test_a_short_cpu_run_puts_most_samples_on_the_drawing(one_thread):
    """Seeded, 1,500 steps of the default 2x64 MLPs on the heart: before training no sample lies on it
    (the origin is inside the heart); after, most do and G reaches nearly all of it (measured: 84-96% on,
    100% covered over seeds 0-2)."""
    from gan_core.trainer import Trainer
    pts = starter_points("heart")
    tr = Trainer(drawn(pts, device="cpu", seed=0))
    on0, cov0 = drawing_fit(tr.sample(2500), pts, 0.05)
    for _ in range(1500):
        tr.step()
    with torch.no_grad():
        on, covered = drawing_fit(tr.sample(2500), pts, 0.05)
    assert on0 < 0.1 and cov0 < 0.1
    assert on > 0.75, f"only {on:.0%} of the samples lie on the drawing"
    assert covered > 0.9, f"G reaches only {covered:.0%} of the drawing"


def test_the_guides_experiment_mass_not_shape(one_thread):
    """pages/guide.py, "Draw your own data": on the ring8 run's settings (seed 0, 3,000 steps), two single dots
    beside a 33-point stroke get no samples; with 16 clicks on each dot (half the data) both get theirs."""
    from gan_core.presets import preset_config
    from gan_core.trainer import Trainer
    line = [(round(-1.6 + 0.1 * i, 3), -1.6) for i in range(33)]
    dots = [(-2.0, 2.0), (2.0, 2.0)]
    shares = {}
    for clicks in (1, 16):
        tr = Trainer(preset_config("ring8").replace(dataset="drawn", points=dots * clicks + line, device="cpu"))
        for _ in range(3000):
            tr.step()
        with torch.no_grad():
            fake = tr.sample(2500)
        shares[clicks] = [near_fraction(fake, [d], 0.15) for d in dots]
        assert near_fraction(fake, dots + line, 0.15) > 0.8  # on the drawing either way
    assert max(shares[1]) < 0.01, shares  # the light dots are left empty
    assert min(shares[16]) > 0.1, shares  # the heavy ones (about a quarter of the data each) are reached


# ---------------------------------------------------------------- the drawing panel's draft (ui/draw.py)

def test_strokes_apply_once_in_order_and_bounded():
    from ui import draw
    d = draw.new_draft()
    payload = {"client": "a", "strokes": [{"seq": 1, "points": [[0, 0]]}, {"seq": 2, "points": [[1, 1], [1.1, 1]]}]}
    assert draw.apply_strokes(d, payload) == 3
    assert draw.apply_strokes(d, payload) == 0  # resent (an unacknowledged trigger): not applied twice
    assert draw.flat(d) == ((0, 0), (1, 1), (1.1, 1)) and len(d["strokes"]) == 2 and d["edited"]
    later = {"client": "a", "strokes": [{"seq": 2, "points": [[3, 3]]}, {"seq": 3, "points": [[9, -9], [0.12345, 2]]}]}
    assert draw.apply_strokes(d, later) == 2
    assert draw.flat(d)[-2:] == ((4.0, -4.0), (0.123, 2.0))  # clipped into the box, rounded
    assert draw.apply_strokes(d, {"client": "b", "strokes": [{"seq": 1, "points": [[2, 2]]}]}) == 1  # another canvas
    for junk in (None, "x", {"client": 1, "strokes": []}, {"client": "a", "strokes": "x"},
                 {"client": "c", "strokes": [{"seq": "1", "points": [[0, 0]]}, {"seq": 1, "points": [["a", 1]]},
                                             {"seq": 2, "points": [[float("nan"), 1], [True, 1]]}, 5]}):
        before = draw.flat(d)
        draw.apply_strokes(d, junk)
        assert draw.flat(d) == before
    full = draw.new_draft()
    big = {"client": "z", "strokes": [{"seq": i + 1, "points": [[0, 0]] * 900} for i in range(3)]}
    assert draw.apply_strokes(full, big) == MAX_POINTS and "most points allowed" in full["note"]
    assert Config().replace(dataset="drawn", points=draw.flat(full)).data.points  # still a valid config


def test_undo_clear_and_starter_shapes():
    from ui import draw
    d = draw.new_draft(THREE)
    assert not d["edited"] and draw.flat(d) == THREE
    draw.use_starter(d, "heart")
    assert draw.flat(d) == starter_points("heart")
    draw.clear(d)
    assert draw.flat(d) == ()
    draw.undo(d)
    assert draw.flat(d) == starter_points("heart")
    draw.undo(d)
    assert draw.flat(d) == THREE
    draw.undo(d)  # nothing left to undo: unchanged
    assert draw.flat(d) == THREE


# ---------------------------------------------------------------- the Setup path (AppTest)

def _canvas_points(at) -> list:
    (canvas,) = [c for c in at.get("bidi_component") if c.proto.id.endswith("-setup_draw_canvas")]
    return [tuple(p) for p in json.loads(canvas.proto.json)["points"]]


def _click(at, key: str):
    next(b for b in at.button if b.key == key).click()
    return rendered(at)


def _texts(at) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])


@pytest.mark.usefixtures("clean_registry")
def test_setup_draws_and_starts_a_new_run_on_the_drawing():
    at = new_session()
    at.query_params["preset"] = "drawn"
    rendered(at)
    old = attached(at)
    assert old.config.data.points == starter_points("smiley")
    _click(at, "btn_setup")
    assert _canvas_points(at) == list(starter_points("smiley"))  # the dialog opens on the run's drawing
    assert "Not trained on yet" not in _texts(at)
    _click(at, "btn_draw_dots")
    assert _canvas_points(at) == list(starter_points("dots")) and "3 points" in _texts(at)
    assert "Not trained on yet" in _texts(at)
    at.number_input(key="setup_point_std").set_value(0.1)
    rendered(at)
    _click(at, "btn_setup_start")
    new = attached(at)
    assert new is not old and not at.error, [e.value for e in at.error]
    assert new.config.data.dataset == "drawn" and new.config.data.points == starter_points("dots")
    assert new.config.data.point_std == 0.1 and new.trainer.data.bounds == fit_bounds(torch.tensor(THREE), 0.1)
    x, _ = new.trainer.data.sample(256, torch.Generator().manual_seed(0), CPU)
    assert near_fraction(x, THREE, 0.6) == 1.0
    assert not [b for b in at.button if b.key == "btn_setup_start"]  # the dialog closed


@pytest.mark.usefixtures("clean_registry")
def test_setup_opens_on_each_runs_own_drawing():
    """Opening Setup shows the attached run's drawing (unless this session holds a drawing not trained on)."""
    from ui.runs import get_registry
    at = new_session()
    at.query_params["preset"] = "drawn"
    rendered(at)
    smiley = attached(at)
    hearts = get_registry().create(drawn(starter_points("heart")), preset="drawn")
    for run, points in ((smiley, "smiley"), (hearts, "heart"), (smiley, "smiley")):
        at.query_params["run"] = run.id
        rendered(at)
        _click(at, "btn_setup")
        assert _canvas_points(at) == list(starter_points(points)), points
        assert "Not trained on yet" not in _texts(at)
        _click(at, "btn_setup_cancel")


@pytest.mark.usefixtures("clean_registry")
def test_a_drawing_survives_closing_the_dialog_and_switching_pages():
    at = rendered(new_session())  # the default ring8 run
    ring = attached(at)
    ring.step_once()  # a run that trained: it is kept when replaced
    _click(at, "btn_setup")
    assert not at.get("bidi_component")  # no canvas for ring8
    at.selectbox(key="setup_dataset").set_value("drawn")
    rendered(at)
    assert _canvas_points(at) == [] and "0 points" in _texts(at)
    _click(at, "btn_draw_heart")
    _click(at, "btn_setup_cancel")
    at.switch_page("pages/diagnostics.py")
    rendered(at)
    at.switch_page("pages/train.py")
    rendered(at)
    _click(at, "btn_setup")  # opens on the run's settings (ring8): choose the drawing's dataset again
    at.selectbox(key="setup_dataset").set_value("drawn")
    rendered(at)
    assert _canvas_points(at) == list(starter_points("heart"))  # not lost
    _click(at, "btn_draw_clear")
    _click(at, "btn_setup_start")  # an empty drawing: refused by name, nothing changes
    assert attached(at) is ring
    assert any("data.points holds 0 points" in e for e in error_texts(at)), error_texts(at)
    _click(at, "btn_draw_undo")
    _click(at, "btn_setup_start")
    new = attached(at)
    assert new is not ring and new.config.data.points == starter_points("heart")
    from ui.runs import get_registry
    assert get_registry().get(ring.id) is ring  # the trained ring8 run is kept, not overwritten


@pytest.mark.usefixtures("clean_registry")
def test_the_diagnostics_and_manifold_pages_take_a_drawing():
    at = new_session()
    at.query_params["preset"] = "drawn"
    rendered(at)
    run = attached(at)
    run.run_steps(20)
    from helpers_ui import wait_until
    wait_until(lambda: run.step >= 20 and run.state != "running", what="20 steps")
    at.switch_page("pages/diagnostics.py")
    rendered(at)
    labels = [m.label for m in at.metric]
    assert "On the drawing" in labels and "Drawing covered" in labels
    assert not [i for i in at.info if "has neither" in i.value]
    at.switch_page("pages/manifold.py")
    rendered(at)
    assert at.get("plotly_chart")


@pytest.mark.usefixtures("clean_registry")
def test_a_viewer_changes_no_drawing_even_with_the_dialog_forced_open(monkeypatch):
    """Lecture mode: the drawing controls are disabled for a viewer and "Start new run" is refused on the
    server (forged clicks on the disabled ones: tests/test_draw_lecture.py, through the websocket)."""
    monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", "draw-test-token")
    at = new_session()
    at.query_params["preset"] = "drawn"
    rendered(at)  # a viewer's URL settings are ignored: the default run, and no drawing of theirs
    run = attached(at)
    before = run.config
    assert before.data.dataset != "drawn"
    at.session_state["_dialog"] = "setup"  # as if Setup had been opened for this session
    at.session_state["setup_dataset"] = "drawn"
    rendered(at)
    assert _canvas_points(at) == []
    controls = {b.key: b for b in at.button if b.key and b.key.startswith("btn_draw_")}
    assert set(controls) == {"btn_draw_undo", "btn_draw_clear", *(f"btn_draw_{n}" for n in STARTERS)}
    assert all(b.disabled for b in controls.values())
    _click(at, "btn_setup_start")
    assert attached(at) is run and run.config == before
    from ui.lecture import VIEWER_NOTE
    assert at.session_state["_action_error"] == VIEWER_NOTE
