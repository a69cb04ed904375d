"""Speed of the classic 64x64 DCGAN on MNIST: the reference loop against the playground, on one device.

    python -m gan_core bench [--device auto|cpu|cuda] [--batch-sizes 64,128,512] [--iters N] [--data-dir DIR]
    python bench/dcgan_speed.py ...             (the same command)

The model is pytorch/examples' dcgan (nz=100, ngf=ndf=64, 1 channel, BatchNorm, Adam 2e-4 beta1=0.5, BCE).
For each batch size, in one process and on the same device, it trains for a fixed number of iterations
(after a few untimed warm-up iterations) and reports images/s for:

- ``reference``: a faithful re-implementation of pytorch/examples' dcgan/main.py training loop — its own
  Generator/Discriminator (Sigmoid output, ``nn.BCELoss``), ``weights_init``, a ``DataLoader`` over the images
  (shuffle, ``num_workers=0``), D on real then on the detached fake, the G step, and the five ``.item()``
  calls per step of its log line (the line is formatted, not printed; the example's every-100-steps image
  grids are left out). ``cudnn.benchmark`` is on while it runs, as in the example.
- ``eager``: the same model, loss and optimiser through the playground — a real ``gan_core.Run`` (training
  thread, per-step metrics kept on the device and copied out every 64 steps) stopped by ``max_steps``.
  Live diagnostics (the classifier pass every few seconds) are off: this measures training.
- ``fast``: the same Run with the step compiled (``Trainer.compile``: torch.compile, CUDA graphs on CUDA); the
  compiler's wait falls in the warm-up. Measured by default on CUDA only (on the CPU it is slower than eager,
  docs/BENCHMARKS.md); ``compiled=True`` / ``--compile on`` measures it anywhere.

On a shared machine, ``--repeats R`` lets the loops take turns R times and reports each one's best (the
1-minute load average before and after is printed too: other work only ever slows a loop down).

Images: the MNIST IDX files found by gan_core's loader (``--data-dir``, else ``$GAN_PLAYGROUND_DATA``, else
``./data``; never downloaded here), resized to 64x64; without them, random images with a note in the output
(speed does not depend on the pixels). ``run_bench`` returns a JSON-able dict; ``format_table`` prints it.
"""
from __future__ import annotations

import math
import os
import platform
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn

from .bench_reference import (BETA1, LR, NDF, NGF, NZ, SIZE, WARMUP, RefDiscriminator,  # noqa: F401
                              RefGenerator, _check, _sync, reference_loop, weights_init)
from .config import Config
from .models import build_models
from .trainer import resolve_device

MAX_IMAGES = 10_000  # images kept in memory: 10k x 64 x 64 float32 = 164 MB
DEFAULT_ITERS = {"cpu": 10, "cuda": 200}
DEFAULT_THREADS = torch.get_num_threads()  # torch's own default, read before any Trainer changes it
POLL_SECONDS = 0.001
FAST_PATH_NOTE = "n/a (compiled path not measured: --compile on measures it; on the CPU it is slower than eager)"
Progress = Optional[Callable[[str], None]]


# ---------------------------------------------------------------- the playground's eager path

def eager_config(batch_size: int, device: str = "cpu", seed: int = 0, threads: int = 0, channels: int = 1) -> Config:
    """The playground Config equal to the reference: 64 px DCGAN, BatchNorm in G and D, the non-saturating
    loss (the reference's G step is BCE against the real label), Adam 2e-4, betas (0.5, 0.999)."""
    return Config.from_dict(dict(
        dataset="mnist", image_size=SIZE, channels=channels, download=False,
        arch="dcgan", z_dim=NZ, ngf=NGF, ndf=NDF, upsample="transposed", g_norm="batch", d_norm="batch",
        loss="non_saturating", label_smoothing=0.0, instance_noise=0.0, r1_gamma=0.0,
        batch_size=batch_size, optimizer="adam", lr_g=LR, lr_d=LR, beta1=BETA1, beta2=0.999, d_steps=1,
        lr_decay_steps=0, seed=seed, device=str(device), cpu_threads=threads))


def _run_segment(run, until_step: int) -> float:
    """Train ``run`` up to ``until_step`` and return the wall-clock seconds, device work included."""
    run.set(max_steps=until_step)
    t0 = time.perf_counter()
    run.start()
    while run.state == "running":
        time.sleep(POLL_SECONDS)
    run.call_in_loop(lambda tr: _sync(tr.device))  # on the training thread, between steps
    seconds = time.perf_counter() - t0
    if run.state == "error":
        raise RuntimeError(f"the playground run failed: {run.message}")
    if run.step != until_step:
        raise RuntimeError(f"the playground run stopped at step {run.step}, not {until_step}: {run.message}")
    return seconds


