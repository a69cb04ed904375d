"""Validation of untrusted checkpoints: ``CheckpointError`` and the checks behind every load.

A checkpoint is untrusted input. ``_check_meta`` checks every header metadata field for type and range and
returns the parsed values; ``_check_tensors`` checks the tensors whose shapes and dtypes do not depend on the
models (RNG states, metric histories, optimiser key names); ``_check_module`` and ``_check_optimizer`` check
the rest against the config's models before anything is restored. Every problem is one line of
``CheckpointError``. Used by ``checkpoint.py``, which re-exports the public names.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import torch

RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # run ids and preset names: never a path
MAX_STEP = 10**12
MAX_CLASSES = 100_000
MAX_SAMPLE_VALUES = 3 * 128 * 128  # the largest sample a config can describe (image_size <= 128, 3 channels)
# optimiser state tensors per parameter: (required, allowed) keys, by optimiser class name
OPT_KEYS = {"Adam": ({"step", "exp_avg", "exp_avg_sq"}, {"max_exp_avg_sq"}),
            "RMSprop": ({"step", "square_avg"}, {"momentum_buffer", "grad_avg"}),
            "SGD": (set(), {"momentum_buffer"})}


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or written; the message (always one line) says which file and why."""

    def __init__(self, message) -> None:
        text = " ".join(str(message).split())  # foreign error texts and odd file names: still one line
        super().__init__(text if len(text) <= 600 else text[:597] + "...")


def _short(value, n: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 3] + "..."


def _meta_int(file: Path, meta: dict, key: str, lo: int, hi: int, default=None) -> int:
    text = meta.get(key)
    if text is None:
        if default is not None:
            return default
        raise CheckpointError(f"{file}: metadata field {key!r} is missing")
    try:
        value = int(text) if re.fullmatch(r"-?[0-9]{1,20}", text) else None
    except (TypeError, ValueError):
        value = None
    if value is None:
        raise CheckpointError(f"{file}: metadata {key} = {_short(text)} is not a whole number")
    if not lo <= value <= hi:
        raise CheckpointError(f"{file}: metadata {key} = {value} is out of range [{lo}, {hi}]")
    return value


def _meta_json(file: Path, meta: dict, key: str):
    try:
        return json.loads(meta[key])
    except (ValueError, TypeError, RecursionError):
        raise CheckpointError(f"{file}: metadata {key} = {_short(meta[key])} is not valid JSON") from None


def _check_meta(file: Path, meta: dict) -> dict:
    """Types and ranges of every metadata field; returns the parsed values (optional fields: None when absent)."""
    if any(not isinstance(v, str) for v in meta.values()):
        raise CheckpointError(f"{file}: metadata values must be strings")
    out = {"step": _meta_int(file, meta, "step", 0, MAX_STEP)}
    for key in ("history_stride", "evals_stride"):
        out[key] = _meta_int(file, meta, key, 1, 2**40, default=1)
    out["d_updates"] = _meta_int(file, meta, "d_updates", 0, MAX_STEP, default=-1)
    out["d_updates"] = None if out["d_updates"] == -1 else out["d_updates"]
    out["num_classes"] = _meta_int(file, meta, "num_classes", 0, MAX_CLASSES, default=0)
    out["data_shape"] = None
    if "data_shape" in meta:
        shape = _meta_json(file, meta, "data_shape")
        if (not isinstance(shape, list) or not 1 <= len(shape) <= 3
                or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in shape)
                or math.prod(shape) > MAX_SAMPLE_VALUES):
            raise CheckpointError(f"{file}: metadata data_shape = {_short(meta['data_shape'])} must be a list of "
                                  f"1 to 3 positive whole numbers (at most {MAX_SAMPLE_VALUES} values per sample)")
        out["data_shape"] = tuple(shape)
    names = _meta_json(file, meta, "class_names") if "class_names" in meta else []
    if not isinstance(names, list) or any(not isinstance(n, str) or len(n) > 1000 for n in names):
        raise CheckpointError(f"{file}: metadata class_names must be a list of strings")
    if names and len(names) != out["num_classes"]:
        raise CheckpointError(f"{file}: metadata has {len(names)} class_names but num_classes = {out['num_classes']}")
    out["class_names"] = names
    for key in ("run_id", "preset"):
        if meta.get(key) and not RUN_ID.fullmatch(meta[key]):
            raise CheckpointError(f"{file}: metadata {key} = {_short(meta[key])} must be 1-64 letters, digits, "
                                  "'-' or '_'")
    if "saved_at" in meta:
        try:
            saved_at = float(meta["saved_at"])
        except ValueError:
            saved_at = math.nan
        if not math.isfinite(saved_at) or saved_at < 0:
            raise CheckpointError(f"{file}: metadata saved_at = {_short(meta['saved_at'])} is not a time")
    return out


