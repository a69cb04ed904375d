"""Runs that survive: start/stop cycling without leaks, divergence -> pause + roll back to the last good
snapshot, out of memory -> paused and usable, autosave, resume after a restart, and checkpoints that a
killed process never corrupts."""
from __future__ import annotations

import functools
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from gan_core.checkpoint import WEIGHTS_FILE, list_checkpoints, load_checkpoint
from gan_core.run import Run, stop_all
from gan_core.snapshots import SnapshotRing, weights_finite
from helpers_ui import run_threads, stopped_runs, wait_until  # noqa: F401  (stopped_runs: fixture)

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 30.0


pytestmark = pytest.mark.usefixtures("stopped_runs")  # no training thread outlives a test
wait_for = functools.partial(wait_until, timeout=TIMEOUT)


def ring8(**kw) -> Run:
    kw.setdefault("seed", 0)
    return Run.from_preset("ring8", **kw)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def poison_d(tr):
    with torch.no_grad():
        for p in tr.D.parameters():
            p.fill_(float("nan"))


# ---------------------------------------------------------------- start/stop cycles

@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads resident memory from /proc (Linux)")
def test_hundred_start_stop_cycles_leak_no_threads_or_memory():
    base_threads = threading.active_count()
    run = ring8(batch_size=64)
    for _ in range(10):  # warm up the allocator and the lazy imports before measuring
        run.start()
        run.stop()
    before = rss_mb()
    slowest = 0.0
    last_step = run.step
    for i in range(100):
        run.start()
        if i % 10 == 0:  # now and then let it really train before the stop
            wait_for(lambda: run.step > last_step, what="training to advance")
        t0 = time.perf_counter()
        run.stop()
        slowest = max(slowest, time.perf_counter() - t0)
        last_step = run.step
        assert len(run_threads()) == 0, f"cycle {i}: a training thread outlived stop()"
    growth = rss_mb() - before
    assert threading.active_count() <= base_threads
    assert slowest < 1.0, f"stop() took {slowest:.2f} s"
    assert growth < 50, f"resident memory grew by {growth:.1f} MB over 100 cycles"
    assert run.step > 0 and run.state == "stopped"


def test_stop_returns_within_a_second_during_slow_steps():
    run = Run.from_preset("digits", seed=0, batch_size=2048)  # ~tens of ms per step
    run.start()
    wait_for(lambda: run.step > 2, what="a few steps")
    t0 = time.perf_counter()
    run.stop()
    assert time.perf_counter() - t0 < 1.0
    wait_for(lambda: not run_threads(), timeout=5, what="the thread to end")


# ---------------------------------------------------------------- divergence and roll back

def test_divergence_pauses_and_rolls_back_to_the_last_good_snapshot():
    run = ring8(snapshot_every=50)
    run.start()
    wait_for(lambda: run.snapshots.latest_step is not None and run.snapshots.latest_step >= 100,
             what="a snapshot past step 100")
    run.pause()
    run.call_in_loop(poison_d)
    good = run.snapshots.latest_step
    run.start()
    wait_for(lambda: run.state == "paused", what="the run to pause itself")
    snap = run.snapshot(visual=False)
    assert snap["diverged_at"] is not None and snap["diverged_at"] > good
    assert snap["rollback_step"] == good
    assert f"last good snapshot is step {good:,}" in snap["message"]
    alert = next(a for a in snap["alerts"] if a.kind == "divergence")
    assert "Roll back" in alert.remedy and "learning rate" in alert.remedy
    assert not weights_finite(run.trainer)

    assert run.rollback() == good
    assert run.step == good and weights_finite(run.trainer)
    snap = run.snapshot(visual=False)
    assert snap["diverged_at"] is None and not any(a.kind == "divergence" for a in snap["alerts"])
    assert snap["history"]["step"].max() <= good
    assert run.state == "paused"
    run.set(lr_g=5e-4, lr_d=5e-4)  # the remedy: lower learning rates, then go on
    run.start()
    wait_for(lambda: run.step > good + 100, what="training to go on after the roll back")
    run.pause()
    wait_for(lambda: run.history.n and run.latest()["step"] > good + 100, what="flushed rows")
    assert math.isfinite(run.latest()["d_loss"]) and run.state == "paused"
    assert run.trainer.opt_g.param_groups[0]["lr"] == pytest.approx(5e-4 * run.trainer.lr_factor(), rel=0.05)


def test_snapshots_refuse_non_finite_weights_and_restore_exactly():
    run = ring8()
    ring = SnapshotRing(keep=2)
    run.step_once()
    assert ring.take(run.trainer)
    w = [p.detach().clone() for p in run.trainer.G.parameters()]
    step = run.step
    for _ in range(5):
        run.step_once()
    poison_d(run.trainer)
    assert not ring.take(run.trainer) and len(ring) == 1
    assert ring.restore_latest(run.trainer) == step
    assert all(torch.equal(a, b) for a, b in zip(w, run.trainer.G.parameters()))
    run.step_once()  # the restored optimiser state is not shared with the snapshot
    assert ring.restore_latest(run.trainer) == step
    assert all(torch.equal(a, b) for a, b in zip(w, run.trainer.G.parameters()))


def test_rollback_without_snapshot_is_a_clear_error():
    run = ring8()
    run.snapshots.clear()
    with pytest.raises(RuntimeError, match="no good snapshot"):
        run.rollback()


