"""Benchmark: how fast the digits preset (8x8 scikit-learn digits, MLP GAN) makes recognisable digits.

    python bench/digits.py [--seconds 120] [--png docs/digits_samples.png]

"Recognisable" is judged by an SVM trained on 1,297 real digits: every 15 s of wall-clock training we
report the fraction of 500 generated samples it labels with confidence > 0.9 and how many of the 10
classes those confident samples cover, next to the same figures for 500 held-out real digits.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan_core.run import Run  # noqa: E402
from gan_core.viz import tile_images  # noqa: E402


def judge():
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC
    x, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    train, held = idx[:1297], idx[1297:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        clf = SVC(probability=True, gamma=0.001, C=10, random_state=0).fit(x[train], y[train])

    def score(pixels_0_16: np.ndarray) -> tuple[float, int]:
        p = clf.predict_proba(pixels_0_16.reshape(len(pixels_0_16), -1))
        sure = p.max(1) > 0.9
        return float(sure.mean()), len(set(p.argmax(1)[sure]))

    return score, x[held]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", default=None, help="save the final 8x8 sample grid here")
    args = ap.parse_args()
    score, held = judge()
    real_frac, real_classes = score(held)
    print(f"# torch {torch.__version__}; real held-out digits: confident {real_frac:.2f}, classes {real_classes}")
    run = Run.from_preset("digits", seed=args.seed)
    run.start()
    t0, mark = time.perf_counter(), 15.0
    print(f"{'seconds':>7} {'step':>7} {'it/s':>6} {'confident':>9} {'classes':>7}")
    while True:
        time.sleep(0.05)
        now = time.perf_counter() - t0
        if now >= mark:
            samples = run.call_in_loop(lambda tr: tr.sample(500))
            frac, classes = score(((samples.cpu().numpy() + 1) / 2 * 16).clip(0, 16))
            print(f"{mark:>7.0f} {run.step:>7} {run.latest()['steps_per_s']:>6.0f} {frac:>9.2f} {classes:>7}",
                  flush=True)
            mark += 15.0
            if mark > args.seconds:
                break
    grid = run.call_in_loop(lambda tr: tile_images(tr.fixed_samples()))
    run.stop(timeout=None)
    if args.png:
        from PIL import Image
        Image.fromarray(np.kron(grid, np.ones((6, 6), dtype=np.uint8))).save(args.png)
        print(f"# samples saved to {args.png}")


if __name__ == "__main__":
    main()
