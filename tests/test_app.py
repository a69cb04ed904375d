"""Streamlit AppTest checks of the pages: rendering, the Start/Pause/Step/Stop/Reset controls, live
hyperparameters, presets, bad settings and the ``?run=`` URL parameter.

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
from helpers_ui import (attached, chart_specs, clean_registry, new_session, rendered, run_threads,  # noqa: E402,F401
                        values, wait_until)
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


def trace_names(spec: dict) -> set:
    return {t.get("name") for t in spec["data"]}


def loss_chart(at: AppTest) -> dict:
    charts = [s for s in chart_specs(at) if {"D loss", "G loss"} <= trace_names(s)]
    assert len(charts) == 1, f"expected one loss chart, got traces {[trace_names(s) for s in chart_specs(at)]}"
    return charts[0]


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
    assert [t.value for t in at.title] == ["Train a GAN"]
    assert step_metric(at) == 0
    assert metric(at, "State") == "ready"
    assert at.button(key="btn_start").label == "Start"
    assert at.button(key="btn_stop").disabled  # nothing to stop yet
    run = attached(at)
    assert get_registry().current() is run
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert run.id in sidebar and "ready" in sidebar


def test_guide_page_renders():
    at = rendered(new_session())
    rid = attached(at).id
    at.switch_page("pages/guide.py")
    rendered(at)
    assert [t.value for t in at.title] == ["Guide"]
    text = " ".join(m.value for m in at.main.markdown)
    assert "Reading the Train page" in text and "Failure signatures" in text
    # (AppTest 1.67 drops the sidebar's elements after switch_page, even plain ones, so the sidebar is
    # not checked here; in a browser it stays: see test_browser.py.)
    at.switch_page("pages/train.py")
    rendered(at)
    assert [t.value for t in at.title] == ["Train a GAN"]
    assert step_metric(at) == 0
    assert attached(at).id == rid


def test_guide_page_file_renders_alone():
    at = rendered(AppTest.from_file(str(ROOT / "pages" / "guide.py"), default_timeout=TIMEOUT))
    assert [t.value for t in at.title] == ["Guide"]


# ---------------------------------------------------------------- training controls

def test_start_produces_metrics_and_loss_chart():
    at = rendered(new_session())
    assert not at.get("plotly_chart") or all("D loss" not in trace_names(s) for s in chart_specs(at))
    run = started(at, min_step=20)
    rendered(at)
    assert metric(at, "State") == "running"
    assert step_metric(at) > 20
    assert at.button(key="btn_pause").label == "Pause"
    spec = loss_chart(at)
    d_loss = next(t for t in spec["data"] if t["name"] == "D loss")
    assert len(values(d_loss["x"])) > 0 and max(values(d_loss["x"])) > 20
    assert metric(at, "D loss") != "–" and metric(at, "G loss") != "–"
    first = step_metric(at)
    wait_until(lambda: run.latest()["step"] > first, what="training to continue")
    rendered(at)
    assert step_metric(at) > first


def test_live_learning_rate_reaches_the_optimizer():
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


def test_pause_step_stop_reset():
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

    click(at, "btn_stop")
    assert run.state == "stopped"
    wait_until(lambda: f"gan-run-{run.id}" not in [t.name for t in run_threads()], timeout=5, what="the thread to end")
    rendered(at)
    assert metric(at, "State") == "stopped"
    assert at.button(key="btn_stop").disabled

    click(at, "btn_reset")
    assert run.step == 0 and run.state == "ready"
    assert step_metric(at) == 0 and metric(at, "State") == "ready"
    assert get_registry().current() is run and attached(at) is run


def test_reset_while_running():
    at = rendered(new_session())
    run = started(at)
    click(at, "btn_reset")
    assert run.step == 0 and run.state == "ready"
    assert run_threads() == []
    assert step_metric(at) == 0


# ---------------------------------------------------------------- setup panel

def test_loading_preset_gauss1d_shows_the_1d_chart():
    at = rendered(new_session())
    run = started(at)
    at.selectbox(key="preset_pick").set_value("gauss1d")
    click(at, "btn_preset")
    assert attached(at) is run  # same run, rebuilt in place
    assert run.config.data.dataset == "gauss1d"
    assert run.step == 0 and run.state == "ready"
    space = [s for s in chart_specs(at) if {"real", "generated"} <= trace_names(s)]
    assert len(space) == 1, [trace_names(s) for s in chart_specs(at)]
    assert {t["type"] for t in space[0]["data"]} >= {"bar"}  # histograms: the 1D picture
    assert "Samples and D" in space[0]["layout"]["title"]["text"]
    assert not any(t["type"] == "heatmap" for s in chart_specs(at) for t in s["data"])
    # (AppTest 1.67 loses the sidebar after an st.rerun() under st.navigation; check it in a new session)
    assert "gauss1d" in " ".join(c.value for c in rendered(new_session(run.id)).sidebar.caption)
    assert not at.error
    # and it trains
    click(at, "btn_step")
    assert run.step == 1


def _form_widget(at: AppTest, kind: str, label: str):
    found = [w for w in getattr(at, kind) if w.label == label]
    assert len(found) == 1, f"{kind} {label!r}: found {len(found)}"
    return found[0]


@pytest.mark.parametrize("kind, label, value, field", [
    ("selectbox", "Architecture", "dcgan", "model.arch"),  # DCGAN on 2D toy data
    ("number_input", "Image size (0 = native)", 2, "data.image_size"),  # widget allows 0..128, Config 0 or 4..128
])
def test_bad_settings_show_an_error_naming_the_field(kind, label, value, field):
    at = rendered(new_session())
    run = attached(at)
    config, trainer = run.config, run.trainer
    _form_widget(at, kind, label).set_value(value)
    submit = [b for b in at.button if b.label == "Apply and reset"]
    assert len(submit) == 1
    submit[0].click()
    rendered(at)
    errors = [e.value for e in at.error]
    assert any(field in e for e in errors), f"no error naming {field}: {errors}"
    assert run.config == config and run.trainer is trainer  # the run stays as it was
    assert metric(at, "State") == "ready"


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
    assert any("no-such-run" in t.value for t in stale.toast)
