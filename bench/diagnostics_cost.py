"""Benchmark: what live diagnostics cost in training throughput (target: at most 5%).

    python bench/diagnostics_cost.py [--seconds 20] [--rounds 2] [--data-dir ../shared/data]

For each preset, runs the same Run headless with live diagnostics on and off (Diagnostics.due forced to
False), alternating ``--rounds`` times so drift in machine speed hits both, and prints steps/s, the
number of measurements made and the throughput ratio. mnist needs MNIST under --data-dir.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from gan_core.diagnostics import Diagnostics  # noqa: E402
from gan_core.run import Run  # noqa: E402


def rate(preset: str, seconds: float, diagnostics: bool, data_dir: str) -> tuple[float, int]:
    overrides = {"data_dir": data_dir} if preset in ("mnist", "fashion_mnist", "stacked_mnist") else {}
    run = Run.from_preset(preset, **overrides)
    if not diagnostics:
        run.diagnostics.due = lambda *a, **k: False
    run.start()
    time.sleep(2.0)  # warm-up: first steps and the diagnostics' one-off reference features
    s0, t0 = run.step, time.perf_counter()
    time.sleep(seconds)
    s1, t1 = run.step, time.perf_counter()
    run.stop(timeout=None)
    return (s1 - s0) / (t1 - t0), len(run.evals)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--presets", nargs="+", default=["ring8", "digits", "mnist"])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    print(f"# torch {torch.__version__}, budget {Diagnostics.__init__.__defaults__[0]:.0%} of the training thread")
    print(f"{'preset':<10} {'diag off it/s':>13} {'diag on it/s':>12} {'measurements':>12} {'on/off':>7}")
    for preset in args.presets:
        off, on, made = [], [], []
        for _ in range(args.rounds):
            off.append(rate(preset, args.seconds, False, args.data_dir)[0])
            r, n = rate(preset, args.seconds, True, args.data_dir)
            on.append(r)
            made.append(n)
        a, b = statistics.mean(off), statistics.mean(on)
        print(f"{preset:<10} {a:>13.1f} {b:>12.1f} {statistics.mean(made):>12.0f} {b / a:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
