"""The Watch page in AppTest: a folder that a trainer writes (here LiveWriter in this process, as the CLI
does) shown read-only from ``?watch=NAME``; a name that is a path is refused; Take over makes a local run from
the folder's checkpoint; the Latent lab opens on that checkpoint."""
from __future__ import annotations

import pytest

from helpers_ui import clean_registry, new_session, rendered  # noqa: F401


@pytest.fixture
def written(clean_registry):  # noqa: F811
    from gan_core import Run
    from gan_core.live_folder import LiveWriter
    from gan_core.presets import preset_config
    from ui.runs import runs_dir
    run = Run(preset_config("ring8", seed=1), run_id="elsewhere")
    folder = runs_dir() / "served-ring8"
    writer = LiveWriter(folder, run)
    for _ in range(4):
        run.step_once()
    run.snapshot(visual=True)
    writer.tick(force=True)
    yield run, folder, writer
    run.stop()


def watch(name: str):
    at = new_session()
    at.query_params["watch"] = name
    return rendered(at)


def test_a_watched_folder_is_drawn_read_only(written):
    run, folder, writer = written
    at = watch("served-ring8")
    assert not at.title  # the run's status line heads the page (room for the picture on a projector)
    status = next(m.value for m in at.markdown if m.value.startswith("Watching `served-ring8`"))
    assert "step 4" in status and "**paused**" in status
    assert [m.value for m in at.metric if m.label == "Step"] == ["4"]
    assert any("Data space at step 4" in m.value for m in at.markdown)
    assert at.button(key="watch_take_over").disabled  # no checkpoint in the folder yet
    assert not [b for b in at.button if b.key and b.key.startswith("btn_")]  # no training controls here
    for _ in range(3):
        run.step_once()
    writer.tick(force=True)
    rendered(at)  # the next refresh shows the trainer's newer steps
    assert [m.value for m in at.metric if m.label == "Step"] == ["7"]


@pytest.mark.parametrize("name", ["../etc", "/tmp", "no-such-folder", "a/b"])
def test_only_folder_names_under_the_runs_directory(written, name):
    at = watch(name)
    assert any("No run folder named" in e.value for e in at.error)


def test_take_over_and_latent_lab_on_the_checkpoint(written):
    from ui.runs import get_registry
    run, folder, writer = written
    run.save(folder)
    at = watch("served-ring8")
    at.button(key="watch_latent").click()
    rendered(at)
    assert at.session_state["lat_source"] == "Checkpoint" and at.session_state["ckpt_pick"].endswith("served-ring8")
    assert at.title[0].value == "Latent lab"
    at = watch("served-ring8")
    at.button(key="watch_take_over").click()
    rendered(at)
    local = get_registry().current()
    assert local.id == "elsewhere" and local.step == 4 and local.state != "running"
    assert at.query_params["run"] in ("elsewhere", ["elsewhere"])
    assert [m.value for m in at.metric if m.label == "Step"] == ["4"]  # the Train page, on the local copy


def test_take_over_of_a_trainer_at_work_elsewhere_makes_a_copy_in_a_folder_of_its_own(written):
    """A trainer this app did not start (here: the fixture's run, training, its writer's heartbeat fresh) goes on
    writing its folder; Take over must not become a second writer there: the local run is a copy with a new
    id, saved at once to runs/<new id>/, and the page says so. The trainer's own checkpoint is untouched."""
    from ui.runs import get_registry, runs_dir
    run, folder, writer = written
    run.save(folder)
    before = (folder / "checkpoint.safetensors").read_bytes()
    run.start()  # at work "elsewhere"
    try:
        writer.tick(force=True)
        at = watch("served-ring8")
        assert "**running**" in next(m.value for m in at.markdown if m.value.startswith("Watching"))
        at.button(key="watch_take_over").click()
        rendered(at)
        local = get_registry().current()
        assert local.id != "elsewhere" and local.step == 4 and local.state == "paused"
        assert local.autosave_dir == runs_dir() / local.id
        assert (runs_dir() / local.id / "checkpoint.safetensors").is_file()
        assert any("started elsewhere and goes on" in i.value and local.id in i.value for i in at.info)
        assert at.query_params["run"] in (local.id, [local.id])
        run.pause()
        assert (folder / "checkpoint.safetensors").read_bytes() == before
        local.save()  # the copy's saves go to its own folder
        assert (folder / "checkpoint.safetensors").read_bytes() == before
    finally:
        run.stop()


