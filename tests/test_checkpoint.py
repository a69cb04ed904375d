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


# ---------------------------------------------------------------- hostile checkpoints: one line each

@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    """A real 2-step ring8 checkpoint (tensors, metadata) that each test below damages in one way."""
    out = tmp_path_factory.mktemp("good")
    trained_run(steps=2).save(out)
    ck = load_checkpoint(out)
    return dict(ck.tensors), dict(ck.meta)


def forge(folder, good, meta=None, tensors=None, drop=()):
    """Write ``good`` with some metadata fields / tensors replaced (or dropped) as a checkpoint in ``folder``."""
    t, m = dict(good[0]), dict(good[1])
    t.update(tensors or {})
    m.update(meta or {})
    for key in drop:
        t.pop(key, None)
        m.pop(key, None)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in t.items()}, str(folder / WEIGHTS_FILE), metadata=m)
    return folder


def history_len(good):
    return good[0]["history/step"].shape[0]


BAD_META = {
    "step_negative": ({"step": "-5"}, "step = -5 is out of range"),
    "step_float": ({"step": "2.5"}, "step = '2.5' is not a whole number"),
    "step_words": ({"step": "many\nlines"}, "not a whole number"),
    "stride_zero": ({"history_stride": "0"}, "history_stride = 0 is out of range"),
    "evals_stride_negative": ({"evals_stride": "-1"}, "evals_stride = -1"),
    "d_updates_negative": ({"d_updates": "-3"}, "d_updates = -3"),
    "data_shape_number": ({"data_shape": "5"}, "data_shape = '5' must be a list"),
    "data_shape_dict": ({"data_shape": '{"a": 1}'}, "data_shape"),
    "data_shape_zero": ({"data_shape": "[0]"}, "data_shape"),
    "data_shape_4d": ({"data_shape": "[1, 2, 2, 2]"}, "data_shape"),
    "data_shape_huge": ({"data_shape": "[3, 100000, 100000]"}, "data_shape"),
    "data_shape_strings": ({"data_shape": '["2"]'}, "data_shape"),
    "data_shape_bool": ({"data_shape": "[true, 2]"}, "data_shape"),
    "data_shape_not_json": ({"data_shape": "[2"}, "not valid JSON"),
    "num_classes_negative": ({"num_classes": "-1"}, "num_classes = -1"),
    "num_classes_huge": ({"num_classes": "99999999"}, "num_classes"),
    "class_names_numbers": ({"class_names": "[1, 2]"}, "class_names must be a list of strings"),
    "class_names_count": ({"class_names": '["a", "b"]'}, "class_names but num_classes = 0"),
    "run_id_path": ({"run_id": "../../etc"}, "run_id"),
    "saved_at_nan": ({"saved_at": "nan"}, "saved_at"),
}


@pytest.mark.parametrize("name", list(BAD_META))
def test_bad_metadata_is_one_line_checkpoint_error(tmp_path, good_checkpoint, name, no_unpickling):
    meta, words = BAD_META[name]
    folder = forge(tmp_path / name, good_checkpoint, meta=meta)
    for load in (load_checkpoint, Run.from_checkpoint, checkpoint.generator_from_checkpoint):
        with pytest.raises(CheckpointError) as info:
            load(folder)
        assert "\n" not in str(info.value) and words in str(info.value), str(info.value)
    entry = checkpoint.list_checkpoints(tmp_path)[0]  # the runs list shows it as unreadable, not a crash
    assert "error" in entry


def _bad_tensors(good):
    t = good[0]
    n = history_len(good)
    g_key = next(k for k in t if k.startswith("G/") and k.endswith("weight"))
    opt_key = next(k for k in t if k.startswith("opt_g/") and k.endswith("exp_avg"))
    return {
        "rng_float": (dict(tensors={"rng/train": t["rng/train"].float()}), "rng/train must be a non-empty 1-D uint8"),
        "rng_2d": (dict(tensors={"rng/eval": t["rng/eval"].view(2, -1)}), "rng/eval must be"),
        "rng_short": (dict(tensors={"rng/train": t["rng/train"][:16]}), "rng/train has 16 bytes"),
        "rng_one_missing": (dict(drop=["rng/eval"]), "not the other RNG state"),
        "history_ragged": (dict(tensors={"history/d_loss": t["history/d_loss"][: n - 1]}), "different lengths"),
        "history_2d": (dict(tensors={"history/g_loss": t["history/g_loss"].view(1, -1)}), "1-D float"),
        "history_ints": (dict(tensors={"history/step": t["history/step"].long()}), "1-D float"),
        "weight_shape": (dict(tensors={g_key: torch.zeros(3, 3)}), "has shape [3, 3], the config's model needs"),
        "weight_dtype": (dict(tensors={g_key: t[g_key].double()}), "has dtype torch.float64"),
        "weight_ints": (dict(tensors={g_key: t[g_key].to(torch.int32)}), "weights are floats"),
        "weight_missing": (dict(drop=[g_key]), "is missing"),
        "weight_extra": (dict(tensors={"G/evil.weight": torch.zeros(2)}), "unexpected tensor G/evil.weight"),
        "opt_shape": (dict(tensors={opt_key: torch.zeros(7)}), "its parameter is"),
        "opt_index": (dict(tensors={"opt_g/999/exp_avg": torch.zeros(2)}), "parameter 999"),
        "opt_name": (dict(tensors={"opt_d/x/step": torch.zeros(1)}), "is not <opt>/<index>/<name>"),
        "opt_step_negative": (dict(tensors={opt_key.replace("exp_avg", "step"): torch.tensor(-1.0)}), ">= 0"),
        "opt_wrong_kind": (dict(tensors={opt_key.replace("exp_avg", "momentum_buffer"): t[opt_key].clone()}),
                           "not the state of a Adam optimiser"),
    }


