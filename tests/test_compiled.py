"""The compiled training step (gan_core.compiled, Trainer.compile) on the CPU.

The first 50 losses of a seeded ring8 run agree with eager within COMPILED_TOLERANCE (measured 2.4e-7: the
compiler reorders float sums; MNIST's batch-normalised convnet drifts to 5e-3 by step 50, see
docs/BENCHMARKS.md); the compiled trainer's checkpoints and pictures are the plain networks'; too many
input shapes or a compiler failure send the trainer back to eager with the reason; the CLI compiles only
when asked (or on CUDA, where it pays).
"""
from __future__ import annotations

import json

import pytest
import torch

from gan_core import compiled as compiled_mod
from gan_core.presets import preset_config
from gan_core.trainer import Trainer

COMPILED_TOLERANCE = 1e-4
STEPS = 50


def _losses(tr, n=STEPS):
    return [tr.step()[0].item() for _ in range(n)]


def test_fifty_compiled_ring8_steps_follow_eager():
    cfg = preset_config("ring8", seed=0)
    eager = _losses(Trainer(cfg))
    tr = Trainer(cfg)
    tr.compile()
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    got = _losses(tr)
    if tr.compiled is None:  # no C++ compiler on this machine: the fallback is what there is to test
        pytest.skip(f"torch.compile unavailable here: {tr.compile_note}")
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 3  # G, D's features and score, compiled
    assert max(abs(a - b) for a, b in zip(eager, got)) < COMPILED_TOLERANCE
    # outside the step the trainer holds the plain networks: checkpoint keys, samples and copies as in eager
    assert tr.G is tr.nets["G"] and tr.D is tr.nets["D"]
    assert list(tr.G.state_dict()) == list(Trainer(cfg).G.state_dict())
    assert tr.sample(8).shape == (8, 2)


def _no_compiler(monkeypatch):
    monkeypatch.setattr(compiled_mod.torch, "compile", lambda fn, **kw: fn)  # the wrapper's logic, no compiler


def test_a_new_shape_too_many_goes_back_to_eager(monkeypatch):
    _no_compiler(monkeypatch)
    cfg = preset_config("ring8", seed=0)
    tr = Trainer(cfg)
    tr.compile()
    for batch in (256, 255, 254, 253):  # D's features see 2 shapes per batch size ([real; fake], G's batch)
        tr.apply_config(cfg.replace(batch_size=batch))
        tr.step()
    assert tr.compiled is not None and tr.compiled[1].shapes_seen() == 8
    tr.apply_config(cfg.replace(batch_size=252))
    values = tr.step()  # a fifth batch size: this step is redone eagerly, and eager it stays
    assert tr.compiled is None and tr.step_count == 5 and bool(torch.isfinite(values).all())
    assert "back to eager at step 5" in tr.compile_note and "9 input shapes" in tr.compile_note


def test_a_compiler_failure_goes_back_to_eager(monkeypatch):
    from torch._dynamo.exc import TorchDynamoException

    def broken(fn, **kw):
        def call(*a, **k):
            raise TorchDynamoException("the backend cannot compile this")
        return call
    monkeypatch.setattr(compiled_mod.torch, "compile", broken)
    cfg = preset_config("ring8", seed=0)
    expected = _losses(Trainer(cfg), 3)
    tr = Trainer(cfg)
    tr.compile()
    assert _losses(tr, 3) == expected  # the failure came before any update: the eager redo is the eager step
    assert tr.compiled is None and "the backend cannot compile this" in tr.compile_note
    assert not compiled_mod.is_compile_failure(RuntimeError("a real bug"))


def test_the_cli_compiles_when_asked_and_not_on_the_cpu_by_default(capsys):
    from gan_core.cli import main
    assert main(["train", "--preset", "ring8", "--steps", "600", "--quiet"]) == 0  # auto, CPU: eager
    assert json.loads(capsys.readouterr().out)["compiled"] is False
    assert main(["train", "--preset", "ring8", "--steps", "3", "--compile", "on", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["compiled"] is True or "back to eager" in result.get("compile_note", "")
    assert result["step"] == 3
