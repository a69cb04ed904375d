"""Eager against torch.compile for the training step, side by side in one run on one machine:
``python bench/compile_vs_eager.py --data-dir ../shared/data/mnist`` (MNIST is skipped without it).

For each preset: a fresh seeded Trainer runs 50 steps eager, another the same 50 steps compiled
(``Trainer.compile``); then each runs --steps more, timed. Prints the first step's time (the compiled one
waits for the compiler), steps/s after warm-up, and the largest gap between the two paths' D losses over
the first 50 steps, absolute and relative.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from gan_core.presets import preset_config  # noqa: E402
from gan_core.trainer import Trainer  # noqa: E402

FIRST = 50


def _path(name: str, compiled: bool, steps: int, data_dir) -> dict:
    kw = {"data_dir": data_dir} if data_dir else {}
    tr = Trainer(preset_config(name, seed=0, device="cpu" if not torch.cuda.is_available() else "auto", **kw))
    if compiled:
        tr.compile()
    t = time.perf_counter()
    losses = [tr.step()[0].item()]
    first = time.perf_counter() - t
    losses += [tr.step()[0].item() for _ in range(FIRST - 1)]
    t = time.perf_counter()
    for _ in range(steps):
        out = tr.step()
    out[0].item()  # wait for the device
    return {"first_s": first, "rate": steps / (time.perf_counter() - t), "losses": losses,
            "note": tr.compile_note, "device": str(tr.device)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--steps", type=int, default=0, help="timed steps per path (default: 1000 ring8, 100 mnist)")
    a = p.parse_args()
    presets = [("ring8", a.steps or 1000)]
    if a.data_dir and os.path.isdir(a.data_dir):
        presets.append(("mnist", a.steps or 100))
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, threads {torch.get_num_threads()}")
    print("| preset | path | first step | steps/s | max abs gap, first 50 D losses | max relative gap |")
    print("|---|---|---|---|---|---|")
    for name, steps in presets:
        eager = _path(name, False, steps, a.data_dir)
        comp = _path(name, True, steps, a.data_dir)
        gaps = [abs(x - y) for x, y in zip(eager["losses"], comp["losses"])]
        rel = max(g / max(abs(x), 1e-12) for g, x in zip(gaps, eager["losses"]))
        print(f"| {name} | eager ({eager['device']}) | {eager['first_s']:.2f} s | {eager['rate']:.1f} | | |")
        print(f"| {name} | compiled | {comp['first_s']:.2f} s | {comp['rate']:.1f} | {max(gaps):.2e} | "
              f"{rel:.2e} |{' ' + comp['note'] if comp['note'] else ''}", flush=True)


if __name__ == "__main__":
    main()
