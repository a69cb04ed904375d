"""Checkpoints: one safetensors file (weights, optimiser state, RNG state, metric history) whose header
metadata holds the JSON config and step, plus readable ``config.json`` and ``metrics.csv`` beside it.

Every file is written to a temporary name in the same folder, fsynced and renamed over the old one, so a
crash mid-save leaves the previous checkpoint intact. Loading never unpickles: a file that is not
safetensors (a torch ``.pt`` pickle, say) is refused with a clear ``CheckpointError``.

A checkpoint is untrusted input: every metadata field is checked for type and range, and every tensor for
shape and dtype (against the config's models when restoring), before anything is used; any problem is one
line of ``CheckpointError``. Run folders and checkpoint files that are symbolic links are refused for saving
and loading alike (``UnsafeCheckpointPath``, also an ``OSError``), so a save never lands outside its folder.

    save_checkpoint(run, "runs/ring8")   ->  runs/ring8/checkpoint.safetensors, config.json, metrics.csv
    ckpt = load_checkpoint("runs/ring8")  ->  Checkpoint(config, step, tensors, meta)
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .config import Config

FORMAT = "gan-playground/1"
WEIGHTS_FILE, CONFIG_FILE, METRICS_FILE = "checkpoint.safetensors", "config.json", "metrics.csv"


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


class UnsafeCheckpointPath(CheckpointError, OSError):
    """A run folder or checkpoint file that is a symbolic link (refused: writes could land anywhere). Also an
    OSError, so a failed autosave is reported and training goes on, like a full disk."""


def _refuse_link(path: Path, what: str) -> None:
    if path.is_symlink():
        raise UnsafeCheckpointPath(f"{path} is a symbolic link; checkpoint {what}s are never followed through "
                                   f"links (use the folder it points to, {os.path.realpath(path)}, directly)")


def atomic_write(path: Path, data: bytes) -> None:
    path = Path(path)
    _refuse_link(path.parent, "folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    _refuse_link(path, "file")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _optimizer_tensors(prefix: str, opt: torch.optim.Optimizer) -> dict:
    out = {}
    for idx, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            out[f"{prefix}/{idx}/{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return out


def _load_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict) -> None:
    state: dict = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "/"):
            _, idx, key = name.split("/", 2)
            state.setdefault(int(idx), {})[key] = value
    sd = opt.state_dict()
    opt.load_state_dict({"state": state, "param_groups": sd["param_groups"]})


def state_tensors(run) -> dict:
    """Every tensor a run needs to resume, contiguous and on the CPU, keyed by a readable name."""
    tr = run.trainer
    tensors = {f"G/{k}": v for k, v in tr.G.state_dict().items()}
    tensors.update({f"D/{k}": v for k, v in tr.D.state_dict().items()})
    tensors.update(_optimizer_tensors("opt_g", tr.opt_g))
    tensors.update(_optimizer_tensors("opt_d", tr.opt_d))
    tensors["rng/train"] = tr.gen.get_state()
    tensors["rng/eval"] = tr.eval_gen.get_state()
    for prefix, hist in (("history", run.history), ("evals", run.evals)):
        for i, name in enumerate(hist.names):
            tensors[f"{prefix}/{name}"] = torch.from_numpy(hist.data[: hist.n, i].copy())
    return {k: v.detach().cpu().contiguous() for k, v in tensors.items()}


def _remove_stale_temporaries(out: Path, older_than: float = 60.0) -> None:
    """Temporary files left by a save that was killed midway (never read; removed on the next save)."""
    now = time.time()
    for tmp in out.glob(".*.tmp"):
        try:
            if now - tmp.stat().st_mtime > older_than:
                tmp.unlink()
        except OSError:
            pass


def save_checkpoint(run, out_dir) -> Path:
    """Write the run's checkpoint into ``out_dir`` (created if needed); returns the weights path.

    The weights file is the checkpoint (it holds the config, step and history too) and is replaced in one
    rename: a crash at any moment leaves either the old or the new one, never a mix or a torn file."""
    out = Path(out_dir)
    _check_target(out)
    if out.is_dir():
        _remove_stale_temporaries(out)
    with run._lock:
        tensors = state_tensors(run)
        meta = {"format": FORMAT, "step": str(run.trainer.step_count), "saved_at": str(time.time()),
                "config": json.dumps(run.config.to_dict()), "run_id": run.id, "preset": run.preset or "",
                "history_stride": str(run.history.stride), "evals_stride": str(run.evals.stride),
                "d_updates": str(run.trainer._d_updates),  # lazy R1 phase: needed for an exact resume
                "data_shape": json.dumps(list(run.trainer.data_shape)),  # lets G load without the data
                "num_classes": str(run.trainer.data.num_classes),
                "class_names": json.dumps(list(getattr(run.trainer.data, "class_names", []) or []))}
        rows = run.history.data[: run.history.n].copy()
        names = run.history.names
    atomic_write(out / WEIGHTS_FILE, save(tensors, metadata=meta))
    info = {"format": FORMAT, "step": int(meta["step"]), "run_id": run.id, "config": run.config.to_dict()}
    atomic_write(out / CONFIG_FILE, (json.dumps(info, indent=2) + "\n").encode())
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(names)
    writer.writerows([[f"{v:.6g}" for v in row] for row in rows])
    atomic_write(out / METRICS_FILE, text.getvalue().encode())
    return out / WEIGHTS_FILE


def _check_target(out: Path) -> None:
    """Refuse to save into a symlinked folder, over symlinked files, or into something that is not a folder."""
    _refuse_link(out, "folder")
    if out.exists() and not out.is_dir():
        raise CheckpointError(f"cannot save into {out}: it exists and is not a folder")
    for name in (WEIGHTS_FILE, CONFIG_FILE, METRICS_FILE):
        _refuse_link(out / name, "file")
        if (out / name).exists() and not (out / name).is_file():
            raise CheckpointError(f"cannot save into {out}: {name} there is not a regular file")


def list_checkpoints(root) -> list[dict]:
    """Checkpoint folders directly under ``root``, newest first, each as {path, run_id, step, saved_at,
    preset, dataset, arch, loss}; read from the safetensors header only (fast, never unpickles). Unreadable
    folders (symbolic links included) are listed with an ``error``."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for file in root.glob(f"*/{WEIGHTS_FILE}"):
        try:
            mtime = file.lstat().st_mtime
        except OSError:
            continue  # removed while listing
        entry = {"path": file.parent, "run_id": file.parent.name, "step": None, "saved_at": mtime}
        try:
            meta = read_meta(file.parent)
            cfg = json.loads(meta["config"])
            entry.update(run_id=meta.get("run_id") or file.parent.name, step=int(meta["step"]),
                         preset=meta.get("preset") or None,
                         saved_at=float(meta.get("saved_at", entry["saved_at"])),
                         dataset=cfg["data"]["dataset"], arch=cfg["model"]["arch"], loss=cfg["loss"]["loss"])
        except (CheckpointError, ValueError, KeyError, TypeError, AttributeError) as exc:
            entry["error"] = f"unreadable: {exc}"
        out.append(entry)
    return sorted(out, key=lambda e: e["saved_at"], reverse=True)