def playground_eager(images: torch.Tensor, batch_size: int, iters: int, device="cpu", seed: int = 0,
                     warmup: int = WARMUP, threads: int = 0, compiled: bool = False) -> float:
    """images/s of a real ``gan_core.Run`` (training thread, per-step metrics on the device, flushed every
    64 steps) over ``iters`` steps after ``warmup`` untimed ones, on the in-memory ``images``; ``compiled``:
    with the step compiled (the compiler runs during the warm-up, which is then at least one step)."""
    from .data.images import ImageDataset
    from .run import Run

    _check(images, batch_size, iters)
    cfg = eager_config(batch_size, torch.device(device).type, seed, threads, images.shape[1])
    run = Run(cfg, dataset=ImageDataset("mnist", images, None, 0))
    run.diagnostics.kind = None  # no classifier passes: they are budgeted separately and not training
    run.diagnostics.divergence = False
    if compiled:
        run.trainer.compile()
        warmup = max(warmup, 1)
    try:
        if warmup:
            _run_segment(run, warmup)
        seconds = _run_segment(run, warmup + iters)
    finally:
        run.stop(timeout=None)
    del run
    return batch_size * iters / seconds


# ---------------------------------------------------------------- architecture check

def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def architecture_check(channels: int = 1) -> dict:
    """Parameter counts of the reference models and of gan_core's 64 px DCGAN with the same settings, and
    whether every parameter and buffer has the same shape in the same order."""
    ref_g, ref_d = RefGenerator(NZ, NGF, channels), RefDiscriminator(NDF, channels)
    m = eager_config(2, "cpu", channels=channels).model
    g, d = build_models(m, (channels, SIZE, SIZE), 0, True)

    def shapes(mod):
        return [tuple(t.shape) for t in list(mod.parameters()) + list(mod.buffers())]

    same = shapes(ref_g) == shapes(g) and shapes(ref_d) == shapes(d)
    return {"reference_g": _count(ref_g), "reference_d": _count(ref_d), "gan_core_g": _count(g),
            "gan_core_d": _count(d), "same_shapes": same,
            "same_architecture": same and _count(ref_g) == _count(g) and _count(ref_d) == _count(d)}


# ---------------------------------------------------------------- data

def load_bench_images(data_dir: Optional[str] = None, max_images: int = MAX_IMAGES, min_images: int = 1024,
                      seed: int = 0) -> tuple[torch.Tensor, str]:
    """(images (N, 1, 64, 64) in [-1, 1], a one-line description). MNIST through gan_core's loader
    (never downloaded); random images when it is not there, and the description says so."""
    from .config import DataConfig
    from .data.images import DataError, load_images

    if data_dir and not Path(data_dir).expanduser().is_dir():
        raise ValueError(f"--data-dir {data_dir} is not a directory")
    try:
        ds = load_images(DataConfig(dataset="mnist", data_dir=data_dir or "", image_size=SIZE, channels=1,
                                    download=False, max_images=max_images))
        return ds.images, f"MNIST ({len(ds):,} images resized to {SIZE}x{SIZE})"
    except DataError as exc:
        n = max(min_images, 1)
        gen = torch.Generator().manual_seed(seed)
        images = torch.rand(n, 1, SIZE, SIZE, generator=gen).mul_(2).sub_(1)
        reason = str(exc).split(". ")[0]
        return images, (f"RANDOM images ({n:,}), MNIST not loaded ({reason}); give --data-dir. "
                        "Speed does not depend on the pixels")


# ---------------------------------------------------------------- the whole benchmark

