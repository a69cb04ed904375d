"""Streamlit AppTest checks of the Train page and the router: rendering, the control bar (Start/Pause, Step
x1/x10/x100, slow motion, pause at step, Reset as a new run), live hyperparameters, the setup dialog
(presets, bad settings), several sessions and the ``?run=`` URL parameter.

AppTest runs the scripts in this process, so the tests read the same process-wide run registry
(``ui.runs.get_registry``) that the pages use. ``run_every`` never fires under AppTest: every test polls
the Run object itself (with a timeout) and then calls ``at.run()`` to redraw.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) does not put the root on sys.path
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from gan_core.presets import preset_config  # noqa: E402
from helpers_ui import (attached, chart_with, clean_registry, error_texts, new_session, rendered,  # noqa: E402,F401
                        run_threads, shown, vega_charts, wait_until)
from ui.runs import get_registry  # noqa: E402

APP = str(ROOT / "app.py")
TIMEOUT = 30.0


# ---------------------------------------------------------------- helpers

pytestmark = pytest.mark.usefixtures("clean_registry")  # empty registry before, no thread after


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert len(found) == 1, f"expected one {label!r} metric, got {[m.label for m in at.metric]}"
    return found[0]


def step_metric(at: AppTest) -> int:
    return int(metric(at, "Step").replace(",", ""))


def loss_chart(at: AppTest):
    """The training chart's data: a long table (step, value, series, panel)."""
    return chart_with(at, "train")["data"]["train"]


def click(at: AppTest, key: str) -> AppTest:
    assert not at.button(key=key).disabled, f"{key} is disabled"
    at.button(key=key).click()
    return rendered(at)


def settled_step(run) -> int:
    """The step count once the loop has finished the step it may have been in (a job runs between steps)."""
    return run.call_in_loop(lambda trainer: trainer.step_count, timeout=TIMEOUT)


def started(at: AppTest, min_step: int = 5):
    """Press Start and wait until the run has trained ``min_step`` steps and flushed them to its history."""
    click(at, "btn_start")
    run = attached(at)
    assert run.state == "running"
    wait_until(lambda: run.latest()["step"] > min_step, what=f"the history to pass step {min_step}")
    return run


# ---------------------------------------------------------------- pages

def test_train_page_renders_by_default():
    at = rendered(new_session())
    assert step_metric(at) == 0
    assert metric(at, "State") == "ready"
    assert at.button(key="btn_start").label == "Start"
    assert not [b for b in at.button if b.key == "btn_stop"]  # Pause is the only way to halt; no look-alike Stop
    run = attached(at)
    assert get_registry().current() is run and run.preset == "ring8"
    space = chart_with(at, "points")  # the data-space picture is drawn before any training
    assert set(space["data"]["points"]["kind"]) == {"real", "generated"}


def test_guide_page_renders_and_the_run_stays_attached():
    at = rendered(new_session())
    rid = attached(at).id
    at.switch_page("pages/guide.py")
    rendered(at)
    assert [t.value for t in at.title] == ["Guide"]
    text = " ".join(m.value for m in at.main.markdown)
    assert "Reading the Train page" in text and "Failure signatures" in text
    # (AppTest 1.67 drops what app.py draws before page.run() after a switch_page, so the status line
    # naming the run is checked in the browser: test_browser.py)
    at.switch_page("pages/train.py")
    rendered(at)
    assert step_metric(at) == 0
    assert attached(at).id == rid


def test_guide_page_file_renders_alone():
    at = rendered(AppTest.from_file(str(ROOT / "pages" / "guide.py"), default_timeout=TIMEOUT))
    assert [t.value for t in at.title] == ["Guide"]


# ---------------------------------------------------------------- training controls

def test_start_produces_metrics_and_the_training_chart():
    at = rendered(new_session())
    assert not [c for c in vega_charts(at) if "train" in c["data"]]
    run = started(at, min_step=20)
    rendered(at)
    assert metric(at, "State") == "running"
    assert step_metric(at) > 20
    assert at.button(key="btn_pause").label == "Pause"
    data = loss_chart(at)
    assert {"D loss", "G loss", "on real", "on fake", "D(x) real", "D(G(z)) fake"} <= set(data["series"])
    assert data["step"].max() > 20 and data["value"].notna().all()
    assert metric(at, "D loss") != "–" and metric(at, "G loss") != "–"
    first = step_metric(at)
    wait_until(lambda: run.latest()["step"] > first, what="training to continue")
    rendered(at)
    assert step_metric(at) > first


