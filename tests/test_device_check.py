"""bench/device_check.sh, the one call a session lent a GPU makes: without CUDA it stops at once with a
clear line (exit 2); its plumbing and table run here on the CPU at a tiny size, so a GPU day is not lost to
a script bug."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "device_check.sh"


def _run(**env) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **env})


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the real check runs instead")
def test_without_cuda_it_says_so_and_exits_2():
    out = _run()
    assert out.returncode == 2 and "no CUDA device visible" in out.stderr


def test_a_dry_run_on_the_cpu_prints_the_table(tmp_path):
    out = _run(DEVICE_CHECK_DEVICE="cpu", DEVICE_CHECK_SIZES="4", DEVICE_CHECK_ITERS="1", DEVICE_CHECK_COMPILE="off",
               DEVICE_CHECK_RING8_STEPS="0", DEVICE_CHECK_TESTS="0", DEVICE_CHECK_WARMUP="0", GAN_PLAYGROUND_DATA=str(tmp_path), OUT=str(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| batch | reference img/s | eager img/s | compiled img/s |" in out.stdout
    assert "\n| 4 | " in out.stdout  # the bench row
    assert "eager vs compiled: skipped" in out.stdout  # (bench/compile_vs_eager.py: tests/test_compiled.py's path)
