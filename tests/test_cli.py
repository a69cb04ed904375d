"""Tests for the command line, ``python -m gan_core``, run as real subprocesses.

Every invocation imports torch (~1-2 s), so a module fixture starts them all at once and each test reads
the result it needs.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_core.checkpoint import CONFIG_FILE, METRICS_FILE, WEIGHTS_FILE, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
STEP_KEYS = {"step", "d_loss", "g_loss", "d_acc_real", "d_acc_fake", "d_real_mean", "d_fake_mean",
             "g_grad_norm", "d_grad_norm", "steps_per_s", "samples_per_s"}

BAD = {
    "unknown_preset": ["train", "--preset", "nope", "--steps", "5"],
    "steps_zero": ["train", "--preset", "ring8", "--steps", "0"],
    "lr_out_of_range": ["train", "--preset", "ring8", "--steps", "5", "--set", "lr_g=5"],
    "unknown_setting": ["train", "--preset", "ring8", "--steps", "5", "--set", "nope=1"],
    "set_without_value": ["train", "--preset", "ring8", "--steps", "5", "--set", "lr_g"],
    "missing_preset": ["train", "--steps", "5"],
    "no_subcommand": [],
}
if not torch.cuda.is_available():
    BAD["cuda_without_gpu"] = ["train", "--preset", "ring8", "--steps", "5", "--device", "cuda"]


# more bad arguments, checked in-process only (each subprocess costs a torch import)
MORE_BAD = {
    "steps_not_int": ["train", "--preset", "ring8", "--steps", "many"],
    "steps_negative": ["train", "--preset", "ring8", "--steps", "-3"],
    "arch_dcgan_on_toy": ["train", "--preset", "ring8", "--steps", "5", "--set", "arch=dcgan"],
    "bad_bool": ["train", "--preset", "ring8", "--steps", "5", "--set", "download=maybe"],
    "unknown_subcommand": ["fly"],
    "unknown_option": ["train", "--preset", "ring8", "--steps", "5", "--lr", "1"],
    "bad_device": ["train", "--preset", "ring8", "--steps", "5", "--device", "tpu"],
}


def _commands(out: Path) -> dict:
    cmds = {
        "presets": ["presets"],
        "gauss_a": ["train", "--preset", "gauss1d", "--steps", "50", "--seed", "1", "--out", str(out / "a")],
        "gauss_b": ["train", "--preset", "gauss1d", "--steps", "50", "--seed", "1", "--quiet"],
        "ring8": ["train", "--preset", "ring8", "--steps", "200", "--seed", "0", "--quiet",
                  "--set", "batch_size=64", "--set", "train.lr_d=1e-3"],
    }
    cmds.update({f"bad_{k}": v for k, v in BAD.items()})
    return cmds


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "GAN_PLAYGROUND_DATA": str(out / "data")}
    procs = {name: subprocess.Popen([sys.executable, "-m", "gan_core", *args], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, args in _commands(out).items()}
    results = {}
    try:
        for name, p in procs.items():
            stdout, stderr = p.communicate(timeout=180)
            results[name] = (p.returncode, stdout, stderr)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    results["out"] = out
    return results


def last_json(stdout: str) -> dict:
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    assert lines, "no stdout"
    return json.loads(lines[-1])


def test_presets_lists_the_presets(cli):
    rc, stdout, stderr = cli["presets"]
    assert rc == 0, stderr
    names = [ln.split()[0] for ln in stdout.splitlines() if ln.strip()]
    assert "ring8" in names and "digits" in names and "gauss1d" in names
    from gan_core.presets import PRESETS
    assert names == list(PRESETS)


def test_train_gauss1d_prints_json_and_writes_checkpoint(cli):
    rc, stdout, stderr = cli["gauss_a"]
    assert rc == 0, stderr
    assert "Traceback" not in stderr
    res = last_json(stdout)
    assert STEP_KEYS <= set(res)
    assert res["step"] == 50 and res["steps"] == 50 and res["state"] == "finished"
    assert res["preset"] == "gauss1d" and res["device"] == "cpu"
    for key in ("d_loss", "g_loss", "g_grad_norm", "d_grad_norm"):
        assert isinstance(res[key], float)
    for key in ("d_acc_real", "d_acc_fake", "d_real_mean", "d_fake_mean"):
        assert 0.0 <= res[key] <= 1.0
    assert res["steps_per_s"] > 0
    assert res["samples_per_s"] == pytest.approx(res["steps_per_s"] * 256)
    assert "modes_covered" not in res  # 1D data has no modes
    out = cli["out"] / "a"
    for name in (WEIGHTS_FILE, CONFIG_FILE, METRICS_FILE):
        assert (out / name).is_file()
    assert res["checkpoint"] == str(out / WEIGHTS_FILE)
    ck = load_checkpoint(out)
    assert ck.step == 50 and ck.config.train.seed == 1 and ck.config.data.dataset == "gauss1d"


def test_train_ring8_reports_mode_coverage(cli):
    rc, stdout, stderr = cli["ring8"]
    assert rc == 0, stderr
    res = last_json(stdout)
    assert STEP_KEYS <= set(res)
    assert res["step"] == 200
    assert isinstance(res["modes_covered"], int) and 0 <= res["modes_covered"] <= 8
    assert 0.0 <= res["hq_fraction"] <= 1.0
    assert res["samples_per_s"] == pytest.approx(res["steps_per_s"] * 64)  # the --set batch size took effect
    assert stderr == ""  # --quiet


def test_same_seed_same_result_different_seed_differs(cli, capsys):
    a, b = (last_json(cli[k][1]) for k in ("gauss_a", "gauss_b"))
    assert a["d_loss"] == b["d_loss"] and a["g_loss"] == b["g_loss"]
    # a different seed, run in this process through the same entry point (saves a torch import)
    from gan_core.cli import main
    assert main(["train", "--preset", "gauss1d", "--steps", "50", "--seed", "2", "--quiet"]) == 0
    c = last_json(capsys.readouterr().out)
    assert c["step"] == 50 and c["d_loss"] != a["d_loss"]


def test_progress_goes_to_stderr_not_stdout(cli):
    rc, stdout, _ = cli["gauss_a"]
    assert len([ln for ln in stdout.splitlines() if ln.strip()]) == 1  # stdout is just the JSON line


@pytest.mark.parametrize("name", list(BAD))
def test_bad_arguments_fail_with_one_error_line(cli, name):
    rc, stdout, stderr = cli[f"bad_{name}"]
    assert rc != 0
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error:")
    assert stdout.strip() == ""


@pytest.mark.parametrize("args", list(BAD.values()) + list(MORE_BAD.values()), ids=list(BAD) + list(MORE_BAD))
def test_bad_arguments_in_process_return_nonzero(args, capsys):
    # through cli.main(): an uncaught exception here would be the traceback users see
    from gan_core.cli import main
    assert main(args) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and captured.err.startswith("error:")


def test_bad_argument_messages_say_what_is_wrong(cli):
    def err(name):
        return cli[f"bad_{name}"][2]

    assert "nope" in err("unknown_preset") and "ring8" in err("unknown_preset")
    assert "--steps" in err("steps_zero")
    assert "train.lr_g" in err("lr_out_of_range")
    assert "nope" in err("unknown_setting")
    assert "key=value" in err("set_without_value")
    assert "--preset" in err("missing_preset")
    if "cuda_without_gpu" in BAD:
        assert "cuda" in err("cuda_without_gpu")


def test_train_from_a_config_file_and_resume_a_saved_run(tmp_path, capsys):
    """--config FILE (the app's Download config.json) and --resume DIR, in-process."""
    from gan_core.cli import main
    from gan_core.presets import preset_config
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(preset_config("gauss1d", seed=3, batch_size=32).to_dict()))
    assert main(["train", "--config", str(cfg), "--steps", "40", "--quiet", "--out", str(tmp_path / "r")]) == 0
    first = last_json(capsys.readouterr().out)
    assert first["step"] == 40 and load_checkpoint(tmp_path / "r").config.train.batch_size == 32
    assert main(["train", "--resume", str(tmp_path / "r"), "--steps", "25", "--quiet", "--set", "lr_g=1e-4",
                 "--out", str(tmp_path / "r")]) == 0
    second = last_json(capsys.readouterr().out)
    assert second["step"] == 65 and second["steps"] == 25
    ck = load_checkpoint(tmp_path / "r")
    assert ck.step == 65 and ck.config.train.lr_g == 1e-4 and ck.config.train.seed == 3


