"""``python -m gan_core evaluate --run DIR``: one JSON line of sample-quality metrics for a saved run.

Checked in-process through gan_core.cli.main (plus one real subprocess): a ring8 checkpoint whose
generator puts every sample on one mode (known answers: 1 mode, all high-quality, zero spread), a digits
checkpoint (classifier-space metrics), a pickle posing as a checkpoint (refused, never unpickled), a bad
--samples and a missing folder (one-line errors).
"""
from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_core import cli
from gan_core.presets import preset_config
from gan_core.run import Run, stop_all

ROOT = Path(__file__).resolve().parents[1]
MODE3 = (2 * math.cos(3 * math.pi / 4), 2 * math.sin(3 * math.pi / 4))  # ring8 mean i = 3: (-sqrt2, sqrt2)


@pytest.fixture(autouse=True)
def _no_threads():
    yield
    stop_all(timeout=None)


@pytest.fixture(scope="module")
def ring8_dir(tmp_path_factory) -> Path:
    """5 training steps, then G's last layer set to output exactly ring8 mode 3 for every z."""
    run = Run(preset_config("ring8", batch_size=32))
    for _ in range(5):
        run.trainer.step()
    last = run.trainer.G.net[-1]
    assert isinstance(last, torch.nn.Linear)
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor(MODE3))
    out = tmp_path_factory.mktemp("evaluate") / "ring8"
    run.save(out)
    return out


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory) -> Path:
    run = Run(preset_config("digits", batch_size=16))
    for _ in range(3):
        run.trainer.step()
    out = tmp_path_factory.mktemp("evaluate") / "digits"
    run.save(out)
    return out


def evaluate(capsys, *args) -> tuple[int, str, str]:
    rc = cli.main(["evaluate", *args])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def one_json_line(out: str) -> dict:
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return json.loads(lines[0])


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_ring8_checkpoint_known_answers(ring8_dir, capsys):
    rc, out, err = evaluate(capsys, "--run", str(ring8_dir), "--quiet")
    assert rc == 0, err
    assert err == ""  # --quiet
    r = one_json_line(out)
    assert {"modes_covered", "hq_fraction", "spread_ratio", "step"} <= set(r)
    assert r["step"] == 5 and r["dataset"] == "ring8" and r["samples"] == 2500 and r["modes_total"] == 8
    assert r["modes_covered"] == 1 and isinstance(r["modes_covered"], int)
    assert r["hq_fraction"] == 1.0  # every sample is exactly on mode 3
    assert r["spread_ratio"] == 0.0
    assert r["fake_mean"] == pytest.approx(list(MODE3), abs=1e-6) and r["fake_std"] == pytest.approx([0, 0], abs=1e-6)
    # the real ring: mean 0, per-coordinate std sqrt(mean of 4cos^2) = sqrt(2)
    assert r["real_mean"] == pytest.approx([0, 0], abs=0.1)
    assert r["real_std"] == pytest.approx([math.sqrt(2)] * 2, abs=0.05)


def test_samples_flag_sets_the_sample_count(ring8_dir, capsys):
    rc, out, err = evaluate(capsys, "--run", str(ring8_dir), "--samples", "10", "--quiet")
    assert rc == 0, err
    assert one_json_line(out)["samples"] == 10


def test_evaluate_as_a_subprocess(ring8_dir):
    proc = subprocess.run([sys.executable, "-m", "gan_core", "evaluate", "--run", str(ring8_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    r = one_json_line(proc.stdout)
    assert (r["modes_covered"], r["hq_fraction"], r["spread_ratio"], r["step"]) == (1, 1.0, 0.0, 5)
    assert "Traceback" not in proc.stderr
    assert "100.0%" in proc.stderr  # progress goes to stderr without --quiet, never to stdout


def test_digits_checkpoint_reports_classifier_metrics(digits_dir, capsys):
    rc, out, err = evaluate(capsys, "--run", str(digits_dir), "--samples", "200", "--quiet")
    assert rc == 0, err
    r = one_json_line(out)
    keys = {"fid", "fid_floor", "inception_score", "precision", "recall", "density", "coverage", "classes_covered"}
    assert keys <= set(r), sorted(r)
    assert r["step"] == 3 and r["dataset"] == "digits" and r["classifier"] == "digits" and r["samples"] == 200
    assert all(isinstance(r[k], (int, float)) and math.isfinite(r[k]) for k in keys), {k: r[k] for k in keys}
    assert 0 <= r["fid_floor"] < r["fid"]  # 3 steps of training are far from real digits
    assert 1 <= r["inception_score"] <= 10
    assert all(0 <= r[k] <= 1 for k in ("precision", "recall", "coverage")) and r["density"] >= 0
    assert isinstance(r["classes_covered"], int) and 0 <= r["classes_covered"] <= 10


def test_a_pickle_named_like_a_checkpoint_is_refused_without_unpickling(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "pickled"
    bad.mkdir()
    torch.save({"G/net.0.weight": torch.zeros(2, 2)}, bad / "checkpoint.safetensors")  # a zip of pickles
    calls = []

    def forbidden(name):
        def fail(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called on an untrusted file")
        return fail

    class NoUnpickler:
        def __init__(self, *args, **kwargs):
            forbidden("pickle.Unpickler")()

    monkeypatch.setattr(pickle, "load", forbidden("pickle.load"))
    monkeypatch.setattr(pickle, "loads", forbidden("pickle.loads"))
    monkeypatch.setattr(pickle, "Unpickler", NoUnpickler)
    monkeypatch.setattr(torch, "load", forbidden("torch.load"))
    monkeypatch.setattr(torch.serialization, "load", forbidden("torch.serialization.load"))
    rc, out, err = evaluate(capsys, "--run", str(bad), "--quiet")
    assert calls == []
    assert rc != 0 and out == ""
    line = one_error_line(err)
    assert "pickle" in line and "checkpoint.safetensors" in line


def test_too_few_samples_are_rejected(ring8_dir, capsys):
    rc, out, err = evaluate(capsys, "--run", str(ring8_dir), "--samples", "5")
    assert rc == 2 and out == ""
    assert "--samples" in one_error_line(err) and "5" in err


def test_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    rc, out, err = evaluate(capsys, "--run", str(tmp_path / "no_such_run"), "--quiet")
    assert rc != 0 and out == ""
    line = one_error_line(err)
    assert "no checkpoint" in line and "no_such_run" in line


def test_run_is_required(capsys):
    rc, out, err = evaluate(capsys)
    assert rc == 2 and out == ""
    assert "--run" in one_error_line(err)
