"""Tests for gan_core.bench (the 64x64 DCGAN speed benchmark) and ``python -m gan_core bench``, on the CPU
with tiny batches and one or two iterations: the reference models are pytorch/examples' DCGAN, gan_core's
64 px DCGAN is the same network, every loop trains and reports a speed, and bad arguments fail in one line."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_core import bench
from gan_core.bench import (RefDiscriminator, RefGenerator, architecture_check, eager_config, format_table,
                            load_bench_images, parse_int_list, playground_eager, reference_loop, run_bench,
                            weights_init)
from gan_core.cli import main
from gan_core.models import build_models

ROOT = Path(__file__).resolve().parents[1]
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"


def examples_counts(nc: int, nz: int = 100, ngf: int = 64, ndf: int = 64) -> tuple[int, int]:
    """Parameters of pytorch/examples' netG and netD, counted by hand: 4x4 kernels, no conv biases,
    two BatchNorm parameters per channel (G: ngf*8, *4, *2, *1; D: ndf*2, *4, *8)."""
    g = 16 * (nz * ngf * 8 + ngf * 8 * ngf * 4 + ngf * 4 * ngf * 2 + ngf * 2 * ngf + ngf * nc) + 2 * 15 * ngf
    d = 16 * (nc * ndf + ndf * ndf * 2 + ndf * 2 * ndf * 4 + ndf * 4 * ndf * 8 + ndf * 8) + 2 * 14 * ndf
    return g, d


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture
def images():
    return torch.rand(16, 1, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1


@pytest.fixture
def keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("nc, g_params, d_params", [(1, 3_574_656, 2_763_520), (3, 3_576_704, 2_765_568)])
def test_reference_models_have_the_pytorch_examples_parameter_counts(nc, g_params, d_params):
    assert examples_counts(nc) == (g_params, d_params)  # the hand count agrees with the literals
    assert count(RefGenerator(nc=nc)) == g_params
    assert count(RefDiscriminator(nc=nc)) == d_params


def test_reference_models_shapes_and_init():
    torch.manual_seed(0)
    g, d = RefGenerator(), RefDiscriminator()
    g.apply(weights_init)
    d.apply(weights_init)
    x = g(torch.randn(3, 100, 1, 1))  # (B, nz, 1, 1) -> (B, 1, 64, 64)
    assert x.shape == (3, 1, 64, 64) and x.abs().max() <= 1
    p = d(x)
    assert p.shape == (3,) and ((p > 0) & (p < 1)).all()
    conv = g.main[3].weight.detach()
    assert abs(float(conv.mean())) < 1e-3 and abs(float(conv.std()) - 0.02) < 1e-3
    bn_w, bn_b = d.main[3].weight.detach(), d.main[3].bias.detach()
    assert abs(float(bn_w.mean()) - 1.0) < 0.01 and float(bn_b.abs().max()) == 0.0


@pytest.mark.parametrize("nc", [1, 3])
def test_gan_core_dcgan64_is_the_reference_architecture(nc):
    check = architecture_check(nc)
    assert check["same_architecture"] and check["same_shapes"]
    assert (check["gan_core_g"], check["gan_core_d"]) == examples_counts(nc)
    assert (check["reference_g"], check["reference_d"]) == examples_counts(nc)


def test_gan_core_dcgan64_computes_the_same_function_as_the_reference():
    """With the reference's weights copied in (same order), G gives the same images and gan_core's D gives
    the reference's probabilities before its Sigmoid."""
    torch.manual_seed(0)
    ref_g, ref_d = RefGenerator(), RefDiscriminator()
    ref_g.apply(weights_init)
    ref_d.apply(weights_init)
    g, d = build_models(eager_config(4).model, (1, 64, 64), 0, True)
    for ours, theirs in ((g, ref_g), (d, ref_d)):
        with torch.no_grad():
            for a, b in zip(list(ours.parameters()) + list(ours.buffers()),
                            list(theirs.parameters()) + list(theirs.buffers())):
                a.copy_(b)
    z = torch.randn(4, 100)
    with torch.no_grad():  # train mode: BatchNorm uses batch statistics in both
        x = g(z)
        assert torch.allclose(x, ref_g(z[:, :, None, None]), atol=1e-5)
        assert torch.allclose(torch.sigmoid(d(x)), ref_d(x), atol=1e-5)