def _check_tensors(file: Path, tensors: dict) -> None:
    """Shapes and dtypes that do not depend on the models: RNG states, histories, optimiser key names."""
    rng = [k for k in ("rng/train", "rng/eval") if k in tensors]
    if len(rng) == 1:
        raise CheckpointError(f"{file}: has {rng[0]} but not the other RNG state")
    for key in rng:
        t = tensors[key]
        if t.dtype != torch.uint8 or t.ndim != 1 or t.numel() == 0:
            raise CheckpointError(f"{file}: {key} must be a non-empty 1-D uint8 tensor, not {t.dtype} of shape "
                                  f"{list(t.shape)}")
    for prefix in ("history", "evals"):
        cols = {k: t for k, t in tensors.items() if k.startswith(prefix + "/")}
        for key, t in cols.items():
            if t.ndim != 1 or not t.dtype.is_floating_point:
                raise CheckpointError(f"{file}: {key} must be a 1-D float tensor, not {t.dtype} of shape "
                                      f"{list(t.shape)}")
        lengths = sorted({t.shape[0] for t in cols.values()})
        if len(lengths) > 1:
            raise CheckpointError(f"{file}: the {prefix} columns have different lengths {lengths}; the file is "
                                  "damaged")
    for key, t in tensors.items():
        if key.startswith(("opt_g/", "opt_d/")):
            parts = key.split("/")
            if len(parts) != 3 or not re.fullmatch(r"[0-9]{1,6}", parts[1]) or not parts[2]:
                raise CheckpointError(f"{file}: optimiser tensor name {_short(key)} is not <opt>/<index>/<name>")
        elif key.startswith(("G/", "D/", "G_ema/")) and not (t.dtype.is_floating_point or t.dtype == torch.int64):
            raise CheckpointError(f"{file}: {key} has dtype {t.dtype}; weights are floats")


def _check_module(what: str, module: torch.nn.Module, prefix: str, tensors: dict) -> dict:
    """The ``prefix/`` tensors as a state dict for ``module``, or one line saying what does not fit."""
    want = module.state_dict()
    got = {k[len(prefix) + 1:]: v for k, v in tensors.items() if k.startswith(prefix + "/")}
    for key, ref in want.items():
        if key not in got:
            raise CheckpointError(f"{what} does not fit its own config: {prefix}/{key} is missing")
        t = got[key]
        if tuple(t.shape) != tuple(ref.shape):
            raise CheckpointError(f"{what} does not fit its own config: {prefix}/{key} has shape {list(t.shape)}, "
                                  f"the config's model needs {list(ref.shape)}")
        if t.dtype != ref.dtype:
            raise CheckpointError(f"{what} does not fit its own config: {prefix}/{key} has dtype {t.dtype}, "
                                  f"expected {ref.dtype}")
    extra = sorted(set(got) - set(want))
    if extra:
        raise CheckpointError(f"{what} does not fit its own config: unexpected tensor {prefix}/{extra[0]}"
                              + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""))
    return got


def _check_optimizer(what: str, prefix: str, opt: torch.optim.Optimizer, tensors: dict) -> None:
    params = [p for group in opt.param_groups for p in group["params"]]
    keys: dict = {}
    for name, t in tensors.items():
        if not name.startswith(prefix + "/"):
            continue
        _, idx, key = name.split("/", 2)
        i = int(idx)
        if i >= len(params):
            raise CheckpointError(f"{what} does not fit its own config: {name} is for parameter {i}, but the "
                                  f"optimiser has {len(params)}")
        if key == "step":
            if t.numel() != 1 or not torch.isfinite(t.double()).all() or float(t) < 0:
                raise CheckpointError(f"{what}: {name} must be one finite number >= 0")
        elif tuple(t.shape) != tuple(params[i].shape) or not t.dtype.is_floating_point:
            raise CheckpointError(f"{what} does not fit its own config: {name} has {t.dtype} shape "
                                  f"{list(t.shape)}, its parameter is {list(params[i].shape)}")
        keys.setdefault(i, set()).add(key)
    rule = OPT_KEYS.get(type(opt).__name__)
    if rule is not None:
        required, allowed = rule
        for i, have in keys.items():
            if not required <= have or not have <= required | allowed:
                raise CheckpointError(f"{what} does not fit its own config: {prefix}/{i} holds {sorted(have)}, "
                                      f"not the state of a {type(opt).__name__} optimiser "
                                      f"({sorted(required | allowed)})")