def test_live_learning_rate_reaches_the_optimizer_and_other_tabs():
    at = rendered(new_session())
    run = started(at)
    other_tab = rendered(new_session(run.id))
    assert run.config.train.lr_g != 5e-4
    at.number_input(key="live_lr_g").set_value(5e-4)
    rendered(at)
    assert run.config.train.lr_g == 5e-4
    wait_until(lambda: run.trainer.opt_g.param_groups[0]["lr"] == pytest.approx(5e-4 * run.trainer.lr_factor(),
                                                                                 rel=1e-3),
               what="the G optimizer's lr to become 5e-4 (times the preset's decay schedule)")
    assert run.state == "running" and not at.error
    assert at.number_input(key="live_lr_g").value == pytest.approx(5e-4)
    before = run.step
    wait_until(lambda: run.step > before + 5, what="training to continue after the change")
    rendered(other_tab)  # another open tab shows the value the run now uses
    assert other_tab.number_input(key="live_lr_g").value == pytest.approx(5e-4)


@pytest.mark.parametrize("away", ["pages/latent.py", "pages/guide.py", "pages/diagnostics.py"])
def test_live_widgets_show_the_run_after_a_page_round_trip(away):
    """Bug: after Train -> another page -> Train the widgets came back at their minimum (loss minimax, lr 1e-6,
    batch 1) while the run kept its values, and the next "+" applied a value computed from the wrong one."""
    at = rendered(new_session())
    run = attached(at)
    at.number_input(key="live_lr_g").set_value(1e-2)
    at.number_input(key="live_batch_size").set_value(200)
    rendered(at)
    assert run.config.train.lr_g == 1e-2 and run.config.train.batch_size == 200
    at.switch_page(away)
    rendered(at)
    at.switch_page("pages/train.py")
    rendered(at)
    assert at.selectbox(key="live_loss").value == run.config.loss.loss == "non_saturating"
    assert at.number_input(key="live_lr_g").value == pytest.approx(1e-2)
    assert at.number_input(key="live_lr_d").value == pytest.approx(run.config.train.lr_d)
    assert at.number_input(key="live_batch_size").value == 200
    at.number_input(key="live_lr_g").increment()  # one "+" on the G learning rate: 1e-2 + its step 1e-4
    rendered(at)
    assert run.config.train.lr_g == pytest.approx(1e-2 + 1e-4)


def test_a_change_in_another_tab_shows_on_the_next_rerun():
    first = rendered(new_session())
    run = attached(first)
    second = rendered(new_session(run.id))
    second.selectbox(key="live_loss").set_value("minimax")
    rendered(second)
    assert run.config.loss.loss == "minimax"
    rendered(first)
    assert first.selectbox(key="live_loss").value == "minimax"


def test_a_scheduled_learning_rate_shows_its_effective_value():
    at = rendered(new_session())  # ring8 decays its learning rates 20x over 3,000 steps
    run = attached(at)
    run.trainer.step_count = 1500  # half way: x0.525
    rendered(at)
    notes = [c.value for c in at.caption if c.value.startswith("now ")]
    assert any("1.05e-03" in n and "×0.53" in n for n in notes), notes  # 2e-3 typed, 1.05e-3 used


def test_pause_step_and_resume():
    at = rendered(new_session())
    run = started(at)
    click(at, "btn_pause")
    assert run.state == "paused"
    paused_at = settled_step(run)
    time.sleep(0.5)  # a window in which a running loop makes dozens of steps: none may happen now
    assert run.step == paused_at
    rendered(at)
    assert metric(at, "State") == "paused" and step_metric(at) == paused_at
    assert at.button(key="btn_start").label == "Resume"
    for key in ("btn_step", "btn_dstep", "btn_gstep"):
        before = run.step
        click(at, key)  # step_once blocks until the loop has made the step
        assert run.step == before + 1, key
        assert step_metric(at) == before + 1, key
        assert run.state == "paused" and not at.error, key
    assert settled_step(run) == paused_at + 3
    click(at, "btn_start")
    wait_until(lambda: run.step > paused_at + 10, what="training to resume")
    assert attached(at) is run


@pytest.mark.parametrize("key, n", [("btn_step10", 10), ("btn_step100", 100)])
def test_step_times_n_trains_n_steps_then_pauses(key, n):
    at = rendered(new_session())
    run = attached(at)
    click(at, key)
    wait_until(lambda: run.state == "paused", what=f"the run to pause after {n} steps")
    assert settled_step(run) == n and run.pause_at is None
    rendered(at)
    assert step_metric(at) == n and metric(at, "State") == "paused"
    assert f"Paused at step {n}" in " ".join(i.value for i in at.info)