def test_a_viewer_watches_but_cannot_take_over_or_read_other_paths(written, monkeypatch):
    from streamlit.testing.v1 import element_tree
    from ui.runs import get_registry
    run, folder, writer = written
    run.save(folder)
    monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", "watch-token")
    at = new_session()
    at.switch_page("pages/watch.py")
    rendered(at)
    picker = at.selectbox(key="watch_pick")
    assert "served-ring8" in picker.options and "other path…" not in picker.options
    assert at.button(key="watch_take_over").disabled
    monkeypatch.setattr(element_tree.Widget, "_assert_can_interact", lambda self: None)
    before = {r.id for r in get_registry().runs()}
    at.button(key="watch_take_over").click()  # forced, as a crafted message could
    rendered(at)
    assert {r.id for r in get_registry().runs()} == before and "elsewhere" not in before


def test_with_no_live_folder_the_page_says_how_to_make_one(clean_registry, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("GAN_PLAYGROUND_RUNS", str(tmp_path))
    at = new_session()
    at.switch_page("pages/watch.py")
    rendered(at)
    assert any("python -m gan_core train" in i.value and "--out" in i.value for i in at.info)
    assert at.selectbox(key="watch_pick").options == ["other path…"]  # the local user may still give a path


def test_live_hyperparameters_of_a_watched_trainer_are_sent_as_commands_and_follow_its_status(written, monkeypatch):
    """The Watch page draws the trainer's live settings. A change is validated, written to control.json as a
    "set" command, shown at once, and becomes the trainer's (here the CLI's _obey on the fixture's run and
    writer) once it reports the command; a refused value is reported; a viewer's forced change sends nothing."""
    import json

    from streamlit.testing.v1 import element_tree

    from gan_core.cli import _obey
    run, folder, writer = written
    writer.controllable = True
    run.start()
    try:
        writer.tick(force=True)
        at = watch("served-ring8")
        lr = at.number_input(key="live_lr_d")
        assert not lr.disabled and lr.value == run.config.train.lr_d
        lr.set_value(0.0007)
        rendered(at)
        command = json.loads((folder / "live" / "control.json").read_text())
        assert command["action"] == "set" and command["values"] == {"lr_d": 0.0007}
        assert at.number_input(key="live_lr_d").value == 0.0007  # shown at once, not the old status value
        assert run.config.train.lr_d != 0.0007  # the trainer has not read it yet
        assert _obey(writer, run) == "set" and run.config.train.lr_d == 0.0007  # the trainer's side
        rendered(at)
        assert at.number_input(key="live_lr_d").value == 0.0007
        at.selectbox(key="live_loss").set_value("hinge")
        rendered(at)
        command = json.loads((folder / "live" / "control.json").read_text())
        assert command["values"] == {"loss": "hinge"}  # lr_d was reported obeyed: not sent again
        (folder / "live" / "control.json").write_text(json.dumps({**command, "seq": command["seq"] + 1,
                                                                  "values": {"lr_g": 9.0}}))  # a bad value
        assert _obey(writer, run) == "set" and "lr_g = 9.0 is out of range" in writer.control_error
        rendered(at)
        rendered(at)
        from helpers_ui import shown
        assert any("The trainer refused the change" in shown(e.value) and "lr_g = 9.0 is out of range" in shown(e.value)
                   for e in at.error)
        assert run.state == "running" and run.config.loss.loss == "non_saturating"  # the hinge command was
        # overwritten unread above; the widget follows the trainer's real setting again
        assert at.selectbox(key="live_loss").value == "non_saturating"
    finally:
        run.stop()
    # a viewer: the widgets are drawn disabled and a forced change is refused on the server
    monkeypatch.setenv("GAN_PLAYGROUND_PRESENTER_TOKEN", "watch-token")
    writer.tick(force=True)
    before = (folder / "live" / "control.json").read_text()
    at = watch("served-ring8")
    assert at.number_input(key="live_lr_d").disabled
    monkeypatch.setattr(element_tree.Widget, "_assert_can_interact", lambda self: None)
    at.number_input(key="live_lr_d").set_value(0.0009)
    rendered(at)
    assert (folder / "live" / "control.json").read_text() == before
