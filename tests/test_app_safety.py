"""AppTest checks of the safety features as a user meets them: lecture mode (presenter token from the
environment or Streamlit secrets; viewers read-only, server side too), settings in the URL (validated),
the roll-back button after a divergence, and runs that come back after the app restarts."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from gan_core.checkpoint import WEIGHTS_FILE  # noqa: E402
from gan_core.run import stop_all  # noqa: E402
from helpers_ui import attached, clean_registry, error_texts, new_session, rendered, wait_until  # noqa: E402,F401
from ui.runs import get_registry, release_registry, runs_dir  # noqa: E402

TOKEN = "s3cret-lecture"
CONTROL_KEYS = ("btn_start", "btn_step", "btn_dstep", "btn_gstep", "btn_reset", "btn_save")


def session(run_id=None, params=None, secrets=None) -> AppTest:
    at = new_session(run_id)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    for k, v in (secrets or {}).items():
        at.secrets[k] = v
    return at


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return rendered(at)


def force(monkeypatch):
    """Let AppTest send values for disabled widgets: what a crafted websocket message could do."""
    from streamlit.testing.v1 import element_tree
    monkeypatch.setattr(element_tree.Widget, "_assert_can_interact", lambda self: None)


def sign_in(at: AppTest, token: str) -> AppTest:
    at.text_input(key="presenter_entry").input(token)
    at.button[[b.label for b in at.button].index("Enter presenter mode")].click()
    return rendered(at)


def errors(at: AppTest) -> list[str]:
    return error_texts(at)


@pytest.fixture(autouse=True)
def lecture_mode_off(monkeypatch, clean_registry):  # noqa: F811
    """No presenter token unless a test sets one; no delay after a wrong token in tests."""
    monkeypatch.delenv("GAN_PLAYGROUND_PRESENTER_TOKEN", raising=False)
    monkeypatch.setattr("ui.lecture.WRONG_TOKEN_DELAY_S", 0.0)


# ---------------------------------------------------------------- bounded controls

def test_every_numeric_control_is_bounded():
    at = rendered(session())
    press(at, "btn_setup")  # the setup dialog holds most of them
    numbers = list(at.number_input)
    assert len(numbers) >= 30  # live settings, the control bar and the whole setup dialog
    unbounded = [w.label for w in numbers if w.min is None or w.max is None]
    assert not unbounded, f"number inputs without a range: {unbounded}"
    sliders = list(at.slider)
    assert sliders and all(w.min is not None and w.max is not None for w in sliders)
    at.switch_page("pages/latent.py")
    rendered(at)
    assert len(at.number_input) >= 2 and len(at.slider) >= 3
    assert all(w.min is not None and w.max is not None for w in list(at.number_input) + list(at.slider))


# ---------------------------------------------------------------- lecture mode

def test_without_a_token_every_session_controls():
    at = rendered(session())
    assert not at.button(key="btn_start").disabled
    assert not [t for t in at.text_input if t.label == "Presenter token"]
    press(at, "btn_start")
    assert attached(at).state == "running"


@pytest.mark.parametrize("via", ["env", "secrets"])
def test_lecture_mode_viewer_is_read_only_and_presenter_controls(monkeypatch, via):
    if via == "env":
        monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", TOKEN)
    secrets = {"presenter_token": TOKEN} if via == "secrets" else None
    viewer = rendered(session(secrets=secrets))
    run = attached(viewer)
    for key in CONTROL_KEYS:
        assert viewer.button(key=key).disabled, key
    assert all(w.disabled for w in viewer.number_input if w.key and w.key.startswith("live_"))
    assert viewer.selectbox(key="live_loss").disabled
    assert viewer.button(key="btn_setup").disabled
    assert any("presenter controls this run" in c.value for c in viewer.caption)

    force(monkeypatch)
    press(viewer, "btn_start")  # the server refuses even a forced click
    assert run.state == "ready" and run.step == 0
    press(viewer, "btn_setup")  # nor does a forced Setup open the dialog
    assert not [b for b in viewer.button if b.key == "btn_setup_start"]
    viewer.selectbox(key="live_loss").set_value("hinge")
    rendered(viewer)
    assert run.config.loss.loss == "non_saturating"

    # AppTest drops the sidebar on reruns (streamlit 1.67), so each sign-in starts from a fresh session
    wrong = rendered(session(run.id, secrets=secrets))
    sign_in(wrong, "wrong")
    assert wrong.session_state["_presenter_error"] == "That is not the presenter token."
    assert wrong.button(key="btn_start").disabled

    presenter = rendered(session(run.id, secrets=secrets))
    sign_in(presenter, TOKEN)
    assert not presenter.button(key="btn_start").disabled
    press(presenter, "btn_start")
    assert run.state == "running"
    wait_until(lambda: run.step > 20, what="the presenter's run to train")

    rendered(viewer)  # the viewer watches the same live run, still without controls
    assert [m.value for m in viewer.metric if m.label == "State"] == ["running"]
    assert viewer.button(key="btn_pause").disabled
    press(viewer, "btn_pause")
    assert run.state == "running"
    press(presenter, "btn_pause")
    assert run.state == "paused"


def test_a_viewer_cannot_start_a_run_through_the_url(monkeypatch):
    monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", TOKEN)
    first = rendered(session())
    run = attached(first)
    viewer = rendered(session(params={"preset": "grid25", "lr_g": "0.0005"}))
    assert attached(viewer) is run and len(get_registry().runs()) == 1
    assert any("ignored" in e for e in errors(viewer))


# ---------------------------------------------------------------- settings in the URL

def test_url_settings_build_a_validated_run():
    at = rendered(session(params={"preset": "grid25", "lr_g": "0.0005", "loss": "hinge"}))
    run = attached(at)
    assert run.config.data.dataset == "grid25" and run.config.train.lr_g == 0.0005
    assert run.config.loss.loss == "hinge"
    assert "preset" not in at.query_params and "lr_g" not in at.query_params  # a refresh does not rebuild
    rendered(at)
    assert attached(at) is run and len(get_registry().runs()) == 1


@pytest.mark.parametrize("params, words", [
    ({"lr_g": "5"}, "train.lr_g = 5.0 is out of range"),
    ({"preset": "nope"}, "preset 'nope' is not one of"),
    ({"batch_size": "many"}, "train.batch_size = 'many' is not a valid int"),
    ({"loss": "magic"}, "loss.loss = 'magic' is not one of"),
])
def test_bad_url_settings_are_named_and_change_nothing(params, words):
    first = rendered(session())
    run = attached(first)
    at = rendered(session(params=params))
    assert attached(at) is run and len(get_registry().runs()) == 1
    assert any(words in e for e in errors(at)), errors(at)


# ---------------------------------------------------------------- divergence: roll back from the page

def test_roll_back_button_after_a_divergence():
    at = rendered(session())
    run = attached(at)
    run.set(snapshot_every=20)
    press(at, "btn_start")
    wait_until(lambda: (run.snapshots.latest_step or 0) >= 60, what="a snapshot")
    run.pause()
    import torch

    def poison(tr):
        with torch.no_grad():
            for p in tr.D.parameters():
                p.fill_(float("inf"))
    run.call_in_loop(poison)
    good = run.snapshots.latest_step
    run.start()
    wait_until(lambda: run.diverged_at is not None, what="the divergence to be caught")
    rendered(at)
    assert any("Training diverged" in e for e in errors(at))
    assert at.button(key="btn_rollback").label.startswith(f"Roll back to step {good:,}")
    press(at, "btn_rollback")
    assert run.step == good and run.diverged_at is None
    assert not [b for b in at.button if b.key == "btn_rollback"]
    assert any(f"Rolled back to step {good:,}" in t.value for t in at.toast)


# ---------------------------------------------------------------- runs survive a restart

def test_a_saved_run_comes_back_after_a_restart():
    at = rendered(session())
    run = attached(at)
    press(at, "btn_start")
    wait_until(lambda: run.step > 100, what="training")
    press(at, "btn_pause")
    press(at, "btn_save")
    folder = runs_dir() / run.id
    assert (folder / WEIGHTS_FILE).is_file()
    step, rid = run.step, run.id

    stop_all(timeout=None)  # the app restarts: every run is gone from memory
    release_registry()
    back = rendered(session(rid))  # the same URL (a bookmark, a refresh)
    restored = attached(back)
    assert restored.id == rid and restored.step == step and restored.state == "paused"
    assert any("Restored run" in t.value for t in back.toast)
    press(back, "btn_start")
    wait_until(lambda: restored.step > step + 10, what="the restored run to train")


def test_open_a_saved_run_from_the_runs_page():
    at = rendered(session())
    first = attached(at)
    first.step_once()
    first.save()
    other = get_registry().create(first.config)  # a newer run is now current
    at = rendered(session(other.id))
    at.switch_page("pages/runs.py")
    rendered(at)
    press(at, f"runs_open_{first.id}")  # in memory: switched to, not loaded twice
    assert attached(at) is first and get_registry().current() is first
    stop_all(timeout=None)
    get_registry().remove(first.id)  # now only on disk
    at = rendered(session(other.id))
    at.switch_page("pages/runs.py")
    rendered(at)
    press(at, f"saved_open_{first.id}")
    back = attached(at)
    assert back is not first and back.id == first.id and back.step == 1 and back.state == "paused"


def test_autosave_status_shows_on_the_train_page():
    at = rendered(session())
    run = attached(at)
    run.set(autosave_minutes=0.002)
    press(at, "btn_start")
    wait_until(lambda: run.saved_step, what="an autosave")
    time.sleep(0.05)
    rendered(at)
    assert (runs_dir() / run.id / WEIGHTS_FILE).is_file()
    saved = [c.value for c in at.caption if c.value.startswith("Saved step")]
    assert saved and "(autosave every 0.002 min)" in saved[0], [c.value for c in at.caption]


def test_a_viewer_picks_listed_checkpoints_only(monkeypatch):
    monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", TOKEN)
    at = rendered(session())
    run = attached(at)
    run.step_once()
    run.save()
    at.switch_page("pages/latent.py")
    rendered(at)
    at.radio(key="lat_source").set_value("Checkpoint")
    rendered(at)
    options = at.selectbox(key="ckpt_pick").options
    assert str(run.autosave_dir) in options and "other path…" not in options  # no way to name a server file
    assert not [t for t in at.text_input if t.key == "ckpt_path"]


def test_a_run_too_big_for_this_machine_is_refused_in_setup():
    """digits with a 64 px DCGAN, ngf = ndf = 512 and batch 8192 took 11 GB and never finished a step."""
    at = rendered(session())
    run = attached(at)
    press(at, "btn_setup")
    at.selectbox(key="setup_preset").set_value("digits")
    rendered(at)
    at.selectbox(key="setup_arch").set_value("dcgan")
    at.number_input(key="setup_image_size").set_value(64)
    at.number_input(key="setup_ngf").set_value(512)
    at.number_input(key="setup_ndf").set_value(512)
    at.number_input(key="setup_batch_size").set_value(8192)
    rendered(at)
    press(at, "btn_setup_start")
    errs = errors(at)
    assert any("model.ngf" in e and ("GB" in e or " s " in e) for e in errs), errs
    assert attached(at) is run  # nothing was built; the current run stays


def test_token_tries_are_limited_per_address(monkeypatch):
    from ui.lecture import Attempts
    monkeypatch.setattr("ui.lecture.WRONG_TOKEN_DELAY_S", 1.0)
    tries = Attempts()
    assert tries.wait_s("10.0.0.7") == 0
    tries.failed("10.0.0.7")
    tries.failed("10.0.0.7")  # a second wrong try right away: the next one waits two delays
    assert 1.5 < tries.wait_s("10.0.0.7") <= 2.0
    assert tries.wait_s("10.0.0.8") == 0  # another laptop is not slowed