BAD_TENSOR_NAMES = ["rng_float", "rng_2d", "rng_short", "rng_one_missing", "history_ragged", "history_2d",
                    "history_ints", "weight_shape", "weight_dtype", "weight_ints", "weight_missing", "weight_extra",
                    "opt_shape", "opt_index", "opt_name", "opt_step_negative", "opt_wrong_kind"]


@pytest.mark.parametrize("name", BAD_TENSOR_NAMES)
def test_bad_tensors_are_one_line_checkpoint_error(tmp_path, good_checkpoint, name, no_unpickling):
    change, words = _bad_tensors(good_checkpoint)[name]
    folder = forge(tmp_path / name, good_checkpoint, **change)
    with pytest.raises(CheckpointError) as info:
        Run.from_checkpoint(folder)
    assert "\n" not in str(info.value) and words in str(info.value), str(info.value)


def test_the_good_checkpoint_itself_loads(tmp_path, good_checkpoint):
    run = Run.from_checkpoint(forge(tmp_path / "ok", good_checkpoint))
    assert run.step == 2 and checkpoint.generator_from_checkpoint(tmp_path / "ok").step == 2


def test_symlinked_run_folder_is_refused_for_saving_and_loading(tmp_path, good_checkpoint):
    outside = tmp_path / "outside"
    forge(outside, good_checkpoint)
    before = {p.name: p.read_bytes() for p in outside.iterdir()}
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "abc").symlink_to(outside, target_is_directory=True)
    run = trained_run(steps=3)
    with pytest.raises(checkpoint.UnsafeCheckpointPath) as info:
        run.save(runs / "abc")
    assert isinstance(info.value, OSError) and "symbolic link" in str(info.value) and "\n" not in str(info.value)
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == before  # nothing written through the link
    with pytest.raises(CheckpointError, match="symbolic link"):
        load_checkpoint(runs / "abc")
    with pytest.raises(CheckpointError, match="symbolic link"):
        Run.from_checkpoint(runs / "abc")
    assert "symbolic link" in checkpoint.list_checkpoints(runs)[0]["error"]


def test_symlinked_checkpoint_files_are_refused(tmp_path, good_checkpoint):
    outside = tmp_path / "secret.safetensors"
    forge(tmp_path / "src", good_checkpoint)
    outside.write_bytes((tmp_path / "src" / WEIGHTS_FILE).read_bytes())
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / WEIGHTS_FILE).symlink_to(outside)
    (tmp_path / "victim.txt").write_text("keep me")
    (folder / CONFIG_FILE).symlink_to(tmp_path / "victim.txt")
    for target in (folder, folder / WEIGHTS_FILE):
        with pytest.raises(CheckpointError, match="symbolic link"):
            load_checkpoint(target)
    run = trained_run(steps=3)
    with pytest.raises(checkpoint.UnsafeCheckpointPath):
        run.save(folder)
    assert (tmp_path / "victim.txt").read_text() == "keep me"
    assert outside.read_bytes() == (tmp_path / "src" / WEIGHTS_FILE).read_bytes()
    with pytest.raises(checkpoint.UnsafeCheckpointPath):  # the low-level writer refuses a link too
        checkpoint.atomic_write(folder / CONFIG_FILE, b"x")
    assert (tmp_path / "victim.txt").read_text() == "keep me"


def test_a_refused_autosave_folder_does_not_stop_training(tmp_path, monkeypatch):
    """UnsafeCheckpointPath is an OSError: the loop reports it like a full disk and trains on."""
    refused = []
    real_save = checkpoint.save_checkpoint

    def save(run, out):
        try:
            return real_save(run, out)
        except checkpoint.UnsafeCheckpointPath as exc:
            refused.append(exc)
            raise

    monkeypatch.setattr(checkpoint, "save_checkpoint", save)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    run = Run.from_preset("gauss1d", batch_size=16, autosave_minutes=0.0001)
    run.autosave_dir = tmp_path / "link"
    run.run_steps(300)
    deadline = time.monotonic() + 30
    while run.state == "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    run.stop(timeout=None)
    assert run.state != "error" and run.step == 300
    assert refused, "no autosave was attempted"
    assert list((tmp_path / "real").iterdir()) == []


def test_a_checkpoint_from_before_the_live_divergences_keeps_its_evaluations(tmp_path, no_unpickling):
    """Files written before evals had js / kl columns: the modes history is kept, the new columns read NaN."""
    run = trained_run(steps=3)
    run._evaluate()
    run.save(tmp_path)
    ck = load_checkpoint(tmp_path)
    old = {k: v for k, v in ck.tensors.items() if k not in ("evals/js", "evals/kl_real_fake", "evals/kl_fake_real")}
    assert len(old) == len(ck.tensors) - 3
    save_file(old, str(tmp_path / WEIGHTS_FILE), metadata=dict(ck.meta))
    back = Run.from_checkpoint(tmp_path)
    names = back.evals.names
    rows = back.evals.data[: back.evals.n]
    assert back.evals.n == run.evals.n >= 1
    np.testing.assert_array_equal(rows[:, names.index("modes_covered")],
                                  run.evals.data[: run.evals.n, names.index("modes_covered")])
    assert np.isnan(rows[:, names.index("js")]).all()
