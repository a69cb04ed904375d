"""Train the two digit classifiers the project ships for image-quality metrics (FID, IS, precision/recall...).

    python scripts/train_classifier.py                      # both, ~3 min on 2 CPU cores
    python scripts/train_classifier.py --threads 1          # same, on a busy machine (what made the assets)
    python scripts/train_classifier.py --kind digits        # one of them
    python scripts/train_classifier.py --mnist-dir /path/to/mnist

MNIST (``gan_core.classifier.MnistNet``, LeNet-style, 128-d features)
    Data: the only MNIST available here is the real test set, ``t10k-images/labels`` IDX files in
    ``--mnist-dir`` (default ``../shared/data/mnist`` relative to the repository root). Split: the first
    8,000 images train, the last 2,000 are held out and give the accuracy figure (never trained on).
    Augmentation (torch ops only): random rotation of up to +-10 degrees and shifts of up to +-2 px
    (``affine_grid``/``grid_sample``, border padding = background). Adam with a one-cycle lr (peak 2e-3,
    15% warm-up, cosine decay), batch 64, 30 epochs, dropout 0.25, seed 0. Held-out accuracy of the
    shipped weights: 99.40% (about 2.5 min on one CPU thread); the script refuses to write below 98%.
Digits (``gan_core.classifier.DigitsNet``, 64-d features)
    Data: scikit-learn's 1,797 8x8 digits, stratified 80/20 split (``random_state=0``): 1,437 train,
    360 held out. Augmentation: random shifts of up to +-1 px. Adam with the same one-cycle lr,
    batch 64, 40 epochs, seed 0. Expected held-out accuracy ~98-100% (shipped: 100.0%, 360/360;
    about 15 s).

Outputs (written atomically): ``assets/classifier_mnist.safetensors``, ``assets/classifier_digits.safetensors``
(weights + metadata: held-out accuracy, n_train, n_heldout, date, command, ...) and ``assets/classifiers.json``
with the same facts human-readable. Everything is seeded and runs on the CPU (2 threads unless --threads
says otherwise).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import shlex
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gan_core.checkpoint import atomic_write  # noqa: E402
from gan_core.classifier import (ASSETS, FORMAT, Classifier, accuracy, asset_path, build_net,  # noqa: E402
                                 digits_split, mnist_split)

MIN_MNIST_ACCURACY = 0.98
SETTINGS = {  # kind -> (epochs, lr, max rotation in degrees, max shift in px)
    "mnist": dict(epochs=30, lr=2e-3, rotate=10.0, shift=2),
    "digits": dict(epochs=40, lr=2e-3, rotate=0.0, shift=1),
}
BATCH = 64


def augment(x: torch.Tensor, gen: torch.Generator, rotate: float, shift: int) -> torch.Tensor:
    """Random rotation (+-rotate degrees) and sub-pixel shifts (up to +-shift px) of (B, 1, H, W)."""
    b, _, h, w = x.shape
    ang = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(rotate)
    t = (torch.rand(b, 2, generator=gen) * 2 - 1) * shift * 2 / torch.tensor([w, h])  # px -> [-1, 1] units
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([torch.stack([cos, -sin, t[:, 0]], 1), torch.stack([sin, cos, t[:, 1]], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)  # (B, 1, H, W)


def train(kind: str, x: torch.Tensor, y: torch.Tensor, seed: int, log) -> torch.nn.Module:
    s = SETTINGS[kind]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = build_net(kind)
    opt = torch.optim.Adam(net.parameters(), lr=s["lr"])
    steps = s["epochs"] * math.ceil(len(x) / BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s["lr"], total_steps=steps, pct_start=0.15)
    for epoch in range(s["epochs"]):
        net.train()
        perm = torch.randperm(len(x), generator=gen)
        total, correct, n = 0.0, 0, 0
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            xb = augment(x[idx], gen, s["rotate"], s["shift"])
            logits = net(xb)  # (B, 10)
            loss = F.cross_entropy(logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == y[idx]).sum())
            n += len(idx)
        log(f"  {kind} epoch {epoch + 1}/{s['epochs']}: loss {total / n:.4f}, train acc {correct / n:.4f}")
    return net.eval()


def write_asset(kind: str, net: torch.nn.Module, facts: dict) -> Path:
    meta = {"format": FORMAT, "kind": kind, **{k: str(v) for k, v in facts.items()}}
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    path = asset_path(kind)
    atomic_write(path, save(tensors, metadata=meta))
    path.chmod(0o644)  # atomic_write's temporary file is private; shipped assets are world-readable
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kind", choices=["mnist", "digits", "both"], default="both")
    p.add_argument("--mnist-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"),
                   help="folder with t10k-images-idx3-ubyte(.gz) and t10k-labels-idx1-ubyte(.gz)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2,
                   help="torch CPU threads (use 1 on a busy machine: contended OpenMP threads spin)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    command = "python scripts/train_classifier.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    kinds = ["mnist", "digits"] if args.kind == "both" else [args.kind]
    summary_path = ASSETS / "classifiers.json"
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
    for kind in kinds:
        t0 = time.time()
        if kind == "mnist":
            xa, ya, xb, yb = mnist_split(args.mnist_dir)
            data = "MNIST t10k: first 8,000 train, last 2,000 held out"
        else:
            xa, ya, xb, yb = digits_split()
            data = "sklearn digits: stratified 80/20 split, random_state=0"
        net = train(kind, xa, ya, args.seed, print)
        acc = accuracy(Classifier(kind, net), xb, yb)
        seconds = time.time() - t0
        print(f"{kind}: held-out accuracy {acc:.4f} on {len(xb)} images ({seconds:.0f} s)")
        if kind == "mnist" and acc < MIN_MNIST_ACCURACY:
            print(f"refusing to write {kind}: accuracy {acc:.4f} < {MIN_MNIST_ACCURACY}", file=sys.stderr)
            return 1
        facts = {"heldout_accuracy": round(acc, 5), "n_train": len(xa), "n_heldout": len(xb),
                 "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
                 "command": command.strip(), "data": data, "seed": args.seed,
                 "settings": json.dumps(SETTINGS[kind]), "train_seconds": round(seconds, 1),
                 "torch": torch.__version__}
        path = write_asset(kind, net, facts)
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size / 1024:.0f} KiB)")
        summary[kind] = {**facts, "settings": SETTINGS[kind], "file": str(path.relative_to(ROOT)),
                         "network": type(net).__name__, "format": FORMAT}
    atomic_write(summary_path, (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode())
    summary_path.chmod(0o644)
    print(f"wrote {summary_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