def test_eager_config_matches_the_reference_settings():
    cfg = eager_config(64, "cpu", seed=3)
    m, t, l, dcfg = cfg.model, cfg.train, cfg.loss, cfg.data
    assert (m.arch, m.z_dim, m.ngf, m.ndf, m.g_norm, m.d_norm, m.upsample) == \
        ("dcgan", 100, 64, 64, "batch", "batch", "transposed")
    assert (t.optimizer, t.lr_g, t.lr_d, t.beta1, t.beta2, t.d_steps, t.batch_size, t.seed) == \
        ("adam", 2e-4, 2e-4, 0.5, 0.999, 1, 64, 3)
    assert l.loss == "non_saturating" and l.label_smoothing == 0 and l.instance_noise == 0 and l.r1_gamma == 0
    assert (dcfg.image_size, dcfg.channels) == (64, 1)


def test_reference_loop_trains_and_records_the_example_numbers(images):
    record = []
    rate = reference_loop(images, 4, 2, "cpu", seed=0, warmup=1, record=record)
    assert rate > 0 and math.isfinite(rate)
    assert len(record) == 3  # warm-up steps are recorded too
    for err_d, err_g, d_x, d_g_z1, d_g_z2 in record:
        assert math.isfinite(err_d) and math.isfinite(err_g) and err_d > 0 and err_g > 0
        assert all(0.0 <= v <= 1.0 for v in (d_x, d_g_z1, d_g_z2))
    again = []
    reference_loop(images, 4, 2, "cpu", seed=0, warmup=1, record=again)
    assert again == record  # seeded: the same numbers on the CPU


def test_reference_loop_crosses_epochs_and_logs_like_the_example(images):
    record, lines = [], []
    reference_loop(images, 8, 4, "cpu", seed=1, warmup=1, record=record, log=lines.append)  # 2 batches/epoch
    assert len(record) == len(lines) == 5
    assert lines[0].startswith("[0/3][0/2] Loss_D: ") and lines[-1].startswith("[2/3][0/2] Loss_D: ")
    assert lines[0].endswith("%.4f / %.4f" % record[0][3:])


def test_playground_eager_reports_a_speed(images, keep_threads):
    rate = playground_eager(images, 4, 2, "cpu", seed=0, warmup=1, threads=1)
    assert rate > 0 and math.isfinite(rate)


def test_run_bench_on_cpu(images, keep_threads):
    torch.set_num_threads(1)
    result = run_bench((4, 8), iters=1, device="cpu", data=images, warmup=1, threads=2)
    assert torch.get_num_threads() == 1  # restored
    assert result["device"] == "cpu" and result["threads"] == 2 and result["architecture"]["same_architecture"]
    assert [r["batch_size"] for r in result["rows"]] == [4, 8]
    for r in result["rows"]:
        assert r["reference"] > 0 and r["eager"] > 0
        assert r["fast"] is None and r["fast_note"].startswith("n/a (compiled path not measured")
        assert r["eager_vs_reference"] == pytest.approx(r["eager"] / r["reference"])
    json.dumps(result, allow_nan=False)  # JSON-able as it is
    table = format_table(result)
    assert "n/a (compiled path not measured" in table and "same as pytorch/examples" in table
    assert len(table.splitlines()) == 4 + 2


def test_run_bench_repeats_take_turns_and_keep_the_best(monkeypatch, images):
    calls = []
    speeds = iter([1.0, 5.0, 3.0, 2.0])
    monkeypatch.setattr(bench, "reference_loop", lambda *a, **k: calls.append("ref") or next(speeds))
    monkeypatch.setattr(bench, "playground_eager", lambda *a, **k: calls.append("eager") or next(speeds))
    (row,) = run_bench((4,), iters=1, device="cpu", data=images, repeats=2)["rows"]
    assert calls == ["ref", "eager", "ref", "eager"]
    assert row["reference_all"] == [1.0, 3.0] and row["eager_all"] == [5.0, 2.0]
    assert (row["reference"], row["eager"]) == (3.0, 5.0)


def test_run_bench_rejects_bad_settings(images):
    with pytest.raises(ValueError, match="batch size 32"):
        run_bench((32,), iters=1, device="cpu", data=images)
    with pytest.raises(ValueError, match="one per batch size"):
        run_bench((4, 8), iters=[1, 2, 3], device="cpu", data=images)
    with pytest.raises(ValueError, match="iters"):
        run_bench((4,), iters=0, device="cpu", data=images)
    with pytest.raises(ValueError, match="repeats"):
        run_bench((4,), iters=1, device="cpu", data=images, repeats=0)
    with pytest.raises(ValueError, match="images must be"):
        run_bench((4,), iters=1, device="cpu", data=torch.zeros(8, 1, 28, 28))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            run_bench((4,), iters=1, device="cuda", data=images)


