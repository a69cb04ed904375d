"""Checkpoints: one safetensors file (weights, optimiser state, RNG state, metric history) whose header
metadata holds the JSON config and step, plus readable ``config.json`` and ``metrics.csv`` beside it.

Every file is written to a temporary name in the same folder, fsynced and renamed over the old one, so a
crash mid-save leaves the previous checkpoint intact. Loading never unpickles: a file that is not
safetensors (a torch ``.pt`` pickle, say) is refused with a clear ``CheckpointError``.

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

from .config import Config

FORMAT = "gan-playground/1"
WEIGHTS_FILE, CONFIG_FILE, METRICS_FILE = "checkpoint.safetensors", "config.json", "metrics.csv"


class CheckpointError(ValueError):
    """A checkpoint that cannot be read; the message says which file and why."""


def atomic_write(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
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


def list_checkpoints(root) -> list[dict]:
    """Checkpoint folders directly under ``root``, newest first, each as {path, run_id, step, saved_at,
    preset, dataset, arch, loss}; read from the safetensors header only (fast, never unpickles). Unreadable
    folders are listed with an ``error``."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for file in root.glob(f"*/{WEIGHTS_FILE}"):
        entry = {"path": file.parent, "run_id": file.parent.name, "step": None, "saved_at": file.stat().st_mtime}
        try:
            meta = read_meta(file)
            cfg = json.loads(meta["config"])
            entry.update(run_id=meta.get("run_id") or file.parent.name, step=int(meta["step"]),
                         preset=meta.get("preset") or None,
                         saved_at=float(meta.get("saved_at", entry["saved_at"])),
                         dataset=cfg["data"]["dataset"], arch=cfg["model"]["arch"], loss=cfg["loss"]["loss"])
        except (CheckpointError, ValueError, KeyError, TypeError) as exc:
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
    file = path / WEIGHTS_FILE if path.is_dir() else path
    if not file.is_file():
        raise CheckpointError(f"no checkpoint at {file} (expected a folder holding {WEIGHTS_FILE})")
    return file


def _unreadable(file: Path, exc: BaseException) -> CheckpointError:
    return CheckpointError(f"{file} is not a readable safetensors checkpoint ({exc}); "
                           "pickled .pt/.pth files are never loaded")


def read_meta(path) -> dict:
    """The header metadata of a checkpoint (folder or file) without reading its tensors."""
    file = _weights_file(path)
    try:
        from safetensors import safe_open
        with safe_open(str(file), framework="pt") as f:
            return f.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable(file, exc) from None


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint folder or its .safetensors file; never unpickles anything."""
    file = _weights_file(path)
    meta = read_meta(file)
    try:
        tensors = load_file(str(file))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise _unreadable(file, exc) from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{file} is a safetensors file but not a GAN Playground checkpoint "
                              f"(format {meta.get('format')!r}, expected {FORMAT!r})")
    try:
        config = Config.from_dict(json.loads(meta["config"]))
        step = int(meta["step"])
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{file} has an invalid config: {exc}") from None
    return Checkpoint(config, step, tensors, meta)


def generator_from_checkpoint(path, device: str = "cpu"):
    """Only the generator of a checkpoint, as a GeneratorView: no dataset needs to be present."""
    from .latent import GeneratorView
    from .models import build_models
    ckpt = load_checkpoint(path)
    try:
        shape = tuple(json.loads(ckpt.meta["data_shape"]))
        classes = int(ckpt.meta.get("num_classes", "0"))
        names = json.loads(ckpt.meta.get("class_names", "[]"))
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"{path}: checkpoint lacks the data shape needed to rebuild G ({exc})") from None
    cfg = ckpt.config
    torch.manual_seed(0)
    g, _ = build_models(cfg.model, shape, classes, not cfg.data.is_toy)
    try:
        g.load_state_dict({k[2:]: v for k, v in ckpt.tensors.items() if k.startswith("G/")})
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: generator weights do not fit the config: {exc}") from None
    dev = torch.device(device)
    g = g.to(dev).eval().requires_grad_(False)
    return GeneratorView(g, ckpt.step, cfg.model.z_dim, classes if cfg.model.conditional else 0, names, shape,
                         not cfg.data.is_toy, cfg.data.dataset, dev)


def restore_into(run, ckpt: Checkpoint) -> None:
    """Load weights, optimiser and RNG state, step and history from ``ckpt`` into a fresh run."""
    tr = run.trainer
    try:
        tr.G.load_state_dict({k[2:]: v for k, v in ckpt.tensors.items() if k.startswith("G/")})
        tr.D.load_state_dict({k[2:]: v for k, v in ckpt.tensors.items() if k.startswith("D/")})
        _load_optimizer("opt_g", tr.opt_g, ckpt.tensors)
        _load_optimizer("opt_d", tr.opt_d, ckpt.tensors)
        if "rng/train" in ckpt.tensors:
            tr.gen.set_state(ckpt.tensors["rng/train"])
            tr.eval_gen.set_state(ckpt.tensors["rng/eval"])
    except (RuntimeError, KeyError, ValueError) as exc:
        raise CheckpointError(f"checkpoint does not fit its own config: {exc}") from None
    tr.step_count = ckpt.step
    tr._d_updates = int(ckpt.meta.get("d_updates", ckpt.step * run.config.train.d_steps))
    tr._lr_factor = None  # the next step writes the schedule's learning rates for the restored step
    tr.G.to(tr.device)
    tr.D.to(tr.device)
    for prefix, hist, stride in (("history", run.history, "history_stride"), ("evals", run.evals, "evals_stride")):
        cols = [ckpt.tensors.get(f"{prefix}/{n}") for n in hist.names]
        if all(c is not None for c in cols) and cols:
            rows = np.stack([c.double().numpy() for c in cols], 1)[: hist.capacity - 1]
            hist.data[: rows.shape[0]] = rows
            hist.n = rows.shape[0]
            hist.stride = int(ckpt.meta.get(stride, "1"))
            if rows.shape[0]:
                hist.last = rows[-1].copy()