def test_slow_motion_and_pause_at_step():
    at = rendered(new_session())
    run = attached(at)
    at.segmented_control(key="ctl_speed").set_value(20)
    rendered(at)
    assert run.max_rate == 20.0
    at.number_input(key="ctl_pause_at").set_value(30)
    rendered(at)
    assert run.pause_at == 30
    t0 = time.monotonic()
    click(at, "btn_start")
    wait_until(lambda: run.state == "paused", what="the run to pause itself at step 30")
    took = time.monotonic() - t0
    assert settled_step(run) == 30
    assert took > 1.0, f"30 steps at 20 steps/s took only {took:.2f} s"  # (no upper bound: CI may be slow)
    rendered(at)
    assert at.number_input(key="ctl_pause_at").value is None  # done: the field is empty again
    assert at.segmented_control(key="ctl_speed").value == 20
    other = rendered(new_session(run.id))  # another tab shows the same controls
    assert other.segmented_control(key="ctl_speed").value == 20
    at.number_input(key="ctl_pause_at").set_value(10)  # behind the run: refused, said why
    rendered(at)
    assert run.pause_at is None and any("not ahead of the run" in e for e in error_texts(at))


# ---------------------------------------------------------------- reset and the setup dialog: new runs

def test_reset_makes_a_new_run_and_keeps_the_saved_one(tmp_path):
    """Bug: Reset kept the run id and folder, so the next save or autosave put step 1 over a saved run."""
    from gan_core.checkpoint import list_checkpoints, read_meta
    at = rendered(new_session())
    old = attached(at)
    click(at, "btn_step10")
    wait_until(lambda: old.state == "paused", what="10 steps")
    click(at, "btn_save")
    assert int(read_meta(old.autosave_dir)["step"]) == 10
    click(at, "btn_step")  # one unsaved step: Reset asks first
    click(at, "btn_reset")
    assert attached(at) is old and at.button(key="btn_confirm_reset").label == "Save it and start over"
    assert any("1 step since it was last saved" in m.value for m in at.markdown)
    click(at, "btn_confirm_reset")
    new = attached(at)
    assert new is not old and new.id != old.id and new.step == 0 and new.state == "ready"
    assert new.config == old.config and new.autosave_dir != old.autosave_dir
    assert old.state == "paused" and old.step == 11 and int(read_meta(old.autosave_dir)["step"]) == 11
    click(at, "btn_step")
    click(at, "btn_save")
    assert int(read_meta(new.autosave_dir)["step"]) == 1
    assert int(read_meta(old.autosave_dir)["step"]) == 11  # untouched by the new run
    listed = {e["run_id"]: e["step"] for e in list_checkpoints(old.autosave_dir.parent)}
    assert listed[old.id] == 11 and listed[new.id] == 1
    assert old in get_registry().runs()


def test_reset_of_a_saved_run_needs_no_confirmation_and_cancel_changes_nothing():
    at = rendered(new_session())
    run = attached(at)
    click(at, "btn_step")
    click(at, "btn_reset")  # one unsaved step: asked
    click(at, "btn_cancel_reset")
    assert attached(at) is run and run.step == 1
    click(at, "btn_save")
    click(at, "btn_reset")  # nothing unsaved: no question
    assert attached(at) is not run and not [b for b in at.button if b.key == "btn_confirm_reset"]


def test_reset_while_running():
    at = rendered(new_session())
    old = started(at)
    click(at, "btn_reset")
    click(at, "btn_confirm_reset")
    new = attached(at)
    assert new is not old and new.step == 0 and new.state == "ready"
    assert old.state == "paused" and old.saved_step == old.step > 0


def open_setup(at: AppTest) -> AppTest:
    return click(at, "btn_setup")


