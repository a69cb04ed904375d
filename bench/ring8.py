"""Benchmark: the ring8 preset, headless, against a plain eager PyTorch loop in the same process.

    python bench/ring8.py [--steps 3000] [--seeds 0 1 2] [--threads 1]

For each seed: the playground's Run (thread, per-step metrics, mode evaluations every 100 steps, exactly
what `python -m gan_core train --preset ring8` does) and a reference loop — two 2x64 MLPs, Adam, the
non-saturating loss with an R1 penalty on every step, no metrics — written the way tutorials write it.
Prints steps/s, modes covered (of 8) and the high-quality fraction (2,500 samples, 3-sigma rule).
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan_core.data.toy import ring8_means  # noqa: E402
from gan_core.metrics import mode_coverage  # noqa: E402
from gan_core.run import Run  # noqa: E402


def reference_loop(steps: int, seed: int, act=nn.ReLU, lr: float = 1e-3, gamma: float = 1.0):
    """The loop people copy: eager, separate D passes on real and fake, R1 every step."""
    torch.manual_seed(seed)

    def mlp(i, o):
        return nn.Sequential(nn.Linear(i, 64), act(), nn.Linear(64, 64), act(), nn.Linear(64, o))

    g, d = mlp(2, 2), mlp(2, 1)
    opt_g = torch.optim.Adam(g.parameters(), lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr, betas=(0.5, 0.999))
    means = ring8_means()
    t0 = time.perf_counter()
    for _ in range(steps):
        x = (means[torch.randint(0, 8, (256,))] + 0.02 * torch.randn(256, 2)).requires_grad_(True)
        z = torch.randn(256, 2)
        fake = g(z)
        d_real, d_fake = d(x), d(fake.detach())
        loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        (grad,) = torch.autograd.grad(d_real.sum(), x, create_graph=True)
        loss_d = loss_d + gamma / 2 * grad.pow(2).sum(1).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-d(g(z))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    rate = steps / (time.perf_counter() - t0)
    with torch.no_grad():
        modes, hq = mode_coverage(g(torch.randn(2500, 2)), means, 0.02)
    return rate, modes, hq


def playground(steps: int, seed: int):
    run = Run.from_preset("ring8", seed=seed, max_steps=steps)
    run.start()
    while run.state == "running":
        time.sleep(0.01)
    run.stop(timeout=None)
    snap = run.snapshot(visual=False)
    modes, hq = mode_coverage(run.trainer.sample(2500), run.trainer.data.modes, 0.02)
    return steps / snap["elapsed"], modes, hq


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the reference loop")
    args = ap.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads default, "
          f"torch {torch.__version__}, python {platform.python_version()}")
    print(f"{'seed':>4} {'loop':<34} {'steps/s':>8} {'modes':>6} {'hq':>6}")
    rows = []
    for seed in args.seeds:
        torch.set_num_threads(args.threads)
        for name, fn in (("playground ring8 preset (Run)", lambda: playground(args.steps, seed)),
                         ("reference eager loop, relu, R1 1.0", lambda: reference_loop(args.steps, seed)),
                         ("reference eager loop, tanh, lr 2e-3, R1 .01",
                          lambda: reference_loop(args.steps, seed, nn.Tanh, 2e-3, 0.01))):
            rate, modes, hq = fn()
            rows.append((name, rate, modes, hq))
            print(f"{seed:>4} {name:<34} {rate:>8.0f} {modes:>6} {hq:>6.3f}", flush=True)
    for name in dict.fromkeys(r[0] for r in rows):
        sel = [r for r in rows if r[0] == name]
        print(f"mean {name:<34} {sum(r[1] for r in sel) / len(sel):>8.0f} "
              f"{min(r[2] for r in sel):>4}-{max(r[2] for r in sel)} "
              f"{sum(r[3] for r in sel) / len(sel):>6.3f}")


if __name__ == "__main__":
    main()