def test_iteration_counts_default_per_device_and_per_batch(monkeypatch, images):
    seen = []
    monkeypatch.setattr(bench, "reference_loop", lambda d, b, n, *a, **k: seen.append((b, n)) or 1.0)
    monkeypatch.setattr(bench, "playground_eager", lambda d, b, n, *a, **k: 2.0)
    rows = run_bench((4, 8), device="cpu", data=images)["rows"]
    assert seen == [(4, bench.DEFAULT_ITERS["cpu"]), (8, bench.DEFAULT_ITERS["cpu"])]
    assert rows[0]["eager_vs_reference"] == 2.0
    seen.clear()
    run_bench((4, 8), iters=[3, 1], device="cpu", data=images)
    assert seen == [(4, 3), (8, 1)]


def test_random_images_when_no_mnist(tmp_path):
    x, note = load_bench_images(str(tmp_path), min_images=32)
    assert x.shape == (32, 1, 64, 64) and x.min() >= -1 and x.max() <= 1
    assert note.startswith("RANDOM") and "--data-dir" in note
    with pytest.raises(ValueError, match="not a directory"):
        load_bench_images(str(tmp_path / "missing"))


@pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(), reason="no MNIST test set here")
def test_real_mnist_resized_to_64():
    x, note = load_bench_images(str(MNIST_DIR), max_images=50)
    assert x.shape == (50, 1, 64, 64) and float(x.min()) == -1.0 and float(x.max()) > 0.9
    assert note.startswith("MNIST (50 images")


def test_parse_int_list():
    assert parse_int_list("64,128,512", "--batch-sizes") == [64, 128, 512]
    for bad in ("", "64,", "x", "0", "64;128", "1e3", "9000"):
        with pytest.raises(ValueError, match="--batch-sizes"):
            parse_int_list(bad, "--batch-sizes")


# ---------------------------------------------------------------- command line

@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """The real entry points as subprocesses, started together (each pays a torch import)."""
    empty = tmp_path_factory.mktemp("nodata")
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "GAN_PLAYGROUND_DATA": str(empty)}
    cmds = {
        "ok": [sys.executable, "-m", "gan_core", "bench", "--device", "cpu", "--batch-sizes", "4",
               "--iters", "1", "--warmup", "1", "--threads", "1"],
        "script_bad": [sys.executable, str(ROOT / "bench" / "dcgan_speed.py"), "--batch-sizes", "64,abc"],
    }
    procs = {k: subprocess.Popen(v, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, v in cmds.items()}
    out = {}
    try:
        for k, p in procs.items():
            stdout, stderr = p.communicate(timeout=180)
            out[k] = (p.returncode, stdout, stderr)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    return out


def test_cli_bench_prints_a_table_and_a_json_line(cli_runs):
    rc, stdout, stderr = cli_runs["ok"]
    assert rc == 0, stderr
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    assert len(lines) == 1
    res = json.loads(lines[0])
    assert res["device"] == "cpu" and res["threads"] == 1 and res["repeats"] == 1
    assert res["data"].startswith("RANDOM")
    (row,) = res["rows"]
    assert row["batch_size"] == 4 and row["iters"] == 1 and row["reference"] > 0 and row["eager"] > 0
    assert row["fast"] is None and row["fast_note"].startswith("n/a (compiled path not measured")
    assert "reference img/s" in stderr and "n/a (compiled path not measured" in stderr and "Traceback" not in stderr


def test_script_bad_batch_sizes_one_line(cli_runs):
    rc, stdout, stderr = cli_runs["script_bad"]
    assert rc == 2 and stdout == ""
    assert stderr.strip().splitlines() == ["error: --batch-sizes = '64,abc' must be comma-separated integers "
                                           "in [1, 8192], e.g. 64,128,512"]


@pytest.mark.parametrize("args, code, needle", [
    (["--batch-sizes", "64,x"], 2, "--batch-sizes"),
    (["--batch-sizes", "0"], 2, "--batch-sizes"),
    (["--batch-sizes", ""], 2, "--batch-sizes"),
    (["--iters", "ten"], 2, "--iters"),
    (["--batch-sizes", "4,8", "--iters", "1,2,3"], 2, "one per batch size"),
    (["--warmup", "-1"], 2, "--warmup"),
    (["--threads", "999"], 2, "--threads"),
    (["--repeats", "0"], 2, "--repeats"),
    (["--device", "tpu"], 2, "tpu"),
    (["--batch-sizes", "4", "--iters", "1", "--data-dir", "/nonexistent/dir"], 1, "not a directory"),
])
def test_cli_bench_bad_arguments_fail_with_one_line(capsys, args, code, needle):
    assert main(["bench", *args]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