def test_setup_preset_builds_a_new_run_and_keeps_the_data_folder(tmp_path):
    """Bug: Load preset ignored the data folder typed in the setup panel."""
    from test_data_images import write_idx
    import numpy as np
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    rng = np.random.default_rng(0)
    write_idx(mnist / "t10k-images-idx3-ubyte", rng.integers(0, 255, (64, 28, 28), dtype=np.uint8))
    write_idx(mnist / "t10k-labels-idx1-ubyte", (np.arange(64) % 10).astype(np.uint8))
    at = rendered(new_session())
    old = attached(at)
    open_setup(at)
    at.text_input(key="setup_data_dir").input(str(tmp_path))
    rendered(at)
    at.selectbox(key="setup_preset").set_value("mnist")  # after typing the folder, as a user would
    rendered(at)
    assert at.text_input(key="setup_data_dir").value == str(tmp_path)
    assert at.selectbox(key="setup_arch").value == "dcgan"
    click(at, "btn_setup_start")
    new = attached(at)
    assert new is not old and not at.error, [e.value for e in at.error]
    assert new.config.data.dataset == "mnist" and new.config.model.arch == "dcgan"
    assert new.config.data.data_dir == str(tmp_path) and new.preset == "mnist"
    assert get_registry().get(old.id) is None  # the old run never trained: nothing to keep
    assert not [b for b in at.button if b.key == "btn_setup_start"]  # the dialog closed


def test_choosing_a_dataset_that_has_a_preset_says_so():
    at = rendered(new_session())
    open_setup(at)
    at.selectbox(key="setup_dataset").set_value("mnist")
    rendered(at)
    assert any("mnist** preset" in i.value for i in at.info), [i.value for i in at.info]


def test_setup_preset_gauss1d_shows_the_1d_chart():
    at = rendered(new_session())
    old = started(at)
    open_setup(at)
    at.selectbox(key="setup_preset").set_value("gauss1d")
    rendered(at)
    click(at, "btn_setup_start")
    run = attached(at)
    assert run is not old and run.config.data.dataset == "gauss1d" and run.step == 0 and run.state == "ready"
    assert old.state == "paused" and old.saved_step == old.step  # kept and saved
    space = chart_with(at, "hist")
    assert set(space["data"]["hist"]["kind"]) == {"real", "generated"}
    assert not [c for c in vega_charts(at) if "points" in c["data"]]
    assert any("Samples and D" in m.value for m in at.markdown)
    assert not at.error
    click(at, "btn_step")
    assert run.step == 1


@pytest.mark.parametrize("key, value, field", [
    ("setup_arch", "dcgan", "model.arch"),  # DCGAN on 2D toy data
    ("setup_image_size", 2, "data.image_size"),  # widget allows 0..128, Config 0 or 4..128
])
def test_bad_settings_show_an_error_naming_the_field(key, value, field):
    at = rendered(new_session())
    run = attached(at)
    config, trainer = run.config, run.trainer
    open_setup(at)
    widget = at.selectbox(key=key) if key == "setup_arch" else at.number_input(key=key)
    widget.set_value(value)
    rendered(at)
    click(at, "btn_setup_start")
    errors = error_texts(at)
    assert any(field in e for e in errors), f"no error naming {field}: {errors}"
    assert attached(at) is run and run.config == config and run.trainer is trainer  # the run stays as it was
    assert at.button(key="btn_setup_start")  # the dialog stays open with the error


def test_starting_one_run_pauses_the_others():
    """Bug: runs started from links kept training unseen in the background."""
    first = rendered(new_session())
    a = started(first)
    second = rendered(new_session())
    second.query_params["preset"] = "grid25"
    rendered(second)
    b = attached(second)
    assert b is not a and b.preset == "grid25"
    click(second, "btn_start")
    assert b.state == "running" and a.state == "paused"
    assert any(a.id in t.value for t in second.toast)


# ---------------------------------------------------------------- the URL and several sessions

def test_url_names_the_run_and_other_sessions_attach_to_it():
    first = rendered(new_session())
    rid = first.query_params["run"]
    rid = rid[0] if isinstance(rid, list) else rid
    assert rid and get_registry().current().id == rid
    run = started(first)

    second = rendered(new_session())  # a new tab without ?run= watches the current run
    assert second.query_params["run"] in (rid, [rid])
    assert attached(second) is run
    assert metric(second, "State") == "running"
    seen = step_metric(second)
    wait_until(lambda: run.latest()["step"] > seen, what="training to continue")
    rendered(second)
    assert step_metric(second) > seen

    click(second, "btn_pause")  # a control pressed in one tab shows in the other
    assert run.state == "paused"
    rendered(first)
    assert metric(first, "State") == "paused"

    other = get_registry().create(preset_config("gauss1d"))  # a newer run becomes the current one
    reload = rendered(new_session(rid))  # a refresh keeps ?run= and reattaches to the old run
    assert attached(reload) is run and metric(reload, "State") == "paused"
    fresh = rendered(new_session())
    assert attached(fresh) is other

    stale = rendered(new_session("no-such-run"))  # an unknown id falls back to the current run
    assert attached(stale) is other
    assert any("no-such-run" in shown(t.value) for t in stale.toast)