def run_bench(batch_sizes: Sequence[int] = (64, 128, 512), iters=None, device: str = "auto",
              data: Optional[torch.Tensor] = None, data_dir: Optional[str] = None, warmup: int = WARMUP,
              threads: int = 0, seed: int = 0, repeats: int = 1, progress: Progress = None,
              compiled: Optional[bool] = None) -> dict:
    """Measure every loop at every batch size; ``iters`` is one int or one per batch size (default:
    ``DEFAULT_ITERS`` for the device). ``data``: images (N, 1, 64, 64) in [-1, 1], else loaded. ``threads``:
    torch CPU threads for all loops alike (0 = torch's default). ``repeats``: the loops take turns this many
    times and each reports its best (other work on a shared machine only ever slows a loop down); every
    measurement is kept under ``*_all``. ``compiled``: measure the compiled step too (None: on CUDA only).
    Returns a JSON-able dict."""
    dev = resolve_device(device)
    compiled = dev.type == "cuda" if compiled is None else bool(compiled)
    batch_sizes = [int(b) for b in batch_sizes]
    if not batch_sizes:
        raise ValueError("give at least one batch size")
    if iters is None:
        iters = DEFAULT_ITERS[dev.type if dev.type in DEFAULT_ITERS else "cpu"]
    iters_list = [int(iters)] * len(batch_sizes) if isinstance(iters, int) else [int(i) for i in iters]
    if len(iters_list) == 1:
        iters_list *= len(batch_sizes)
    if len(iters_list) != len(batch_sizes):
        raise ValueError(f"give one iteration count or one per batch size ({len(batch_sizes)}), "
                         f"not {len(iters_list)}")
    if warmup < 0:
        raise ValueError(f"warmup = {warmup} must be >= 0")
    if repeats < 1:
        raise ValueError(f"repeats = {repeats} must be >= 1")
    if data is None:
        data, data_note = load_bench_images(data_dir, min_images=max(1024, 2 * max(batch_sizes)), seed=seed)
    else:
        data_note = f"given images ({len(data):,})"
    for b, n in zip(batch_sizes, iters_list):
        _check(data, b, n)
    threads = threads or DEFAULT_THREADS
    threads_before = torch.get_num_threads()
    arch = architecture_check(data.shape[1])
    say = progress or (lambda message: None)
    rows, load_before = [], _load()
    try:
        for b, n in zip(batch_sizes, iters_list):
            row = {"batch_size": b, "iters": n, "reference_all": [], "eager_all": [], "fast_all": []}
            for r in range(repeats):
                torch.set_num_threads(threads)
                row["reference_all"].append(reference_loop(data, b, n, dev, seed, warmup))
                say(f"batch {b}, try {r + 1}/{repeats}: reference {row['reference_all'][-1]:.1f} images/s")
                row["eager_all"].append(playground_eager(data, b, n, dev, seed, warmup, threads))
                say(f"batch {b}, try {r + 1}/{repeats}: eager {row['eager_all'][-1]:.1f} images/s")
                if compiled:
                    row["fast_all"].append(playground_eager(data, b, n, dev, seed, warmup, threads, compiled=True))
                    say(f"batch {b}, try {r + 1}/{repeats}: compiled {row['fast_all'][-1]:.1f} images/s")
                if dev.type == "cuda":
                    torch.cuda.empty_cache()
            row["reference"], row["eager"] = max(row["reference_all"]), max(row["eager_all"])
            row["fast"] = max(row["fast_all"]) if row["fast_all"] else None
            row["fast_note"] = "compiled" if row["fast_all"] else FAST_PATH_NOTE
            row["eager_vs_reference"] = row["eager"] / row["reference"]
            rows.append(row)
    finally:
        torch.set_num_threads(threads_before)
    return {"device": str(dev), "device_name": _device_name(dev), "torch": torch.__version__,
            "python": platform.python_version(), "threads": threads, "warmup": warmup, "repeats": repeats,
            "seed": seed, "data": data_note, "load_avg_before": load_before, "load_avg_after": _load(),
            "architecture": arch, "rows": rows}


def _load() -> Optional[float]:
    """The 1-minute load average (None where the system has none): other work skews CPU timings."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    try:  # Linux: the CPU model; platform.processor() is often empty there
        with open("/proc/cpuinfo") as fh:
            model = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        model = ""
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"


def format_table(result: dict) -> str:
    """A short plain-text report of ``run_bench``'s result."""
    a = result["architecture"]
    verdict = "same as pytorch/examples" if a["same_architecture"] else "DIFFERENT from pytorch/examples"
    lines = [
        f"DCGAN 64x64, nz={NZ}, ngf=ndf={NGF}; device {result['device']} ({result['device_name']}), "
        f"torch {result['torch']}, {result['threads']} CPU threads; {result['warmup']} untimed warm-up iteration(s); "
        f"best of {result['repeats']} tr{'y' if result['repeats'] == 1 else 'ies'} per loop",
        f"data: {result['data']}; 1-min load average {result['load_avg_before']} before, "
        f"{result['load_avg_after']} after",
        f"architecture: gan_core dcgan {verdict} (G {a['gan_core_g']:,} vs {a['reference_g']:,} parameters, "
        f"D {a['gan_core_d']:,} vs {a['reference_d']:,}; gan_core's D ends in a raw score trained with "
        "BCE-with-logits, the reference's in Sigmoid + BCELoss)",
        f"{'batch':>5} {'iters':>5} {'reference img/s':>15} {'eager img/s':>11} {'eager/ref':>9}  compiled img/s",
    ]
    for r in result["rows"]:
        fast = f"{r['fast']:.1f}" if r.get("fast") is not None else r["fast_note"]
        ratio = r["eager_vs_reference"]
        lines.append(f"{r['batch_size']:>5} {r['iters']:>5} {r['reference']:>15.1f} {r['eager']:>11.1f} "
                     f"{ratio if math.isfinite(ratio) else float('nan'):>8.2f}x  {fast}")
    return "\n".join(lines)


def parse_int_list(text: str, what: str, lo: int = 1, hi: int = 8192) -> list[int]:
    """'64,128,512' -> [64, 128, 512]; anything else raises ValueError naming ``what``."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(lo <= v <= hi for v in values):
        raise ValueError(f"{what} = {text!r} must be comma-separated integers in [{lo}, {hi}], e.g. 64,128,512")
    return values
