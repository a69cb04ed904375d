"""Benchmark: what each GAN family's preset learns, headless on this machine, with the figures the papers use.

    python bench/families.py learn --preset mnist_infogan --data-dir ../shared/data/mnist --minutes 15 \
        --every 60 [--png docs/infogan_mnist_codes.png]
    python bench/families.py modes --presets ring8_collapse ring8_unrolled --seeds 0 1 2 --steps 6000

``learn`` trains one preset in this thread (no app) and every ``--every`` seconds of training time reports
the family's `evaluate` figure on 2,000 samples (class_agreement for cgan/acgan, code_purity for InfoGAN,
label_kept for CycleGAN beside label_untranslated, the classifier on domain A itself; the classifier's classes
and mean confidence for all); evaluation time is not counted as training.
``modes`` runs the VEEGAN/PacGAN protocol (2,500 samples, 3 std) on 2D presets every 1,000 steps per seed,
On `stacked_mnist` (any family, e.g. ``--preset stacked_mnist --set family=unrolled``) ``learn`` also counts
the modes of 1,000 captured by 26,000 samples (the Metz et al. / PacGAN protocol, ``evaluate``'s count).
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gan_core.classifier import classifier_for, load_for_dataset  # noqa: E402
from gan_core.families import get_family  # noqa: E402
from gan_core.latent import GeneratorView  # noqa: E402
from gan_core.metrics import mode_coverage  # noqa: E402
from gan_core.presets import preset_config  # noqa: E402
from gan_core.trainer import Trainer  # noqa: E402


def _header(extra: str) -> None:
    print(f"# {time.strftime('%Y-%m-%d')} · {platform.processor() or platform.machine()} · {torch.get_num_threads()} "
          f"torch threads · torch {torch.__version__} · Python {platform.python_version()} · {extra}")


def _figure(tr, clf) -> dict:
    view = GeneratorView.of(tr)
    family = get_family(tr.cfg.model.family)
    out = {}
    if view.translates and hasattr(tr.source, "images"):  # CycleGAN: translate all of domain A, as evaluate does
        labels = tr.source.labels.cpu() if tr.source.labels is not None else None
        view = dataclasses.replace(view, source_bank=tr.source.images.cpu(), source_labels=labels)
        if labels is not None:  # the reference: the target's classifier on domain A itself, untranslated
            out["label_untranslated"] = float((clf.predict(view.source_bank[:2000]).cpu() == labels[:2000]).float()
                                              .mean())
    if family.evaluate is not None and (view.num_classes or view.translates):
        out.update({k: v for k, v in family.evaluate(view, clf, 2000).items() if isinstance(v, float)})
    if tr.cfg.data.dataset == "stacked_mnist":  # the published protocol: modes of 1,000 in 26,000 samples
        from gan_core.classifier import load_classifier
        from gan_core.evaluate import stacked_modes
        from gan_core.quality import STACKED_SAMPLES
        got = stacked_modes(view, STACKED_SAMPLES, load_classifier("mnist"))
        out["stacked_modes"] = got["stacked_modes_captured"]
        out["stacked_kl"] = got["stacked_kl_to_uniform"]
        return out
    x = tr.sample(2000).cpu()
    p = clf.probs(x)
    out["classes"] = len(set(p.argmax(1).tolist()))
    out["confidence"] = float(p.max(1).values.mean())
    return out


def learn(args) -> None:
    over = {"data_dir": args.data_dir, "download": False} if args.data_dir else {}
    cfg = preset_config(args.preset, seed=args.seed, **over).with_overrides(args.set)
    tr = Trainer(cfg)
    kind = classifier_for(cfg.data.dataset)
    if kind is None:
        raise SystemExit(f"no shipped classifier judges {cfg.data.dataset!r}")
    clf = load_for_dataset(cfg.data.dataset)
    _header(f"preset {args.preset} {' '.join(args.set)} seed {args.seed}, {len(tr.data) if hasattr(tr.data, '__len__') else '?'} images")
    trained, mark, rows = 0.0, args.every, []
    while trained < 60 * args.minutes:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 1.0:
            tr.step()
        trained += time.perf_counter() - t0
        if trained >= mark:
            fig = _figure(tr, clf)
            rows.append((mark, tr.step_count, fig))
            print(f"{mark:>6.0f} s  step {tr.step_count:>7,}  " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float)
                                                                          else f"{k} {v}" for k, v in fig.items()),
                  flush=True)
            mark += args.every
    if args.png:
        save_codes_png(tr, args.png)


def save_codes_png(tr, path: str) -> None:
    """The sample grid, or for a generator with codes the Latent lab's code grid (rows = code values)."""
    from PIL import Image
    from gan_core.viz import tile_images
    from ui.latent_codes import code_grid
    view = GeneratorView.of(tr)
    if view.is_code:
        grid = tile_images(code_grid(view, 0, 0), nrow=7, pad=1)
    else:
        grid = tile_images(tr.fixed_samples().cpu())
    scale = max(1, 320 // grid.shape[1])
    Image.fromarray(np.kron(grid, np.ones((scale, scale) + (1,) * (grid.ndim - 2), dtype=np.uint8))).save(path)
    print(f"# picture saved to {path}")


def modes(args) -> None:
    _header(f"{args.steps:,} steps, seeds {args.seeds} {' '.join(args.set)}")
    for name in args.presets:
        for seed in args.seeds:
            tr = Trainer(preset_config(name, seed=seed).with_overrides(args.set))
            t0, counts = time.perf_counter(), []
            for s in range(1, args.steps + 1):
                tr.step()
                if s % 1000 == 0:
                    counts.append(mode_coverage(tr.sample(2500), tr.data.modes, tr.data.mode_std)[0])
            seconds = time.perf_counter() - t0
            print(f"{name:<16} seed {seed}  modes at each 1,000 steps {counts}  high-quality "
                  f"{mode_coverage(tr.sample(2500), tr.data.modes, tr.data.mode_std)[1]:.2f}  final {counts[-1]}/"
                  f"{tr.data.modes.shape[0]}  {args.steps / seconds:,.0f} steps/s on {torch.get_num_threads()} thread(s)",
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("learn")
    a.add_argument("--preset", required=True)
    a.add_argument("--data-dir", default=None)
    a.add_argument("--minutes", type=float, default=5)
    a.add_argument("--every", type=float, default=60)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--png", default=None)
    a.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    b = sub.add_parser("modes")
    b.add_argument("--presets", nargs="+", default=["ring8_collapse", "ring8_unrolled"])
    b.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    b.add_argument("--steps", type=int, default=6000)
    b.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    args = ap.parse_args()
    learn(args) if args.cmd == "learn" else modes(args)


if __name__ == "__main__":
    main()
