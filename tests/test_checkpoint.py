"""Tests for gan_core.checkpoint: save/restore round trip of a ring8 run (weights, optimiser, RNG, step,
history), bit-identical resume, and refusal of pickles, foreign safetensors files and truncated files."""
from __future__ import annotations

import csv
import json
import os
import pickle
import time

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from gan_core import checkpoint
from gan_core.checkpoint import (CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE, CheckpointError, load_checkpoint,
                                 save_checkpoint)
from gan_core.run import COLUMNS, Run
from helpers_ui import stopped_runs  # noqa: F401  (fixture)


pytestmark = pytest.mark.usefixtures("stopped_runs")  # no training thread outlives a test


def trained_run(steps=8, **kw) -> Run:
    kw.setdefault("batch_size", 32)
    run = Run.from_preset("ring8", metrics_every=4, **kw)
    for _ in range(steps):
        run.step_once()
    run.stop(timeout=None)
    return run


def opt_state(opt):
    return {(i, k): v for i, s in opt.state_dict()["state"].items() for k, v in s.items()}


def test_round_trip_restores_everything(tmp_path):
    run = trained_run()
    assert run.step == 8 and len(run.evals) == 8  # step_once evaluates every step on mode data
    path = run.save(tmp_path)
    assert path == tmp_path / WEIGHTS_FILE
    back = Run.from_checkpoint(tmp_path)
    assert back.id == run.id
    assert back.step == run.step == 8
    assert back.state == "paused"  # a resumed run says so (Resume, not Start)
    assert back.config == run.config
    for a, b in ((run.trainer.G, back.trainer.G), (run.trainer.D, back.trainer.D)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    for a, b in ((run.trainer.opt_g, back.trainer.opt_g), (run.trainer.opt_d, back.trainer.opt_d)):
        sa, sb = opt_state(a), opt_state(b)
        assert sa.keys() == sb.keys() and len(sa) > 0
        assert all(torch.equal(torch.as_tensor(sa[k]), torch.as_tensor(sb[k])) for k in sa)
        # "lr" itself is derived (base lr x schedule) and rewritten at the start of every step
        assert [g["initial_lr"] for g in a.param_groups] == [g["initial_lr"] for g in b.param_groups]
    assert torch.equal(run.trainer.gen.get_state(), back.trainer.gen.get_state())
    assert torch.equal(run.trainer.eval_gen.get_state(), back.trainer.eval_gen.get_state())
    for ha, hb in ((run.history, back.history), (run.evals, back.evals)):
        assert len(ha) == len(hb) > 0 and ha.stride == hb.stride
        np.testing.assert_array_equal(ha.data[: len(ha)], hb.data[: len(hb)])
        np.testing.assert_array_equal(ha.last, hb.last)
    assert back.latest() == pytest.approx(run.latest(), nan_ok=True)


@pytest.mark.parametrize("overrides", [{}, {"r1_every": 3, "r1_gamma": 1.0}, {"instance_noise": 0.1},
                                       {"loss": "wgan_gp", "d_steps": 2}],
                         ids=["ring8", "lazy_r1", "instance_noise", "wgan_gp"])
def test_resume_is_bit_identical(tmp_path, overrides):
    run = trained_run(steps=7, **overrides)
    run.save(tmp_path)
    back = Run.from_checkpoint(tmp_path)
    ta, tb = run.trainer, back.trainer
    for _ in range(5):
        va, vb = ta.step(), tb.step()
        assert torch.equal(va, vb), (va, vb)
    assert all(torch.equal(a, b) for a, b in zip(ta.G.parameters(), tb.G.parameters()))
    assert torch.equal(ta.sample(16), tb.sample(16))


def test_resume_through_the_run_thread(tmp_path):
    run = trained_run(steps=5)
    run.save(tmp_path)
    back = Run.from_checkpoint(tmp_path)
    got = [back.step_once()["d_loss"] for _ in range(3)]
    want = [run.step_once()["d_loss"] for _ in range(3)]
    assert got == want
    assert back.step == run.step == 8
    np.testing.assert_array_equal(back.history.column("d_loss"), run.history.column("d_loss"))


def test_save_while_running(tmp_path):
    run = Run.from_preset("ring8", batch_size=32)
    run.start()
    deadline = time.monotonic() + 20
    while run.step < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    run.save(tmp_path)
    assert run.state == "running"
    ck = load_checkpoint(tmp_path)
    assert ck.step >= 5 and ck.config == run.config


def test_files_written_and_readable(tmp_path):
    run = trained_run(steps=4)
    out = tmp_path / "nested" / "ckpt"  # created on demand
    run.save(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([WEIGHTS_FILE, CONFIG_FILE, METRICS_FILE])
    info = json.loads((out / CONFIG_FILE).read_text())
    assert info["step"] == 4 and info["run_id"] == run.id and info["config"] == run.config.to_dict()
    with open(out / METRICS_FILE, newline="") as f:
        table = list(csv.reader(f))
    assert tuple(table[0]) == COLUMNS
    assert len(table) - 1 == len(run.history) == 4
    assert [float(r[0]) for r in table[1:]] == [1.0, 2.0, 3.0, 4.0]
    d_loss = [float(r[COLUMNS.index("d_loss")]) for r in table[1:]]
    np.testing.assert_allclose(d_loss, run.history.column("d_loss"), rtol=1e-5)
    ck = load_checkpoint(out / WEIGHTS_FILE)  # the file itself works too
    assert ck.step == 4 and ck.meta["format"] == checkpoint.FORMAT


def test_no_tmp_files_left_after_repeated_saves(tmp_path):
    run = trained_run(steps=2)
    run.save(tmp_path)
    run.step_once()
    run.stop(timeout=None)
    run.save(tmp_path)  # overwrites
    names = [p.name for p in tmp_path.iterdir()]
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]
    assert len(names) == 3
    assert load_checkpoint(tmp_path).step == 3


def test_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    run = trained_run(steps=2)
    run.save(tmp_path)
    before = (tmp_path / WEIGHTS_FILE).read_bytes()
    run.step_once()
    run.stop(timeout=None)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(run, tmp_path)
    monkeypatch.undo()
    assert (tmp_path / WEIGHTS_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([WEIGHTS_FILE, CONFIG_FILE, METRICS_FILE])
    assert load_checkpoint(tmp_path).step == 2


# ---------------------------------------------------------------- refusals

class _Forbidden(AssertionError):
    pass


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any attempt to unpickle fails loudly and is recorded; the test asserts the record stays empty."""
    calls = []

    def forbidden(*a, **k):
        calls.append(a)
        raise _Forbidden("something tried to unpickle")

    class Unpickler:
        def __init__(self, *a, **k):
            forbidden(*a)

    for mod, name in ((pickle, "load"), (pickle, "loads"), (torch, "load"), (torch.serialization, "load")):
        monkeypatch.setattr(mod, name, forbidden)
    monkeypatch.setattr(pickle, "Unpickler", Unpickler)
    yield calls
    assert calls == [], "a checkpoint loader unpickled something"


@pytest.mark.parametrize("payload", ["torch_save", "plain_pickle"])
def test_pickle_refused_without_unpickling(tmp_path, payload, no_unpickling):
    file = tmp_path / WEIGHTS_FILE
    if payload == "torch_save":
        torch.save({"G/net.0.weight": torch.zeros(2, 2), "step": 3}, file)
    else:
        file.write_bytes(pickle.dumps({"evil": 1}))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path)
    assert "pickle" in str(info.value)
    assert str(file) in str(info.value)
    with pytest.raises(CheckpointError, match="pickle"):
        Run.from_checkpoint(tmp_path)
    assert no_unpickling == []


def test_foreign_safetensors_refused(tmp_path, no_unpickling):
    save_file({"weight": torch.zeros(3)}, str(tmp_path / WEIGHTS_FILE))
    with pytest.raises(CheckpointError, match="not a GAN Playground checkpoint"):
        load_checkpoint(tmp_path)
    save_file({"weight": torch.zeros(3)}, str(tmp_path / WEIGHTS_FILE), metadata={"format": "other/9"})
    with pytest.raises(CheckpointError, match="other/9"):
        load_checkpoint(tmp_path)


def test_our_format_with_bad_config_refused(tmp_path, no_unpickling):
    meta = {"format": checkpoint.FORMAT, "step": "3", "config": json.dumps({"train": {"lr_g": 99.0}})}
    save_file({"weight": torch.zeros(3)}, str(tmp_path / WEIGHTS_FILE), metadata=meta)
    with pytest.raises(CheckpointError, match="invalid config"):
        load_checkpoint(tmp_path)
    meta = {"format": checkpoint.FORMAT, "step": "3"}  # no config at all
    save_file({"weight": torch.zeros(3)}, str(tmp_path / WEIGHTS_FILE), metadata=meta)
    with pytest.raises(CheckpointError, match="invalid config"):
        load_checkpoint(tmp_path)


def test_weights_that_do_not_fit_the_config_refused(tmp_path, no_unpickling):
    run = trained_run(steps=1)
    run.save(tmp_path)
    ck = load_checkpoint(tmp_path)
    meta = dict(ck.meta)
    cfg = json.loads(meta["config"])
    cfg["model"]["g_hidden"] = 32  # the stored G has 64 hidden units
    meta["config"] = json.dumps(cfg)
    save_file(ck.tensors, str(tmp_path / WEIGHTS_FILE), metadata=meta)
    with pytest.raises(CheckpointError, match="does not fit"):
        Run.from_checkpoint(tmp_path)


@pytest.mark.parametrize("keep", [0.5, 0.99, 12, 4, 0])
def test_truncated_file_refused(tmp_path, keep, no_unpickling):
    run = trained_run(steps=2)
    run.save(tmp_path)
    file = tmp_path / WEIGHTS_FILE
    data = file.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    file.write_bytes(data[:n])
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path)


def test_missing_checkpoint_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_random_bytes_refused(tmp_path, no_unpickling):
    (tmp_path / WEIGHTS_FILE).write_bytes(os.urandom(256))
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path)
