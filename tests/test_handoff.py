"""A run handed to a process of its own (ui/handoff.py, gan_core/trainer_process.py, gan_core/live_control.py):
the control file's protocol; a real trainer process that pauses (and waits), resumes and stops with a saved
checkpoint when the app asks; the Train page's "Train in its own process" in AppTest, where the presenter's
session and a viewer's are sent to the Watch page, only the presenter's Pause is obeyed (a forced click from a
viewer is not), and Take over stops the trainer and brings the run back as a local one."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from helpers_server import live_status as status
from helpers_ui import clean_registry, new_session, rendered, wait_until  # noqa: F401


# ---------------------------------------------------------------- the control file

def test_each_command_is_obeyed_once_and_an_old_one_never(tmp_path):
    from gan_core.live_control import ControlReader, send
    with pytest.raises(FileNotFoundError, match="not a live run folder"):
        send(tmp_path, "pause")
    (tmp_path / "live").mkdir()
    assert send(tmp_path, "pause") == 1
    reader = ControlReader(tmp_path)  # a trainer starting now: the pause was for an earlier one
    assert reader.poll() is None
    assert send(tmp_path / "live", "resume") == 2  # DIR/live works as well as DIR
    assert reader.poll() == "resume" and reader.poll() is None
    time.sleep(0.01)
    (tmp_path / "live" / "control.json").write_text('{"seq": 9, "action": "rm -rf /"}')  # not a command
    assert reader.poll() is None
    with pytest.raises(ValueError, match="is not one of"):
        send(tmp_path, "explode")
    assert send(tmp_path, "stop") == 1 and reader.poll() is None  # numbering restarted below what was obeyed
    (tmp_path / "live" / "status.json").write_text('{"control_seq": 7}')  # ... unless the trainer says what it
    assert send(tmp_path, "stop") == 8 and reader.poll() == "stop"       # obeyed: its status is read too


def test_a_set_command_carries_its_values_and_a_malformed_one_is_ignored(tmp_path):
    from gan_core.live_control import ControlReader, send
    (tmp_path / "live").mkdir()
    reader = ControlReader(tmp_path)
    with pytest.raises(ValueError, match="needs a dict"):
        send(tmp_path, "set")
    with pytest.raises(ValueError, match="needs no values"):
        send(tmp_path, "pause", values={"lr_g": 0.1})
    with pytest.raises(ValueError, match="needs a dict"):
        send(tmp_path, "set", values={"lr_g": [1, 2]})  # plain numbers, strings and booleans only
    assert send(tmp_path, "set", values={"lr_g": 0.001, "loss": "hinge"}) == 1
    assert reader.poll() == "set" and reader.values == {"lr_g": 0.001, "loss": "hinge"}
    time.sleep(0.01)
    (tmp_path / "live" / "control.json").write_text('{"seq": 5, "action": "set", "values": {"x": {"y": 1}}}')
    assert reader.poll() is None and reader.seq == 1
    (tmp_path / "live" / "status.json").write_text('{"control_seq": 1}')  # what the trainer reports obeying
    assert send(tmp_path, "pause") == 2 and reader.poll() == "pause" and reader.values is None


def test_a_trainer_process_pauses_resumes_and_stops_on_request(tmp_path):
    from gan_core import trainer_process
    from gan_core.checkpoint import read_meta
    from gan_core.live_control import send
    from gan_core.presets import preset_config
    from gan_core.run import Run
    folder = tmp_path / "r"
    run = Run(preset_config("ring8", seed=3))
    run.step_once()
    run.save(folder)
    proc = trainer_process.launch(folder, 1_000_000)
    with pytest.raises(RuntimeError, match="still training"):
        trainer_process.launch(folder, 10)  # one trainer per folder
    try:
        wait_until(lambda: status(folder).get("step", 0) > 50, 60, "the trainer's first steps")
        assert status(folder)["controllable"] is True  # a single-process CLI trainer takes commands
        send(folder, "pause")
        s = wait_until(lambda: status(folder).get("held") and status(folder), 20, "the pause")
        assert s["state"] == "paused" and s["control_seq"] == 1
        time.sleep(1.2)  # two more status writes: held, and not a step further
        again = status(folder)
        assert again["step"] == s["step"] and again["held"] and again["heartbeat"] > s["heartbeat"]
        assert proc.poll() is None  # waiting, not ended
        send(folder, "resume")
        wait_until(lambda: status(folder).get("step", 0) > s["step"] + 20, 20, "training again")
        # live settings from the app: applied while it trains, a bad value refused by name and it trains on
        seq = send(folder, "set", values={"lr_g": 0.002, "loss": "hinge"})
        ok = wait_until(lambda: status(folder).get("control_seq") == seq and status(folder), 20, "the set command")
        assert ok["config"]["train"]["lr_g"] == 0.002 and ok["config"]["loss"]["loss"] == "hinge"
        assert ok["control_error"] is None and ok["config_version"] >= 1
        seq = send(folder, "set", values={"lr_g": 5.0})
        bad = wait_until(lambda: status(folder).get("control_seq") == seq and status(folder), 20, "the bad value")
        assert "lr_g = 5.0 is out of range" in bad["control_error"] and bad["config"]["train"]["lr_g"] == 0.002
        seq = send(folder, "set", values={"z_dim": 3})
        frozen = wait_until(lambda: status(folder).get("control_seq") == seq and status(folder), 20, "frozen")
        assert "z_dim cannot change during a run" in frozen["control_error"]
        wait_until(lambda: status(folder).get("step", 0) > frozen["step"] + 20, 20, "training on after refusals")
        send(folder, "stop")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    final = status(folder)
    assert final["state"] == "stopped" and not final["held"]
    assert int(read_meta(folder)["step"]) >= final["step"] > s["step"]  # the checkpoint holds the last step
    result = json.loads(trainer_process.log_tail(folder, 1))
    assert result["state"] == "stopped" and result["checkpoint"].endswith("checkpoint.safetensors")


# ---------------------------------------------------------------- in the app

TOKEN = "handoff-token"


def watching(at):
    """The folder name the Watch page says it watches (or its starting note's), else None."""
    import re
    for m in list(at.markdown) + list(at.info):
        found = re.match(r"(?:Watching|Starting the trainer \(pid \d+\) for) `([^`]+)`", m.value)
        if found:
            return found.group(1)
    return None


def presenter(run_id=None):
    at = new_session(run_id)
    at.session_state["_presenter_token"] = TOKEN  # as the presenter box leaves it after the right token
    return at

@pytest.fixture
def handed(clean_registry, monkeypatch):  # noqa: F811
    """A presenter's session that handed its ring8 run to a trainer process; yields (session, run id, folder)."""
    from gan_core import trainer_process
    from ui import handoff
    from ui.runs import runs_dir
    monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", TOKEN)  # lecture mode
    at = presenter()
    rendered(at)
    rid = at.query_params["run"]
    rid = rid[0] if isinstance(rid, list) else rid
    at.button(key="btn_step").click()
    rendered(at)
    at.button(key="btn_handoff").click()
    rendered(at)
    folder = runs_dir() / rid
    yield at, rid, folder
    monkeypatch.setattr(handoff, "_latest", None)
    trainer_process.stop_all(timeout=30)


def test_train_in_its_own_process_sends_the_class_to_the_watch_page(handed, monkeypatch):
    from gan_core import trainer_process
    from streamlit.testing.v1 import element_tree
    from ui.runs import get_registry
    at, rid, folder = handed
    assert watching(at) and at.query_params["watch"] in (rid, [rid])
    assert get_registry().get(rid) is None  # out of this server's memory: one writer for the folder
    assert trainer_process.alive(folder)
    wait_until(lambda: status(folder).get("state") == "running", 60, "the trainer's first status")
    wait_until(lambda: rendered(at) and [m.value for m in at.metric if m.label == "Step"] != ["1"], 30,
               "the watched steps")
    assert not at.button(key="watch_pause").disabled and not at.button(key="watch_stop").disabled

    for viewer in (new_session(rid), new_session()):  # the run's link, and the app's front page
        rendered(viewer)
        assert watching(viewer) == rid, "a viewer was not sent to the watched run"
        assert viewer.button(key="watch_pause").disabled and viewer.button(key="watch_stop").disabled
        assert viewer.button(key="watch_take_over").disabled
    assert get_registry().runs() == []  # nobody rebuilt the run in this server
    from ui.runs import resume_saved
    with pytest.raises(RuntimeError, match="process of its own"):
        resume_saved(folder)  # the Runs page's Open: never a second writer of the folder
    monkeypatch.setattr(element_tree.Widget, "_assert_can_interact", lambda self: None)
    viewer.button(key="watch_stop").click()  # forced, as a crafted message could
    rendered(viewer)
    time.sleep(1.0)
    assert status(folder)["control_seq"] == 0 and status(folder)["state"] == "running"

    at.button(key="watch_pause").click()
    rendered(at)
    wait_until(lambda: status(folder).get("held"), 20, "the presenter's pause")
    wait_until(lambda: rendered(at) and at.button(key="watch_resume"), 10, "the Resume button")


def test_take_over_stops_the_trainer_and_loads_its_newest_step(handed):
    from gan_core import trainer_process
    from ui.runs import get_registry
    at, rid, folder = handed
    wait_until(lambda: status(folder).get("step", 0) > 20, 60, "the trainer's steps")
    wait_until(lambda: rendered(at) and not at.button(key="watch_take_over").disabled, 10, "Take over")
    at.button(key="watch_take_over").click()
    rendered(at)
    assert not trainer_process.alive(folder)  # stopped first: it saved, then exited
    local = get_registry().get(rid)
    assert local is not None and local.state != "running" and local.step == status(folder)["step"] > 20
    assert [m.value for m in at.metric if m.label == "Step"] == [f"{local.step:,}"]  # the Train page, local again


def test_the_server_side_check_behind_every_handoff_action(tmp_path, monkeypatch, clean_registry):  # noqa: F811
    """Streamlit drops clicks on widgets it drew disabled; behind that, each callback asks ui.lecture.refuse
    itself. Called as a viewer (lecture mode, no token entered), none of them does anything."""
    from gan_core import trainer_process
    from gan_core.presets import preset_config
    from gan_core.run import Run
    from ui import handoff, watch
    from ui.runs import get_registry
    monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", TOKEN)
    folder = tmp_path / "handed"
    (folder / "live").mkdir(parents=True)
    for action in ("pause", "resume", "stop"):
        handoff._send(str(folder), action)
    assert not (folder / "live" / "control.json").exists()
    run = get_registry().add(Run(preset_config("gauss1d")))
    handoff.hand_off(run)
    assert get_registry().get(run.id) is run and trainer_process.process_of(run.autosave_dir or folder) is None
    other = Run(preset_config("gauss1d"), run_id="elsewhere")
    other.save(folder)
    watch._take_over(str(folder))
    assert [r.id for r in get_registry().runs()] == [run.id]  # "elsewhere" was not loaded


def test_a_trainer_saves_and_stops_when_the_app_that_started_it_is_killed(tmp_path):
    """The app dies without its exit hook (SIGKILL): the trainer it started notices within a second or two,
    saves its checkpoint and stops, instead of training on unwatched for millions of steps."""
    import os
    import signal
    import subprocess
    import sys
    from gan_core.checkpoint import read_meta
    from gan_core.presets import preset_config
    from gan_core.run import Run
    from helpers_ui import ROOT
    folder = tmp_path / "orphan"
    run = Run(preset_config("ring8", seed=4))
    run.step_once()
    run.save(folder)
    run.stop()
    app = subprocess.Popen([sys.executable, "-c", "import sys, time; from gan_core import trainer_process; "
                            "p = trainer_process.launch(sys.argv[1], 1_000_000); print(p.pid, flush=True); "
                            "time.sleep(600)", str(folder)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    trainer = int(app.stdout.readline())
    try:
        wait_until(lambda: status(folder).get("step", 0) > 50, 60, "the trainer's first steps")
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        wait_until(lambda: status(folder).get("state") == "stopped", 30, "the orphaned trainer to stop")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                state = Path(f"/proc/{trainer}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                break  # gone
            if state in ("Z", "X"):
                break  # exited, waiting for the new parent (init) to reap it
            time.sleep(0.1)
        else:
            pytest.fail("the orphaned trainer is still running")
        assert int(read_meta(folder)["step"]) >= status(folder)["step"] > 50  # saved where it stopped
        assert "the app that started this trainer is gone" in (folder / "train.log").read_text()
    finally:
        for pid in (trainer,):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
