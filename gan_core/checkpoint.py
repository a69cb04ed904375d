"""Checkpoints: one safetensors file (weights, optimiser state, RNG state, metric history) whose header
metadata holds the JSON config and step, plus readable ``config.json`` and ``metrics.csv`` beside it.

Every file is written to a temporary name in the same folder, fsynced and renamed over the old one, so a
crash mid-save leaves the previous checkpoint intact. Loading never unpickles: a file that is not
safetensors (a torch ``.pt`` pickle, say) is refused with a clear ``CheckpointError``.

A checkpoint is untrusted input: every metadata field is checked for type and range, and every tensor for
shape and dtype (against the config's models when restoring), before anything is used; any problem is one
line of ``CheckpointError`` (those checks live in ``checkpoint_checks.py``; this module keeps saving, loading,
listing and restoring). Run folders and checkpoint files that are symbolic links are refused for saving
and loading alike (``UnsafeCheckpointPath``, also an ``OSError``), so a save never lands outside its folder.

    save_checkpoint(run, "runs/ring8")   ->  runs/ring8/checkpoint.safetensors, config.json, metrics.csv
    ckpt = load_checkpoint("runs/ring8")  ->  Checkpoint(config, step, tensors, meta)
"""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .checkpoint_checks import MAX_CLASSES, MAX_SAMPLE_VALUES, MAX_STEP, OPT_KEYS, RUN_ID  # noqa: F401  (re-exported)
from .checkpoint_checks import CheckpointError, _check_meta, _check_module, _check_optimizer, _check_tensors, _short
from .config import Config

FORMAT = "gan-playground/1"
WEIGHTS_FILE, CONFIG_FILE, METRICS_FILE = "checkpoint.safetensors", "config.json", "metrics.csv"


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
    if tr.g_ema is not None:  # the averaged G (train.g_ema): what the Latent lab and evaluate use
        tensors.update({f"G_ema/{k}": v for k, v in tr.g_ema.state_dict().items()})
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
                         dataset=cfg["data"]["dataset"], arch=cfg["model"]["arch"], loss=cfg["loss"]["loss"],
                         family=cfg["model"].get("family") or ("cgan" if cfg["model"].get("conditional") else "gan"))
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
    from .families import get_family
    from .latent import continuous_codes, input_names
    g_classes = get_family(cfg.model.family).classes(cfg.model, classes)
    embed = ckpt.tensors.get("G/embed.weight")
    if g_classes and embed is not None and embed.shape[0] != g_classes:
        raise CheckpointError(f"{path}: G's label embedding has {embed.shape[0]} classes but the checkpoint says "
                              f"{g_classes}")
    torch.manual_seed(0)
    try:
        g, _ = build_models(cfg.model, shape, classes, not cfg.data.is_toy)
    except ValueError as exc:
        raise CheckpointError(f"{path}: cannot rebuild G from the config and data_shape {list(shape)}: {exc}") from None
    averaged = _has(ckpt, "G_ema")  # a run with train.g_ema: its averaged G is the one to look at
    g.load_state_dict(_check_module(str(path), g, "G_ema" if averaged else "G", ckpt.tensors))
    dev = torch.device(device)
    g = g.to(dev).eval().requires_grad_(False)
    return GeneratorView(g, ckpt.step, cfg.model.z_dim, g_classes, input_names(cfg.model, g_classes, names), shape,
                         not cfg.data.is_toy, cfg.data.dataset, dev, 0.0, cfg.model.family,
                         continuous_codes(cfg.model))


def _has(ckpt: Checkpoint, prefix: str) -> bool:
    return any(k.startswith(prefix + "/") for k in ckpt.tensors)


def restore_into(run, ckpt: Checkpoint) -> None:
    """Load weights, optimiser and RNG state, step and history from ``ckpt`` into a fresh run; everything is
    checked against the run's models first, so a bad checkpoint changes nothing and raises one line."""
    tr = run.trainer
    what = "checkpoint"
    info = _check_meta(Path(what), ckpt.meta)
    g_state = _check_module(what, tr.G, "G", ckpt.tensors)
    d_state = _check_module(what, tr.D, "D", ckpt.tensors)
    ema_state = _check_module(what, tr.g_ema, "G_ema", ckpt.tensors) if _has(ckpt, "G_ema") and tr.g_ema is not None \
        else None
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
        if tr.g_ema is not None:  # saved with the run, or (turned on since) starting at the loaded G
            tr.g_ema.load_state_dict(ema_state if ema_state is not None else g_state)
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
    if tr.g_ema is not None:
        tr.g_ema.to(tr.device)
    for prefix, hist, stride in (("history", run.history, "history_stride"), ("evals", run.evals, "evals_stride")):
        cols = [ckpt.tensors.get(f"{prefix}/{n}") for n in hist.names]
        if cols and cols[0] is not None:  # a column added since the file was written reads NaN (not measured)
            cols = [c.double().numpy() if c is not None else np.full(cols[0].shape[0], np.nan) for c in cols]
            rows = np.stack(cols, 1)[: hist.capacity - 1]
            hist.data[: rows.shape[0]] = rows
            hist.n = rows.shape[0]
            hist.stride = info[stride]
            if rows.shape[0]:
                hist.last = rows[-1].copy()