@pytest.mark.parametrize("args, words", [
    (["--config", "{dir}/absent.json"], "No such file"),
    (["--config", "{dir}/bad.json"], "train.lr_g = 7.0 is out of range"),
    (["--config", "{dir}/junk.json"], "not valid JSON"),
    (["--resume", "{dir}"], "no checkpoint at"),
    (["--resume", "{dir}/pickle"], "never loaded"),
    (["--preset", "ring8", "--config", "{dir}/bad.json"], "exactly one of"),
])
def test_config_and_resume_errors_are_one_line(tmp_path, capsys, args, words):
    from gan_core.cli import main
    (tmp_path / "bad.json").write_text('{"train": {"lr_g": 7}}')
    (tmp_path / "junk.json").write_text("{lr_g: 1")
    (tmp_path / "pickle").mkdir()
    torch.save({"x": 1}, tmp_path / "pickle" / WEIGHTS_FILE)
    rc = main(["train", "--steps", "5", *[a.format(dir=tmp_path) for a in args]])
    err = capsys.readouterr().err
    assert rc != 0 and len(err.strip().splitlines()) == 1 and err.startswith("error:") and words in err, err


# ---------------------------------------------------------------- hostile checkpoints and full disks

def _forge_checkpoints(root: Path) -> dict:
    """A real ring8 checkpoint and damaged copies of it: {case: folder}."""
    from safetensors.torch import save_file
    from gan_core.run import Run
    run = Run.from_preset("ring8", batch_size=16)
    for _ in range(2):
        run.step_once()
    run.stop(timeout=None)
    run.save(root / "good")
    ck = load_checkpoint(root / "good")
    cases = {"rng_float": ({"rng/train": ck.tensors["rng/train"].float()}, {}),
             "step_negative": ({}, {"step": "-5"}),
             "data_shape_not_list": ({}, {"data_shape": "5"}),
             "stride_zero": ({}, {"history_stride": "0"})}
    out = {}
    for name, (tensors, meta) in cases.items():
        (root / name).mkdir()
        save_file({**ck.tensors, **tensors}, str(root / name / WEIGHTS_FILE), metadata={**ck.meta, **meta})
        out[name] = root / name
    (root / "linked").symlink_to(root / "good", target_is_directory=True)
    out["linked"] = root / "linked"
    return out