# ---------------------------------------------------------------- out of memory

def test_out_of_memory_pauses_with_advice_and_the_run_stays_usable():
    run = ring8()
    run.step_once()
    real_step = run.trainer.step

    def oom(which="both"):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    run.trainer.step = oom
    run.start()
    wait_for(lambda: run.state == "paused", what="the run to pause on OOM")
    assert "Out of memory" in run.message and "batch size 256" in run.message and "try 128" in run.message
    with pytest.raises(RuntimeError, match="Out of memory"):
        run.step_once()
    assert run.state == "paused"
    run.trainer.step = real_step
    run.set(batch_size=128)
    before = run.step
    run.start()
    wait_for(lambda: run.step > before + 10, what="training after the OOM")
    run.stop()
    assert run.state == "stopped"


def test_out_of_memory_while_drawing_pauses_instead_of_failing():
    run = ring8()
    run.step_once()

    def oom_visual(now):
        raise RuntimeError("CUDA out of memory. Tried to allocate 8.00 GiB")

    run._make_visual = oom_visual
    run.snapshot()  # a page asks for pictures
    run.start()
    wait_for(lambda: run.state != "running", what="the run to stop on the OOM")
    assert run.state == "paused" and "Out of memory" in run.message
    del run._make_visual
    run.start()
    wait_for(lambda: run.step > 20, what="training after the OOM")


# ---------------------------------------------------------------- autosave and resume

def test_autosave_writes_checkpoints_while_training(tmp_path):
    run = Run(ring8().config.replace(autosave_minutes=0.002), autosave_dir=tmp_path / "auto")  # every 0.12 s
    run.start()
    wait_for(lambda: (tmp_path / "auto" / WEIGHTS_FILE).exists(), what="an autosave")
    wait_for(lambda: run.saved_step is not None and run.saved_step > 0, what="a recorded save")
    run.stop()
    ck = load_checkpoint(tmp_path / "auto")
    assert 0 < ck.step <= run.step and ck.meta["run_id"] == run.id


def test_no_autosave_when_off_and_stop_all_saves_unsaved_progress(tmp_path):
    off = Run(ring8().config.replace(autosave_minutes=0.0), autosave_dir=tmp_path / "off")
    on = Run(ring8().config.replace(autosave_minutes=60.0), autosave_dir=tmp_path / "on")
    for r in (off, on):
        r.start()
    wait_for(lambda: off.step > 50 and on.step > 50, what="both runs to train")
    stop_all()  # what the app does at exit (atexit, SIGTERM, Ctrl+C)
    assert not (tmp_path / "off").exists()
    assert load_checkpoint(tmp_path / "on").step == on.step


def test_a_run_resumes_after_a_restart_from_its_folder(tmp_path):
    run = Run(ring8().config, autosave_dir=tmp_path / "r1")
    run.start()
    wait_for(lambda: run.step > 200, what="training")
    run.stop()
    run.save()
    listed = list_checkpoints(tmp_path)
    assert [e["run_id"] for e in listed] == [run.id] and listed[0]["step"] == run.step
    assert listed[0]["dataset"] == "ring8"
    back = Run.from_checkpoint(tmp_path / "r1")
    assert back.id == run.id and back.step == run.step and back.history.n == run.history.n
    before = run.latest()["steps_per_s"]
    back.start()
    wait_for(lambda: back.latest()["step"] > run.step + 100, what="the resumed run to train")
    after = back.latest()["steps_per_s"]
    assert 0 < after < 3 * before, (before, after)  # speed counts from the restored step, not from 0


def test_list_checkpoints_marks_unreadable_folders(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / WEIGHTS_FILE).write_bytes(b"not safetensors at all")
    (tmp_path / "empty").mkdir()
    listed = list_checkpoints(tmp_path)
    assert len(listed) == 1 and "unreadable" in listed[0]["error"]
    assert list_checkpoints(tmp_path / "absent") == []


SAVER = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
from gan_core.run import Run
run = Run.from_preset("digits", seed=0)
i = 0
print("ready", flush=True)
while True:
    run.step_once()
    run.save(sys.argv[1])
    i += 1
    print(run.step, flush=True)
"""


def test_killing_the_process_mid_save_never_corrupts_the_checkpoint(tmp_path):
    out = tmp_path / "ck"
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    steps_seen = []
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, str(script), str(out), str(ROOT)], stdout=subprocess.PIPE,
                                text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            for _ in range(2 + attempt):  # a few completed saves, then die at a random moment of the next
                steps_seen.append(int(proc.stdout.readline()))
            time.sleep(0.003 * attempt)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        ck = load_checkpoint(out)  # never torn: the old file or the new one
        assert ck.step >= 1 and ck.config.data.dataset == "digits"
        assert ck.tensors["G/net.0.weight"].isfinite().all() if "G/net.0.weight" in ck.tensors else True
    assert steps_seen and load_checkpoint(out).step in range(1, max(steps_seen) + 2)
    # leftovers from killed saves are never read and are cleaned up by a later save
    for tmp in out.glob(".*.tmp"):
        os.utime(tmp, (0, 0))
    run = Run.from_checkpoint(out)
    run.save(out)
    assert not list(out.glob(".*.tmp"))
