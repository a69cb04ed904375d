"""GPU checks for the DCGAN speed benchmark (gan_core.bench); every test is skipped without CUDA.

On a GPU machine: ``python -m pytest -q tests/test_gpu.py``. They run the benchmark at a small size on
``cuda`` (both loops finish and report a speed), train the playground's 64 px DCGAN for 50 steps from a
seed and check every loss is finite, and check the reference loop's logged numbers on the GPU.
"""
from __future__ import annotations

import math

import pytest
import torch

from gan_core.bench import eager_config, reference_loop, run_bench
from gan_core.data.images import ImageDataset
from gan_core.metrics import STEP_METRICS
from gan_core.trainer import Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture
def images():
    return torch.rand(64, 1, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1


def test_bench_runs_on_cuda(images):
    result = run_bench((8, 16), iters=5, device="cuda", data=images, warmup=2)
    assert result["device"].startswith("cuda") and result["architecture"]["same_architecture"]
    for row in result["rows"]:
        assert row["reference"] > 0 and math.isfinite(row["reference"])
        assert row["eager"] > 0 and math.isfinite(row["eager"])
        assert row["fast"] > 0 and row["fast_note"] == "compiled"  # on CUDA the compiled step is measured too


def test_eager_trainer_first_50_losses_are_finite_on_cuda(images):
    trainer = Trainer(eager_config(16, "cuda", seed=0), ImageDataset("mnist", images, None, 0))
    assert trainer.device.type == "cuda" and next(trainer.G.parameters()).is_cuda
    rows = torch.stack([trainer.step() for _ in range(50)]).cpu()  # (50, len(STEP_METRICS))
    for name in ("d_loss", "d_loss_real", "d_loss_fake", "g_loss"):
        column = rows[:, STEP_METRICS.index(name)]
        assert torch.isfinite(column).all(), name
    assert (rows[:, STEP_METRICS.index("finite")] == 1).all()
    assert trainer.step_count == 50


def test_reference_loop_on_cuda_logs_finite_numbers(images):
    record = []
    cudnn_before = torch.backends.cudnn.benchmark
    rate = reference_loop(images, 16, 10, "cuda", seed=0, warmup=2, record=record)
    assert torch.backends.cudnn.benchmark == cudnn_before  # the example's setting is restored afterwards
    assert rate > 0 and len(record) == 12
    for err_d, err_g, d_x, d_g_z1, d_g_z2 in record:
        assert math.isfinite(err_d) and math.isfinite(err_g)
        assert all(0.0 <= v <= 1.0 for v in (d_x, d_g_z1, d_g_z2))
