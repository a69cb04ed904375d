"""Exact k-NN metrics: what exactness costs and what float32 got wrong, in one run on one machine.

    python bench/knn_exact.py [--n 2000,10000] [--width 128]

For each n, real and fake features (n x width, fake with 1.1x the spread) are scored with precision/recall
(k=3) and density/coverage (k=5) twice: by ``gan_core.quality`` (exact float64, ``gan_core/knn.py``) and
by the plain float32 ``torch.cdist`` matrix-product computation the project used before (written out
below), with the features centred at 0 and shifted by 1000. Prints seconds and the four figures of each.
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
from gan_core.quality import density_coverage, precision_recall  # noqa: E402


def float32_prdc(real: np.ndarray, fake: np.ndarray, chunk: int = 1024) -> tuple:
    """The former computation: float32 cdist (matrix product), edges counted inside for all four."""
    r, f = torch.as_tensor(real).float(), torch.as_tensor(fake).float()

    def kth(x, k):
        return torch.cat([torch.cdist(x[i:i + chunk], x).topk(k + 1, dim=1, largest=False).values[:, k]
                          for i in range(0, len(x), chunk)])

    def hits(c, radii, q):
        counts, hit = torch.zeros(len(q), dtype=torch.int64), []
        for i in range(0, len(c), chunk):
            inside = torch.cdist(c[i:i + chunk], q) <= radii[i:i + chunk, None]
            counts += inside.sum(0)
            hit.append(inside.any(1))
        return counts, torch.cat(hit)

    in_real, _ = hits(r, kth(r, 3), f)
    in_fake, _ = hits(f, kth(f, 3), r)
    counts, covered = hits(r, kth(r, 5), f)
    return (float((in_real > 0).float().mean()), float((in_fake > 0).float().mean()),
            float(counts.sum() / (5 * len(f))), float(covered.float().mean()))


def exact_prdc(real, fake) -> tuple:
    return (*precision_recall(real, fake, 3), *density_coverage(real, fake, 5))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="2000,10000", help="sample counts, comma-separated")
    ap.add_argument("--width", type=int, default=128, help="feature width (the MNIST classifier's is 128)")
    args = ap.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, numpy {np.__version__}")
    print(f"{'n':>6} {'offset':>6} {'method':>8} {'seconds':>8}  precision recall density coverage")
    for n in (int(v) for v in args.n.split(",")):
        g = np.random.default_rng(n)
        real, fake = 0.05 * g.normal(size=(n, args.width)), 0.055 * g.normal(size=(n, args.width))
        for offset in (0.0, 1000.0):
            for name, fn in (("float32", float32_prdc), ("exact", exact_prdc)):
                start = time.perf_counter()
                out = fn(real + offset, fake + offset)
                took = time.perf_counter() - start
                print(f"{n:>6} {offset:>6.0f} {name:>8} {took:>8.2f}  " + "  ".join(f"{v:.4f}" for v in out),
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