@dataclass
class Checkpoint:
    config: Config
    step: int
    tensors: dict
    meta: dict


def _weights_file(path) -> Path:
    path = Path(path)
    _refuse_link(path, "folder" if path.is_dir() else "file")
    file = path / WEIGHTS_FILE if path.is_dir() else path
    _refuse_link(file, "file")
    if not file.is_file():
        raise CheckpointError(f"no checkpoint at {file} (expected a folder holding {WEIGHTS_FILE})")
    return file


def _unreadable(file: Path, exc: BaseException) -> CheckpointError:
    return CheckpointError(f"{file} is not a readable safetensors checkpoint ({exc}); "
                           "pickled .pt/.pth files are never loaded")


# ---------------------------------------------------------------- validation of untrusted checkpoints

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
        elif key.startswith(("G/", "D/")) and not (t.dtype.is_floating_point or t.dtype == torch.int64):
            raise CheckpointError(f"{file}: {key} has dtype {t.dtype}; weights are floats")


def read_meta(path) -> dict:
    """The header metadata of a checkpoint (folder or file) without reading its tensors, checked: a file of
    another format or with a bad field raises CheckpointError."""
    file = _weights_file(path)
    try:
        from safetensors import safe_open
        with safe_open(str(file), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable(file, exc) from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{file} is a safetensors file but not a GAN Playground checkpoint "
                              f"(format {_short(meta.get('format'))}, expected {FORMAT!r})")
    _check_meta(file, meta)
    return meta


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint folder or its .safetensors file; never unpickles anything. Every metadata field and
    the model-independent tensors are validated here; ``restore_into`` checks the rest against the models."""
    file = _weights_file(path)
    meta = read_meta(file)
    try:
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable(file, exc) from None
    try:
        config = Config.from_dict(json.loads(meta["config"]))
    except (KeyError, ValueError, TypeError, RecursionError) as exc:
        raise CheckpointError(f"{file} has an invalid config: {exc}") from None
    step = _check_meta(file, meta)["step"]
    _check_tensors(file, tensors)
    return Checkpoint(config, step, tensors, meta)


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


def generator_from_checkpoint(path, device: str = "cpu"):
    """Only the generator of a checkpoint, as a GeneratorView: no dataset needs to be present."""
    from .latent import GeneratorView
    from .models import build_models
    ckpt = load_checkpoint(path)
    info = _check_meta(Path(path), ckpt.meta)
    shape, classes, names = info["data_shape"], info["num_classes"], info["class_names"]
    if shape is None:
        raise CheckpointError(f"{path}: checkpoint lacks the data shape needed to rebuild G (metadata data_shape)")
    cfg = ckpt.config
    embed = ckpt.tensors.get("G/embed.weight")
    if cfg.model.conditional and embed is not None and embed.shape[0] != classes:
        raise CheckpointError(f"{path}: G's label embedding has {embed.shape[0]} classes but num_classes = {classes}")
    torch.manual_seed(0)
    try:
        g, _ = build_models(cfg.model, shape, classes, not cfg.data.is_toy)
    except ValueError as exc:
        raise CheckpointError(f"{path}: cannot rebuild G from the config and data_shape {list(shape)}: {exc}") from None
    g.load_state_dict(_check_module(str(path), g, "G", ckpt.tensors))
    dev = torch.device(device)
    g = g.to(dev).eval().requires_grad_(False)
    return GeneratorView(g, ckpt.step, cfg.model.z_dim, classes if cfg.model.conditional else 0, names, shape,
                         not cfg.data.is_toy, cfg.data.dataset, dev)


def restore_into(run, ckpt: Checkpoint) -> None:
    """Load weights, optimiser and RNG state, step and history from ``ckpt`` into a fresh run; everything is
    checked against the run's models first, so a bad checkpoint changes nothing and raises one line."""
    tr = run.trainer
    what = "checkpoint"
    info = _check_meta(Path(what), ckpt.meta)
    g_state = _check_module(what, tr.G, "G", ckpt.tensors)
    d_state = _check_module(what, tr.D, "D", ckpt.tensors)
    _check_optimizer(what, "opt_g", tr.opt_g, ckpt.tensors)
    _check_optimizer(what, "opt_d", tr.opt_d, ckpt.tensors)
    rng = ckpt.tensors.get("rng/train"), ckpt.tensors.get("rng/eval")
    for gen, state, name in ((tr.gen, rng[0], "rng/train"), (tr.eval_gen, rng[1], "rng/eval")):
        if state is not None and state.numel() != gen.get_state().numel():
            raise CheckpointError(f"{what} does not fit this run: {name} has {state.numel()} bytes, a "
                                  f"{tr.device.type} generator keeps {gen.get_state().numel()} (saved on another "
                                  "device?)")
    try:
        tr.G.load_state_dict(g_state)
        tr.D.load_state_dict(d_state)
        _load_optimizer("opt_g", tr.opt_g, ckpt.tensors)
        _load_optimizer("opt_d", tr.opt_d, ckpt.tensors)
        if rng[0] is not None:
            tr.gen.set_state(rng[0])
            tr.eval_gen.set_state(rng[1])
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"checkpoint does not fit its own config: {exc}") from None
    tr.step_count = ckpt.step
    d_updates = info["d_updates"]
    tr._d_updates = d_updates if d_updates is not None else ckpt.step * run.config.train.d_steps
    tr._lr_factor = None  # the next step writes the schedule's learning rates for the restored step
    tr.G.to(tr.device)
    tr.D.to(tr.device)
    for prefix, hist, stride in (("history", run.history, "history_stride"), ("evals", run.evals, "evals_stride")):
        cols = [ckpt.tensors.get(f"{prefix}/{n}") for n in hist.names]
        if all(c is not None for c in cols) and cols:
            rows = np.stack([c.double().numpy() for c in cols], 1)[: hist.capacity - 1]
            hist.data[: rows.shape[0]] = rows
            hist.n = rows.shape[0]
            hist.stride = info[stride]
            if rows.shape[0]:
                hist.last = rows[-1].copy()
