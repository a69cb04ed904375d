"""Time to quality: seconds until the mnist preset (28x28 compact DCGAN) makes recognisable digits.

    python bench/mnist_time_to_quality.py --data-dir ../shared/data/mnist [--minutes 20] [--device auto]

"Recognisable" (the GPU issue's criterion): the shipped MNIST classifier, on 1,000 samples from fixed
noise, sees all 10 classes and is on average >= 0.9 confident. The run trains as in the app (live
diagnostics on); every ``--every`` seconds of wall-clock time the samples are judged and a line printed;
the first time both hold is reported with the same figures for 1,000 real images. Writes the final
sample grid with ``--png``.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan_core.classifier import load_classifier  # noqa: E402
from gan_core.run import Run  # noqa: E402
from gan_core.viz import tile_images  # noqa: E402

CLASSES, CONFIDENCE, N = 10, 0.9, 1000


def judge(clf, x: torch.Tensor) -> tuple[int, float]:
    p = clf.probs(x)
    return int(p.argmax(1).unique().numel()), float(p.max(1).values.mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True, help="folder with MNIST IDX files")
    ap.add_argument("--minutes", type=float, default=20.0, help="give up after this long")
    ap.add_argument("--every", type=float, default=30.0, help="seconds between judgements")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", default=None)
    a = ap.parse_args()
    run = Run.from_preset("mnist", data_dir=a.data_dir, device=a.device, seed=a.seed, download=False)
    clf = load_classifier("mnist", run.trainer.device)
    real = run.trainer.data.images[:N]
    rc, rconf = judge(clf, real)
    dev = run.trainer.device
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"{platform.machine()} CPU"
    print(f"# {name}, torch {torch.__version__}, {torch.get_num_threads()} threads; real images: "
          f"{rc} classes, mean confidence {rconf:.3f}")
    z = torch.randn(N, run.config.model.z_dim, generator=torch.Generator().manual_seed(123)).to(dev)
    print(f"{'seconds':>8} {'step':>7} {'it/s':>6} {'classes':>7} {'confidence':>10}", flush=True)
    run.start()
    t0, mark, reached = time.perf_counter(), a.every, None
    try:
        while time.perf_counter() - t0 < 60 * a.minutes:
            time.sleep(0.05)
            if time.perf_counter() - t0 < mark:
                continue
            seconds = run.snapshot(visual=False)["elapsed"]  # training time (judging pauses it)
            fake = run.call_in_loop(lambda tr: _sample(tr, z))
            classes, conf = judge(clf, fake)
            print(f"{seconds:>8.0f} {run.step:>7} {run.latest()['steps_per_s']:>6.1f} {classes:>7} {conf:>10.3f}",
                  flush=True)
            mark += a.every
            if classes >= CLASSES and conf >= CONFIDENCE:
                reached = seconds
                break
    finally:
        grid = run.call_in_loop(lambda tr: tile_images(tr.fixed_samples()))
        run.stop(timeout=None)
    print(f"# reached {CLASSES} classes at mean confidence >= {CONFIDENCE} after "
          + (f"{reached:.0f} s of training" if reached is not None else f"-- not within {a.minutes:g} min"))
    if a.png:
        from PIL import Image
        Image.fromarray(np.kron(grid, np.ones((3, 3), dtype=np.uint8))).save(a.png)
        print(f"# samples saved to {a.png}")


def _sample(tr, z: torch.Tensor) -> torch.Tensor:
    """G(z) as the app's sample grid and live diagnostics draw it (the training-mode network)."""
    with torch.no_grad():
        return tr.G(z).detach().clone()


if __name__ == "__main__":
    main()
