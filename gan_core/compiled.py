"""The training step with the networks compiled by ``torch.compile`` (``Trainer.compile``).

During a step a family calls ``tr.G(z, y)``, ``tr.D.features(x)``, ``tr.D.aux(h)``, ``tr.G.ab(a)``...; a
``CompiledNet`` stands in for each network and calls the compiled version of whatever the family calls (the
forward, a method, a submodule), compiled on first use. Outside the step ``tr.G`` / ``tr.D`` are the plain
networks, so pictures, evaluations, snapshots, copies and checkpoints never see compiled code (and a
checkpoint's keys are the same either way). Parameters are shared: both paths train the same weights.

Modes: on CUDA "reduce-overhead" (CUDA graphs: one launch per graph instead of one per kernel), elsewhere
the default Inductor mode. Shapes are static; a step that meets a new input shape (a changed batch size, a
new family head) is a recompile, and after ``MAX_SHAPES`` distinct shapes of one callable the trainer goes
back to eager for good rather than recompile on every change (``Trainer.compile_note`` says why).
A compile that fails (no C++ compiler, an unsupported op) also falls back to eager, with the reason.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn as nn

from .distributed import stand_in_kind

# distinct input shapes one compiled callable may see before the trainer returns to eager: D meets two per
# batch size (real and fake together, and G's batch alone), so four batch sizes in one run are compiled
MAX_SHAPES = 8


class TooManyShapes(RuntimeError):
    pass


def mode_for(device: torch.device) -> Optional[str]:
    return "reduce-overhead" if device.type == "cuda" else None


class _Fn:
    """One compiled callable, counting the input shapes it was called with."""

    def __init__(self, fn: Callable, mode: Optional[str], name: str):
        self.compiled = torch.compile(fn, mode=mode, dynamic=False)
        self.name, self.shapes = name, set()

    def __call__(self, *args, **kwargs):
        key = tuple(tuple(a.shape) if torch.is_tensor(a) else a is None for a in args)
        if key not in self.shapes:
            self.shapes.add(key)
            if len(self.shapes) > MAX_SHAPES:
                raise TooManyShapes(f"{self.name} met {len(self.shapes)} input shapes")
        return self.compiled(*args, **kwargs)


def is_compile_failure(exc: BaseException) -> bool:
    """Whether ``exc`` came from the compiler (or the shape limit), not from the step's own arithmetic."""
    if isinstance(exc, TooManyShapes):
        return True
    try:
        from torch._dynamo.exc import TorchDynamoException
        from torch._inductor.exc import InductorError
    except ImportError:  # pragma: no cover - older torch
        return False
    if isinstance(exc, (TorchDynamoException, InductorError)):
        return True
    return isinstance(exc, RuntimeError) and "CUDAGraphs" in str(exc)  # a graph replay the step cannot use


class CompiledNet:
    """A network as a family's step sees it, every call compiled (see the module docstring)."""

    def __init__(self, net: nn.Module, mode: Optional[str], name: str, cache: Optional[dict] = None):
        self._net, self._mode, self._name = net, mode, name
        self._cache = {} if cache is None else cache  # attribute name -> _Fn or CompiledNet

    def _fn(self, key: str, fn: Callable) -> _Fn:
        if key not in self._cache:
            self._cache[key] = _Fn(fn, self._mode, f"{self._name}.{key}")
        return self._cache[key]

    def __call__(self, *args, **kwargs):
        return self._fn("forward", self._net)(*args, **kwargs)

    def __getattr__(self, name: str):
        value = getattr(self._net, name)
        kind = stand_in_kind(name, value)
        if kind == "module":
            if name not in self._cache:
                self._cache[name] = CompiledNet(value, self._mode, f"{self._name}.{name}")
            return self._cache[name]
        if kind == "method":
            return self._fn(name, value)
        return value

    def shapes_seen(self) -> int:
        return max([len(v.shapes) if isinstance(v, _Fn) else v.shapes_seen() for v in self._cache.values()] or [0])