def test_a_tab_on_a_replaced_run_follows_to_the_new_one():
    first = rendered(new_session())
    old = attached(first)
    click(first, "btn_step")
    watcher = rendered(new_session(old.id))
    click(first, "btn_reset")
    click(first, "btn_confirm_reset")
    new = attached(first)
    rendered(watcher)
    assert attached(watcher) is new
    assert any(old.id in t.value and new.id in t.value for t in watcher.toast)


def test_copy_link_rebuilds_the_run():
    from urllib.parse import parse_qsl, urlsplit
    at = rendered(new_session())
    run = attached(at)
    at.selectbox(key="live_loss").set_value("minimax")
    at.number_input(key="live_lr_g").set_value(0.01)
    rendered(at)
    links = [c.value for c in at.code if "preset=" in c.value]
    assert len(links) == 1, [c.value for c in at.code]
    query = dict(parse_qsl(urlsplit(links[0]).query))
    assert query == {"preset": "ring8", "loss": "minimax", "lr_g": "0.01"}
    opened = new_session()
    for k, v in query.items():
        opened.query_params[k] = v
    rendered(opened)
    rebuilt = attached(opened)
    assert rebuilt is not run and rebuilt.config == run.config and rebuilt.preset == "ring8"


@pytest.mark.parametrize("loss, words", [("non_saturating", "D's belief that a point is real"),
                                         ("wgan", "the critic's raw score"), ("least_squares", "trained towards 1")])
def test_the_background_caption_says_what_d_outputs(loss, words):
    at = rendered(new_session())
    at.selectbox(key="live_loss").set_value(loss)
    rendered(at)
    captions = [c.value for c in at.caption if c.value.startswith("Background:")]
    assert len(captions) == 1 and words in captions[0], captions
    assert chart_with(at, "points")["spec"]["layer"][1]["encoding"]["color"]["title"] == (
        "score" if loss == "wgan" else "D(x)")


def test_runs_page_pause_stop_and_delete(tmp_path):
    from gan_core.checkpoint import read_meta
    at = rendered(new_session())
    a = started(at)
    b = get_registry().create(preset_config("gauss1d"), preset="gauss1d")
    b.step_once()
    at.switch_page("pages/runs.py")
    rendered(at)
    listed = " ".join(m.value for m in at.markdown)
    assert a.id in listed and b.id in listed
    click(at, f"runs_pause_{a.id}")
    assert a.state == "paused"
    click(at, f"runs_stop_{a.id}")  # save and unload: gone from memory, listed as saved
    assert get_registry().get(a.id) is None and int(read_meta(a.autosave_dir)["step"]) == a.step
    assert at.button(key=f"saved_open_{a.id}")
    click(at, f"runs_delete_{b.id}")  # asks first, saying what would be lost
    assert any("1 step" in m.value and "trained since its last save" in m.value for m in at.markdown)
    click(at, "btn_cancel_delete")
    assert get_registry().get(b.id) is b
    click(at, f"runs_delete_{b.id}")
    click(at, "btn_confirm_delete")
    assert get_registry().get(b.id) is None
    click(at, f"saved_delete_{a.id}")
    click(at, "btn_confirm_delete")
    assert not a.autosave_dir.exists()


def test_a_slow_data_load_does_not_stop_the_old_run_or_other_tabs(monkeypatch):
    """Building a new run happens outside the old run's lock: while its data loads, the old run trains on
    and answers snapshots (another tab's page)."""
    import threading
    import gan_core.trainer as trainer_mod
    real = trainer_mod.load_dataset

    def slow(cfg, progress=None):
        time.sleep(2.0)
        return real(cfg, progress)
    at = rendered(new_session())
    old = started(at)
    monkeypatch.setattr(trainer_mod, "load_dataset", slow)
    built = {}
    t = threading.Thread(target=lambda: built.update(r=get_registry().replace(old, preset_config("digits"))))
    t.start()
    time.sleep(0.3)
    s0 = old.step
    t0 = time.monotonic()
    snap = old.snapshot()
    assert time.monotonic() - t0 < 0.5 and snap["state"] == "running"
    wait_until(lambda: old.step > s0 + 20, timeout=1.5, what="the old run to keep training during the load")
    t.join(30)
    assert built["r"][0].config.data.dataset == "digits" and old.state == "paused"
