"""Tests for gan_core.budget: runs whose fields are each valid but together cannot run are refused before
anything is allocated, with one line naming what to shrink; every preset fits; the estimate matches exact
parameter counts and, within a small factor, the memory one real training step takes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_core import budget
from gan_core.config import Config
from gan_core.models import build_models
from gan_core.presets import PRESETS, preset_config

ROOT = Path(__file__).resolve().parents[1]
GB = 10**9

# the two runs from the issue: every field valid, the combination hopeless
BIG_DCGAN = dict(dataset="digits", arch="dcgan", image_size=64, ngf=512, ndf=512, batch_size=8192)
BIG_MLP = dict(dataset="digits", arch="mlp", g_hidden=4096, d_hidden=4096, depth=8, batch_size=8192)


def cfg_of(**kw) -> Config:
    return Config().replace(**kw)


@pytest.mark.parametrize("kw, model_fields", [(BIG_DCGAN, "model.ngf/ndf"), (BIG_MLP, "model.g_hidden/d_hidden")],
                         ids=["dcgan64_ngf512_b8192", "mlp4096x8_b8192"])
def test_hopeless_runs_are_refused_naming_the_fields(kw, model_fields):
    cfg = cfg_of(**kw)
    shape = budget.data_shape_for(cfg)
    # memory: 3.1 GB free, as in the issue
    with pytest.raises(ValueError) as info:
        budget.check(cfg, shape, "cpu", free=int(3.1 * GB))
    msg = str(info.value)
    assert "\n" not in msg and "3.1 GB are free" in msg and model_fields in msg and "train.batch_size" in msg, msg
    # memory, with enough for the weights but not the activations: a batch size to try
    with pytest.raises(ValueError, match=r"lower train\.batch_size \(try \d+\)") as info:
        budget.check(cfg, shape, "cpu", free=40 * GB)
    assert model_fields in str(info.value)
    # time: even with unlimited memory one step would take far longer than the limit
    with pytest.raises(ValueError) as info:
        budget.check(cfg, shape, "cpu", free=10**15)
    msg = str(info.value)
    assert "\n" not in msg and "s on cpu (limit 20 s)" in msg, msg
    assert "train.batch_size (try" in msg and model_fields in msg
    # and with the real free memory of this machine (or none known): refused too
    with pytest.raises(ValueError, match="train.batch_size"):
        budget.check(cfg, shape, "cpu")


def test_hopeless_run_is_refused_quickly_and_allocates_nothing():
    import resource
    import time
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    est = budget.estimate(cfg_of(**BIG_DCGAN), (1, 64, 64))
    assert time.perf_counter() - t0 < 2.0
    assert est.parameters > 300_000_000 and est.step_bytes > 50 * GB  # counted, not allocated:
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB: < 200 MB of RSS growth


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_fits(name):
    cfg = preset_config(name)
    est = budget.check(cfg, budget.data_shape_for(cfg), "cpu")
    assert est.seconds_per_step < 2.0 and est.step_bytes < 1 * GB


@pytest.mark.parametrize("kw, shape", [
    (dict(dataset="ring8"), (2,)), (dict(dataset="gauss1d"), (1,)), (dict(dataset="digits"), (1, 8, 8)),
    (dict(dataset="digits", image_size=32, channels=3), (3, 32, 32)), (dict(dataset="mnist"), (1, 28, 28)),
    (dict(dataset="fashion_mnist", image_size=64), (1, 64, 64)), (dict(dataset="stacked_mnist"), (3, 28, 28)),
    (dict(dataset="folder", path="x.zip"), (3, 32, 32)),
    (dict(dataset="folder", path="x", image_size=64, channels=1), (1, 64, 64)),
])
def test_data_shape_without_loading(kw, shape):
    assert budget.data_shape_for(cfg_of(**kw)) == shape


def test_data_shape_matches_what_the_loaders_make(tmp_path):
    from gan_core.data import load_dataset
    from gan_core.data.images import load_folder
    for kw in (dict(dataset="ring8"), dict(dataset="gauss1d"), dict(dataset="digits"),
               dict(dataset="digits", image_size=16, channels=3)):
        cfg = cfg_of(**kw)
        data = load_dataset(cfg.data)
        got = tuple(data.shape) if not cfg.data.is_toy else (data.dim,)
        assert budget.data_shape_for(cfg) == got
    from PIL import Image
    Image.new("L", (10, 7), 3).save(tmp_path / "a.png")
    assert tuple(load_folder(tmp_path).shape) == budget.data_shape_for(cfg_of(dataset="folder", path=str(tmp_path)))


@pytest.mark.parametrize("kw", [
    dict(dataset="ring8"), dict(dataset="digits", conditional=True, d_norm="spectral", g_norm="batch"),
    dict(dataset="mnist", arch="dcgan", ngf=16, ndf=16, d_norm="spectral", conditional=True),
    dict(dataset="digits", arch="dcgan", image_size=32, upsample="resize", g_norm="batch", d_norm="batch"),
    dict(dataset="folder", path="x", arch="dcgan", image_size=64, ngf=8, ndf=8),
], ids=["mlp_toy", "mlp_cond_sn", "dcgan28_cond_sn", "dcgan32_resize_bn", "dcgan64"])
def test_parameter_count_is_exact(kw):
    cfg = cfg_of(**kw)
    shape = budget.data_shape_for(cfg)
    classes = budget.num_classes_for(cfg)
    torch.manual_seed(0)
    g, d = build_models(cfg.model, shape, classes, not cfg.data.is_toy)
    real = sum(p.numel() for p in g.parameters()) + sum(p.numel() for p in d.parameters())
    assert budget.estimate(cfg, shape).parameters == real


# one real step in a fresh interpreter: its peak RSS growth against the estimate (batch-dominated sizes)
_MEASURE = r"""
import json, sys, torch
from gan_core import budget
from gan_core.config import Config
from gan_core.data.images import ImageDataset
from gan_core.trainer import Trainer
cfg = Config().replace(**json.loads(sys.argv[1]))
shape = budget.data_shape_for(cfg)
ds = ImageDataset("x", torch.rand(256, *shape) * 2 - 1, torch.randint(0, 10, (256,)), 10, list("0123456789"))
tr = Trainer(cfg, ds)
def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak (VmHWM) to now: what came before the step must not count
now = status("VmRSS")
tr.step()
peak = status("VmHWM")
print(json.dumps({"growth": peak - now, "estimate": budget.estimate(cfg, shape).step_bytes}))
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_estimate_is_within_a_small_factor_of_measured_memory():
    kws = [dict(dataset="digits", g_hidden=256, d_hidden=256, depth=2, batch_size=4096),
           dict(dataset="mnist", arch="dcgan", ngf=32, ndf=32, g_norm="batch", d_norm="batch", batch_size=256,
                cpu_threads=1)]
    procs = [subprocess.Popen([sys.executable, "-c", _MEASURE, json.dumps(kw)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for kw in kws]
    for kw, p in zip(kws, procs):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        got = json.loads(out.strip().splitlines()[-1])
        assert got["growth"] > 40e6, got  # the step really needs memory: the comparison means something
        ratio = got["estimate"] / got["growth"]
        assert 1 / 3 <= ratio <= 3, (kw, got, ratio)


def test_free_memory_is_read_and_cuda_is_asked_when_used(monkeypatch):
    free = budget.free_bytes("cpu")
    if Path("/proc/meminfo").exists():
        assert free is not None and free > 0
    calls = []
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda dev=None: calls.append(dev) or (2 * GB, 80 * GB))
    assert budget.free_bytes("cuda") == 2 * GB and calls
    with pytest.raises(ValueError, match="2.0 GB are free on cuda"):
        budget.check(cfg_of(**BIG_MLP), (1, 8, 8), "cuda")


def test_messages_are_one_line_and_the_suggested_batch_fits():
    cfg = cfg_of(**{**BIG_MLP, "g_hidden": 1024, "d_hidden": 1024, "depth": 4})
    shape = budget.data_shape_for(cfg)
    free = int(budget.estimate(cfg, shape).step_bytes / 4 / budget.MEMORY_HEADROOM)
    with pytest.raises(ValueError) as info:
        budget.check(cfg, shape, "cpu", free=free, max_seconds=1e9)
    msg = str(info.value)
    b = int(msg.split("(try ")[1].split(")")[0])
    assert 1 <= b < cfg.train.batch_size
    budget.check(cfg.replace(batch_size=b), shape, "cpu", free=free, max_seconds=1e9)  # the advice works


def test_a_live_batch_size_change_counts_only_what_does_not_exist_yet():
    cfg = cfg_of(**{**BIG_MLP, "g_hidden": 1024, "d_hidden": 1024, "depth": 4, "batch_size": 64})
    shape = budget.data_shape_for(cfg)
    est = budget.estimate(cfg, shape)
    weights = est.param_bytes + est.grad_bytes + est.optimizer_bytes
    free = int((weights + est.activation_bytes) / budget.MEMORY_HEADROOM * 0.9)
    with pytest.raises(ValueError, match="GB|MB"):
        budget.check(cfg, shape, "cpu", free=free)  # building it all now would not fit
    budget.check(cfg, shape, "cpu", free=free, models_built=True, data_loaded=True)  # the weights exist already


def test_the_averaged_g_counts_as_one_more_copy_of_gs_weights():
    cfg = cfg_of(dataset="mnist", arch="dcgan", ngf=16, ndf=16)
    shape = budget.data_shape_for(cfg)
    g, _ = build_models(cfg.model, shape, budget.num_classes_for(cfg), True)
    g_bytes = (sum(p.numel() for p in g.parameters()) + sum(b.numel() for b in g.buffers())) * budget.FLOAT_BYTES
    plain, averaged = budget.estimate(cfg, shape), budget.estimate(cfg.replace(g_ema=0.999), shape)
    assert averaged.param_bytes - plain.param_bytes == g_bytes
    assert averaged.parameters == plain.parameters  # what trains is unchanged
