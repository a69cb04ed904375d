"""`python -m gan_core train --out DIR` writes a folder another process can watch while it trains
(gan_core/live_folder.py): read it from here while a real CLI run trains in a subprocess, kill that run, and
check the folder is still readable, says the trainer is gone, and that its checkpoint resumes."""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gan_core.live_folder import LIVE, STALE_SECONDS, LiveFolder, LiveWriter, _read_csv

ROOT = Path(__file__).resolve().parents[1]


def wait_for(fn, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
        except (FileNotFoundError, ValueError) as exc:  # not written yet
            last = exc
        else:
            if last:
                return last
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; last: {last!r}")


def test_a_cli_run_is_watched_live_and_a_kill_leaves_a_readable_folder(tmp_path):
    out = tmp_path / "served"
    cmd = [sys.executable, "-m", "gan_core", "train", "--preset", "ring8", "--steps", "200000", "--out", str(out),
           "--quiet", "--set", "train.autosave_minutes=0.05"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        folder = LiveFolder(out)
        first = wait_for(lambda: folder.read()["step"] > 50 and folder.read(), 60, "the first live status")
        assert first["live"] and first["state"] == "running" and first["config"]["data"]["dataset"] == "ring8"
        later = wait_for(lambda: (s := folder.read())["step"] > first["step"] + 200 and
                         len(s["history"]["step"]) > len(first["history"]["step"]) and s, 60, "newer steps")
        h = later["history"]
        assert np.all(np.diff(h["step"]) > 0) and h["step"][-1] <= later["step"]
        assert set(("d_loss", "g_loss", "d_acc_real")) <= set(h)
        vis = wait_for(lambda: folder.read()["visual"], 30, "the 2D picture")
        assert vis["kind"] == "2d" and vis["real"].shape[1] == 2 and vis["heat"].ndim == 2
        wait_for(lambda: (out / "checkpoint.safetensors").is_file(), 60, "an autosaved checkpoint")
        wait_for(lambda: len(folder.read()["evals"].get("step", [])) > 0, 60, "an evaluation (modes covered)")
        os.kill(proc.pid, signal.SIGKILL)  # mid-write, as a crash or `kill -9` would
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    dead = folder.read(now=time.time() + STALE_SECONDS + 1)  # as read a while after the kill
    assert not dead["live"] and dead["state"] == "stopped" and "stopped writing" in dead["message"]
    # nothing lost: the history reaches at least as far (its length may shrink: past 2,000 rows it is bucketed)
    assert dead["history"]["step"][-1] >= later["history"]["step"][-1]
    from gan_core import Run
    resumed = Run.from_checkpoint(out)  # the newest autosave resumes ("Take over")
    try:
        assert resumed.step > 0 and resumed.config.data.dataset == "ring8"
    finally:
        resumed.stop()


def test_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("step,d_loss\n1.0,0.5\n2.0,0.25\n3.0,0.")  # killed in the middle of the third line
    cols, n = _read_csv(path, 100)
    assert n == 2 and cols["step"].tolist() == [1.0, 2.0] and cols["d_loss"].tolist() == [0.5, 0.25]
    path.write_text("step,d_loss\n1.0,0.5\n2.0\n3.0,0.1\n")  # a broken line ends the reading
    assert _read_csv(path, 100)[1] == 1
    path.write_text("step,d_loss\n" + "".join(f"{i}.0,{i}.0\n" for i in range(1, 1001)))
    cols, n = _read_csv(path, 100)  # long histories come back as at most max_points bucket means
    assert n == 1000 and len(cols["step"]) <= 100 and cols["step"][0] > 1.0 and cols["step"].mean() == pytest.approx(500.5)


def test_the_writer_in_process_and_what_a_reader_gets(tmp_path):
    from gan_core import Run
    from gan_core.presets import preset_config
    run = Run(preset_config("digits", seed=0))
    try:
        writer = LiveWriter(tmp_path, run)
        for _ in range(3):
            run.step_once()
        run.snapshot(visual=True)  # a paused run makes its picture on request
        writer.tick(force=True)
        snap = LiveFolder(tmp_path / LIVE).read()
        assert snap["step"] == 3 and snap["state"] == "paused" and not snap["live"]
        assert snap["history"]["step"].tolist() == [1.0, 2.0, 3.0]
        local = run.snapshot(visual=True)
        for k in ("d_loss", "g_loss"):
            assert np.allclose(snap["history"][k], local["history"][k])
        assert snap["visual"]["kind"] == "images" and np.array_equal(snap["visual"]["grid"], local["visual"]["grid"])
        run.step_once()
        writer.tick(force=True)
        assert LiveFolder(tmp_path).read()["history"]["step"].tolist() == [1.0, 2.0, 3.0, 4.0]  # appended once
        from gan_core.health import Alert
        run.alerts = lambda: [Alert("d_wins", "warning", "D is winning", "D acc 100%", "lower lr_d")]
        writer.tick(force=True)  # health alerts travel too
        assert LiveFolder(tmp_path).read()["alerts"] == run.alerts()
        status = json.loads((tmp_path / LIVE / "status.json").read_text())
        assert status["pid"] == os.getpid() and math.isclose(status["heartbeat"], time.time(), abs_tol=60)
    finally:
        run.stop()


def test_not_a_live_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a live run folder"):
        LiveFolder(tmp_path).read()
    (tmp_path / LIVE).mkdir()
    (tmp_path / LIVE / "status.json").write_text('{"format": 99}')
    with pytest.raises(ValueError, match="format 1"):
        LiveFolder(tmp_path).read()


def test_the_history_is_read_incrementally_and_a_replaced_file_from_the_start(tmp_path):
    from gan_core.live_folder import CsvTail
    path = tmp_path / "history.csv"
    path.write_text("step,d_loss\n1,0.5\n2,0.6\n3,0.")  # the last line is still being written
    tail = CsvTail(path)
    cols, n = tail.read(100)
    assert n == 2 and cols["step"].tolist() == [1.0, 2.0]
    offset = tail.offset
    with open(path, "a") as f:
        f.write("7\n4,0.8\n")
    cols, n = tail.read(100)
    assert n == 4 and cols["d_loss"].tolist() == pytest.approx([0.5, 0.6, 0.7, 0.8])
    assert tail.offset > offset  # only the new bytes were parsed
    path.unlink()
    path.write_text("step,d_loss\n10,1.0\n")  # a new run in the folder: a new file
    cols, n = tail.read(100)
    assert n == 1 and cols["step"].tolist() == [10.0]


def test_watching_sessions_share_one_read_and_each_sees_a_stopped_trainer(tmp_path, monkeypatch):
    import ui.watch as watch
    from gan_core import Run
    from gan_core.presets import preset_config
    run = Run(preset_config("ring8", seed=0))
    writer = LiveWriter(tmp_path, run)
    for _ in range(3):
        run.step_once()
    run.start()
    writer.tick(force=True)
    run.stop(timeout=None)
    from ui.payload import Shared
    monkeypatch.setattr(watch, "_SHARED", Shared(keep=16))  # a cache of its own, counting from 0
    first = watch.watched_snapshot(tmp_path)
    second = watch.watched_snapshot(tmp_path)
    assert watch._SHARED.builds == 1 and watch._SHARED.hits == 1  # the files were read once for both
    assert first["history"] is second["history"] and first["live"]
    later = LiveFolder.aged(second, now=second["heartbeat"] + STALE_SECONDS + 1)  # the files never changed since
    assert later["state"] == "stopped" and "stopped writing" in later["message"]