SUBPROCESS_CASES = {("train", "rng_float"), ("evaluate", "step_negative")}  # each costs a torch import; all
# cases run in-process below through the same main()


@pytest.fixture(scope="module")
def forged(tmp_path_factory):
    root = tmp_path_factory.mktemp("forged")
    folders = _forge_checkpoints(root)
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "GAN_PLAYGROUND_DATA": str(root / "data")}
    cmds = {}
    for command, case in SUBPROCESS_CASES:
        cmds[(command, case)] = (["train", "--resume", str(folders[case]), "--steps", "5", "--quiet"]
                                 if command == "train" else ["evaluate", "--run", str(folders[case]), "--quiet"])
    procs = {k: subprocess.Popen([sys.executable, "-m", "gan_core", *a], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for k, a in cmds.items()}
    results = {}
    try:
        for k, p in procs.items():
            results[k] = (*p.communicate(timeout=120), p.returncode)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    return folders, results


@pytest.mark.parametrize("command, case", sorted(SUBPROCESS_CASES))
def test_bad_checkpoints_fail_with_one_line_in_a_subprocess(forged, command, case):
    stdout, stderr, rc = forged[1][(command, case)]
    assert rc != 0 and "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    assert str(forged[0][case]) in lines[0]
    assert stdout.strip() == ""


@pytest.mark.parametrize("case, words", [("rng_float", "uint8"), ("step_negative", "step = -5"),
                                         ("data_shape_not_list", "data_shape"), ("stride_zero", "history_stride"),
                                         ("linked", "symbolic link")])
@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_bad_checkpoints_fail_with_one_line_in_process(forged, capsys, case, words, command):
    from gan_core.cli import main
    folder = str(forged[0][case])
    args = (["train", "--resume", folder, "--steps", "5", "--quiet"] if command == "train"
            else ["evaluate", "--run", folder, "--quiet"])
    assert main(args) != 0  # step = -5 used to mean max_steps 0 = train forever
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], captured.err
    assert captured.out == ""


