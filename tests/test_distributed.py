"""Data-parallel training under torchrun: two gloo processes on this CPU (gan_core.distributed).

- every family's networks stay identical in both processes while they draw different data (DDP averages the
  gradients), BEGAN is refused with the reason;
- the loss curve of 2 processes follows 1 process at the same global batch: every 100-step window mean of
  D's and G's loss within LOSS_TOLERANCE (measured: <= 0.006 apart; two single-process seeds differ by ~0.02);
- rank 0's checkpoint resumes in one process and in the app (watched, then taken over);
- a killed worker ends the run: rank 0 says why in one line and saves the last finished step.
"""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gan_core import distributed
from gan_core.presets import preset_config

ROOT = Path(__file__).resolve().parents[1]
LOSS_TOLERANCE = 0.03
WINDOW = 100


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def torchrun(*args, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env(), cwd=ROOT, **kw)


def cli(*args, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gan_core", *args], capture_output=True, text=True,
                          timeout=timeout, env=_env(), cwd=ROOT)


def _json_lines(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _windows(folder: Path, column: str) -> list:
    with open(folder / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    sums: dict = {}
    for row in rows:
        w = (int(row["step"]) - 1) // WINDOW
        sums.setdefault(w, []).append(float(row[column]))
    return [sum(v) / len(v) for _, v in sorted(sums.items())]


def _single_process_windows(steps: int) -> dict:
    from gan_core.metrics import STEP_METRICS
    from gan_core.trainer import Trainer
    tr = Trainer(preset_config("ring8", seed=0))
    rows = [tr.step().tolist() for _ in range(steps)]
    out = {}
    for column in ("d_loss", "g_loss"):
        j = STEP_METRICS.index(column)
        out[column] = [sum(r[j] for r in rows[w:w + WINDOW]) / WINDOW for w in range(0, steps, WINDOW)]
    return out


# ---- without processes -------------------------------------------------------------------------------------
def test_the_global_batch_is_split_and_must_divide():
    ctx = distributed.Context(rank=1, world=2, local_rank=1, local_world=2, backend="gloo")
    cfg = preset_config("ring8")
    assert ctx.local_config(cfg).train.batch_size == cfg.train.batch_size // 2
    with pytest.raises(ValueError, match=r"train.batch_size = 15 must be a multiple of the 2 processes"):
        ctx.local_config(cfg.replace(batch_size=15))


def test_each_process_gets_every_world_th_image():
    import torch
    from gan_core.data.images import ImageDataset
    data = ImageDataset("x", torch.arange(10.0).view(10, 1, 1, 1), torch.arange(10), 10)
    one = distributed.shard(data, 1, 3)
    assert one.images.flatten().tolist() == [1.0, 4.0, 7.0] and one.labels.tolist() == [1, 4, 7]
    assert distributed.shard(data, 0, 1) is data
    with pytest.raises(ValueError, match="fewer than the 11 processes"):
        distributed.shard(data, 0, 11)


def test_a_lost_peer_is_told_apart_from_a_bug_of_the_step():
    assert distributed.is_lost_peer(RuntimeError("[gloo/transport/tcp/pair.cc:553] Connection closed by peer"))
    assert not distributed.is_lost_peer(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


# ---- two gloo processes ------------------------------------------------------------------------------------
def test_every_family_keeps_identical_weights_in_both_processes():
    presets = ["ring8", "digits_cgan", "digits_acgan", "digits_infogan", "ring8_unrolled", "grid25_pacgan",
               "cycle_toy", "digits_began"]
    out = torchrun(str(ROOT / "tests" / "ddp_families.py"), *presets)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = {r["preset"]: r for r in _json_lines(out.stdout)}
    assert sorted(lines) == sorted(presets)
    assert "began" in lines.pop("digits_began")["refused"]
    for name, r in lines.items():
        assert r["local_batch"] == 8, name  # batch_size 16 over 2 processes
        assert r["weights_max_diff"] == 0.0, name
        assert r["weights_moved"] > 1e-4, name  # they trained
        assert not r["same_batch"], name  # on different data


def test_two_processes_follow_one_and_their_checkpoint_resumes(tmp_path, monkeypatch):
    steps = "600"
    two = tmp_path / "runs" / "ddp-ring8"
    out = torchrun("-m", "gan_core", "train", "--preset", "ring8", "--steps", steps, "--seed", "0",
                   "--out", str(two), "--quiet")
    assert out.returncode == 0, out.stderr[-3000:]
    (result,) = _json_lines(out.stdout)  # rank 0 alone prints
    assert result["processes"] == 2 and result["step"] == 600 and result["state"] == "finished"
    single = _single_process_windows(int(steps))  # the same preset, seed and global batch in one process
    for column in ("d_loss", "g_loss"):
        a, b = single[column], _windows(two, column)
        assert len(a) == len(b) == 6
        assert max(abs(x - y) for x, y in zip(a, b)) < LOSS_TOLERANCE, (column, a, b)
    written = json.loads((two / "live" / "status.json").read_text())
    assert written["step"] == 600  # rank 0 wrote the live files
    assert written["controllable"] is False  # the app's pause of rank 0 alone would stall rank 1: not offered

    resumed = cli("train", "--resume", str(two), "--steps", "20", "--quiet")  # in one process
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["step"] == 620

    # in the app: the runs directory holds the folder; watch it, then take it over as a local run
    monkeypatch.setenv("GAN_PLAYGROUND_RUNS", str(tmp_path / "runs"))
    from helpers_ui import new_session, rendered
    from ui.runs import get_registry, release_registry
    release_registry()
    try:
        at = new_session()
        at.query_params["watch"] = "ddp-ring8"
        rendered(at)
        assert [m.value for m in at.metric if m.label == "Step"] == ["600"]  # (the resume above did not save)
        at.button(key="watch_take_over").click()
        rendered(at)
        assert get_registry().current().step == 600
    finally:
        release_registry()


def test_a_killed_worker_ends_the_run_with_a_clear_message(tmp_path):
    folder = tmp_path / "killed"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "gan_core",
           "train", "--preset", "ring8", "--steps", "1000000", "--out", str(folder), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    try:
        status = folder / "live" / "status.json"
        deadline = time.time() + 40
        while time.time() < deadline:
            try:
                if json.loads(status.read_text())["step"] >= 100:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the two processes never reached step 100")
        workers = [p for p in _children(proc.pid) if _rank(p) == "1"]
        assert len(workers) == 1
        os.kill(workers[0], signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    said = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(said) == 1, stderr[-3000:]
    assert "another" in said[0] and "saved step" in said[0] and f"--resume {folder}" in said[0]
    assert not _json_lines(stdout)
    step = int(re.search(r"saved step ([0-9,]+)", said[0]).group(1).replace(",", ""))
    assert step >= 100
    resumed = cli("train", "--resume", str(folder), "--steps", "5", "--quiet")  # the last finished step
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["step"] == step + 5


def _children(pid: int) -> list:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def _rank(pid: int):
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"RANK="):
            return item[5:].decode()
    return None


def test_a_torchrun_resume_reads_the_device_from_the_header_only(tmp_path, monkeypatch):
    """Every process of a resumed torchrun run needs the checkpoint's device before it joins the group: read
    from the header, the tensors are loaded once (by the resume itself)."""
    import argparse
    from gan_core import checkpoint, cli, distributed
    from gan_core.presets import preset_config
    from gan_core.run import Run
    run = Run(preset_config("gauss1d", device="cpu"))
    run.step_once()
    run.save(tmp_path / "r")
    run.stop()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(checkpoint, "load_checkpoint", lambda *a, **k: pytest.fail("tensors read to find the device"))
    monkeypatch.setattr(distributed, "from_env", lambda device: ("joined", device))
    args = argparse.Namespace(device=None, resume=str(tmp_path / "r"))
    assert cli._join_torchrun(args, None) == ("joined", "cpu")
    with pytest.raises(cli.CliError, match="--resume"):
        cli._join_torchrun(argparse.Namespace(device=None, resume=str(tmp_path / "nothing")), None)
