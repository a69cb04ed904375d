"""MNIST (or any preset) images/s trained by 1 process and by N processes under torchrun, in one run on
one machine: ``python bench/ddp_images_per_s.py --preset mnist --steps 150 --data-dir ../shared/data/mnist``.

Each row is one `python -m gan_core train` (1 process with 1 and with all CPU threads, then torchrun with
N processes of 1 thread each); the figure is the final JSON line's samples_per_s (global batch x steps/s,
measured by the trainer over its training time, start-up excluded). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd: list, threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="mnist")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--data-dir", default=None)
    a = p.parse_args()
    cores = os.cpu_count() or 1
    train = ["-m", "gan_core", "train", "--preset", a.preset, "--steps", str(a.steps), "--seed", "0", "--quiet",
             "--device", "cpu"] + (["--data-dir", a.data_dir] if a.data_dir else [])
    rows = [("1 process, 1 thread", [sys.executable, *train, "--set", "cpu_threads=1"], 1),
            (f"1 process, {cores} threads", [sys.executable, *train, "--set", f"cpu_threads={cores}"], cores),
            (f"{a.processes} processes (torchrun, gloo), 1 thread each",
             [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={a.processes}",
              *train, "--set", "cpu_threads=1"], 1)]
    print(f"| {a.preset}, {a.steps} steps, {cores} CPU cores | steps/s | images/s |")
    print("|---|---|---|")
    for label, cmd, threads in rows:
        r = _run(cmd, threads)
        print(f"| {label} | {r['steps_per_s']:.1f} | {r['samples_per_s']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
