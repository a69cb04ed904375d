"""Benchmark: the high-frequency excess of generated spectra, transposed against resize convolutions.

    python bench/spectrum.py --data-dir ../shared/data/mnist [--steps 2000] [--every 500] [--seeds 0]
                             [--modes transposed,resize] [--grid docs/upsampling_samples.png]

Trains the mnist preset (compact DCGAN) once per upsampling kind (model.upsample: transposed, resize, and
optionally transposed3 or mixed) from each seed, and at each mark reports gan_core.spectrum's
high_frequency_excess (generated minus real log10 power, mean over the upper half of the radial
frequencies) and the difference at the highest ring, on
512 generated images from fixed noise against 512 real ones, as the Upsampling page shows it. ``--grid``
saves, for the first seed, a row of 12 generated images per mode at the last step (upscaled, one PNG).
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan_core.models.dcgan import UPSAMPLES  # noqa: E402
from gan_core.presets import preset_config  # noqa: E402
from gan_core.spectrum import spectrum_report  # noqa: E402
from gan_core.trainer import Trainer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--every", type=int, default=500)
    ap.add_argument("--seeds", default="0", help="comma-separated seeds; each trains every mode")
    ap.add_argument("--modes", default="transposed,resize", help=f"comma-separated, from {', '.join(UPSAMPLES)}")
    ap.add_argument("--grid", help="PNG path: 12 images per mode at the last step (first seed)")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    modes = args.modes.split(",")
    bad = [m for m in modes if m not in UPSAMPLES]
    if bad:
        ap.error(f"--modes: {bad} not in {list(UPSAMPLES)}")
    print(f"# {time.strftime('%Y-%m-%d')} · {platform.machine()} · torch {torch.__version__} · Python "
          f"{platform.python_version()} · mnist preset, seeds {seeds}, 512 vs 512 images")
    print(f"{'upsample':<11} {'seed':>4} {'step':>6} {'excess':>8} {'top ring':>9} {'s':>6}")
    z = torch.randn(512, 64, generator=torch.Generator().manual_seed(0))
    rows = []
    for seed, mode in ((s, m) for s in seeds for m in modes):
        tr = Trainer(preset_config("mnist", upsample=mode, seed=seed, data_dir=args.data_dir, download=False))
        idx = torch.randperm(len(tr.data.images), generator=torch.Generator().manual_seed(2024))[:512]
        real = tr.data.images[idx].cpu()
        t0 = time.perf_counter()
        for step in range(args.steps + 1):
            if step % args.every == 0:
                tr.G.eval()
                with torch.no_grad():
                    fake = tr.G(z.to(tr.device)).cpu()
                tr.G.train()
                r = spectrum_report(fake, real)
                excess, top = r["high_frequency_excess"], r["radial_difference"][-1]
                print(f"{mode:<11} {seed:>4} {step:>6} {excess:>+8.3f} {top:>+9.3f} "
                      f"{time.perf_counter() - t0:>6.0f}", flush=True)
            if step < args.steps:
                tr.step()
        if args.grid and seed == seeds[0]:
            rows.append(fake[:12])
    if args.grid:
        save_rows(rows, modes, args.grid)


def save_rows(rows: list, modes: list, path: str) -> None:
    """One row of images per mode, 4x enlarged, in one PNG (the mode order as given)."""
    import numpy as np

    from gan_core.viz import png_bytes, tile_images
    grid = tile_images(torch.cat(rows), nrow=len(rows[0]), pad=1)
    big = np.kron(grid, np.ones((4, 4, 1) if grid.ndim == 3 else (4, 4), dtype=grid.dtype))
    Path(path).write_bytes(png_bytes(big))
    print(f"# saved {path}: rows = {', '.join(modes)}")


if __name__ == "__main__":
    main()