def _disk_fills_after(monkeypatch, ok_calls: int):
    """Every atomic write after the first ``ok_calls`` fails with ENOSPC, as on a full disk."""
    from gan_core import checkpoint
    real, calls = checkpoint.atomic_write, []

    def write(path, data):
        calls.append(path)
        if len(calls) > ok_calls:
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(checkpoint, "atomic_write", write)
    return calls


def test_disk_full_autosaves_are_reported_and_the_final_save_failure_keeps_the_json(tmp_path, capsys, monkeypatch):
    from gan_core.cli import main
    calls = _disk_fills_after(monkeypatch, 0)
    rc = main(["train", "--preset", "gauss1d", "--steps", "400", "--quiet", "--set", "batch_size=16",
               "--set", "autosave_minutes=0.0001", "--out", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert rc == 1 and len(calls) >= 2  # autosaves were tried during training, then the final save
    res = last_json(captured.out)
    assert res["step"] == 400 and res["state"] == "finished"  # it trained to the end regardless
    assert "No space left on device" in res["save_error"] and res["saved_step"] is None
    assert "No space left on device" in res["autosave_error"]
    err = captured.err.strip().splitlines()
    assert "Traceback" not in captured.err
    assert err[0].startswith("warning: step ") and "Autosave" in err[0] and "[Errno 28]" in err[0], err
    assert err[-1].startswith("error: final save to") and "no checkpoint of this run was written" in err[-1]
    assert [e for e in err if e.startswith("error:")] == [err[-1]]
    assert not (tmp_path / "r" / WEIGHTS_FILE).exists()


def test_failed_autosaves_with_a_good_final_save_exit_zero(tmp_path, capsys, monkeypatch):
    from gan_core import checkpoint
    from gan_core.cli import main
    real = checkpoint.atomic_write
    state = {"full": True}

    def write(path, data):
        if state["full"]:
            raise OSError(28, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(checkpoint, "atomic_write", write)
    import gan_core.run as run_mod
    real_save = run_mod.Run.save

    def save(self, out_dir=None):  # the disk frees up before the final save
        state["full"] = False
        return real_save(self, out_dir)

    monkeypatch.setattr(run_mod.Run, "save", save)
    rc = main(["train", "--preset", "gauss1d", "--steps", "300", "--quiet", "--set", "batch_size=16",
               "--set", "autosave_minutes=0.0001", "--out", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    res = last_json(captured.out)
    assert "save_error" not in res and res["checkpoint"] == str(tmp_path / "r" / WEIGHTS_FILE)
    assert "No space left on device" in res["autosave_error"]
    assert captured.err.startswith("warning: step ") and "error:" not in captured.err
    assert load_checkpoint(tmp_path / "r").step == 300
