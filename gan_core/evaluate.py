"""Evaluate a saved run: ``python -m gan_core evaluate --run runs/ring8 [--samples N]``.

Loads only the checkpoint's generator (safetensors; never a pickle) and, by data kind:
- 2D mixtures: modes covered, high-quality fraction, sample spread relative to the real data;
- other toy data: mean and standard deviation of samples next to the real data's;
- digit images (digits, mnist, stacked_mnist): Fréchet distance in the shipped classifier's feature space
  with the real-vs-real floor at the same sample count, Inception-style score, precision/recall (k=3),
  density/coverage (k=5), classes covered and KL to uniform; the Inception-style score also as mean and
  standard deviation over 10 splits; for Stacked MNIST the 1,000-mode count and KL on 26,000 samples
  (the published protocol; ``--stacked-samples``) beside what a perfect generator scores at that count;
  for class-conditional families (cgan, acgan) ``class_agreement`` (the fraction of samples the classifier
  assigns to the class asked for), for InfoGAN ``code_purity`` (code vs classifier label after the best
  one-to-one matching), for CycleGAN ``label_kept`` (translations of all of domain A that the classifier
  names as their source's digit);
- other images: no classifier exists, so only the pixel-space spread is reported.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np
import torch

from .checkpoint import generator_from_checkpoint, load_checkpoint
from .data import load_dataset
from .diagnostics import spread
from .metrics import mode_coverage

Progress = Optional[Callable[[str, float], None]]


def _fake_batches(view, n: int, seed: int = 0):
    """``n`` generated samples, 500 at a time (conditional models cycle through the classes)."""
    gen = torch.Generator().manual_seed(seed)
    for i in range(0, n, 500):
        m = min(500, n - i)
        y = torch.arange(i, i + m) % view.num_classes if view.num_classes else None
        yield view.generate(view.inputs(m, gen), y)


def _fake(view, n: int, seed: int = 0) -> torch.Tensor:
    return torch.cat(list(_fake_batches(view, n, seed)))


def _with_source(view, cfg, data, progress):
    from .data.domains import load_source
    source = load_source(cfg.data, data, progress)
    x, y = (source.images, source.labels) if hasattr(source, "images") else \
        source.sample(20_000, torch.Generator().manual_seed(2025), torch.device("cpu"))
    return dataclasses.replace(view, source_bank=x.cpu(), source_labels=y.cpu() if y is not None else None)


def _real(data, n: int) -> torch.Tensor:
    ref = getattr(data, "reference", None)
    if ref is not None:
        return ref(n, 2024)[0].cpu()
    if hasattr(data, "images"):
        idx = torch.randperm(len(data.images), generator=torch.Generator().manual_seed(2024))[:n]
        return data.images[idx.to(data.images.device)].cpu()
    x, _ = data.sample(n, torch.Generator().manual_seed(2024), torch.device("cpu"))
    return x


def evaluate_checkpoint(path, samples: Optional[int] = None, data_dir: Optional[str] = None,
                        progress: Progress = None, stacked_samples: Optional[int] = None) -> dict:
    say = progress or (lambda message, fraction: None)
    ckpt = load_checkpoint(path)
    cfg = ckpt.config
    if data_dir is not None:
        cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, data_dir=data_dir))
    view = generator_from_checkpoint(path)
    out: dict = {"run": str(path), "step": ckpt.step, "dataset": cfg.data.dataset}
    data = load_dataset(cfg.data, progress)
    if view.translates:  # translate all of domain A, not only the bank G keeps
        view = _with_source(view, cfg, data, progress)
        out["source"] = cfg.data.source
    if not view.is_image:
        n = samples or 2500
        say(f"Sampling {n} points", 0.2)
        fake, real = _fake(view, n), _real(data, n)
        gen = torch.Generator().manual_seed(0)
        out["samples"] = n
        out["spread_ratio"] = spread(fake, gen) / max(spread(real, gen), 1e-12)
        if getattr(data, "modes", None) is not None:
            out["modes_total"] = int(data.modes.shape[0])
            out["modes_covered"], out["hq_fraction"] = mode_coverage(fake, data.modes, data.mode_std)
        out["fake_mean"], out["real_mean"] = fake.mean(0).tolist(), real.mean(0).tolist()
        out["fake_std"], out["real_std"] = fake.std(0).tolist(), real.std(0).tolist()
        say("Done", 1.0)
        return out
    from .classifier import classifier_for, load_for_dataset, load_classifier
    from .quality import STACKED_SAMPLES, evaluate_samples
    n = samples or 2000
    say(f"Generating {n} images", 0.05)
    fake = _fake(view, n)
    kind = classifier_for(cfg.data.dataset)
    out["samples"] = n
    if kind is None:
        real = _real(data, n)
        gen = torch.Generator().manual_seed(0)
        out["classifier"] = None
        out["spread_ratio"] = spread(fake, gen) / max(spread(real, gen), 1e-12)
        out["note"] = (f"no classifier ships for {cfg.data.dataset!r}: feature-space metrics (FID, IS, "
                       "precision/recall, density/coverage) need one; only the pixel spread is reported")
        return out
    real = _real(data, 2 * n)
    out["classifier"] = kind
    share = 0.5 if cfg.data.dataset == "stacked_mnist" else 0.9  # 0.6-1.0: the 26,000-sample mode count
    result = evaluate_samples(fake, real, load_for_dataset(cfg.data.dataset),
                              progress=lambda m, f: say(m, 0.1 + share * min(f, 0.999)))
    for key, value in result.items():
        if key.startswith("class_stats"):
            suffix = key[len("class_stats"):]
            out[f"classes_covered{suffix}"] = int(value["classes_covered"])
            out[f"kl_to_uniform{suffix}"] = float(value["kl_to_uniform"])
            out[f"mean_confidence{suffix}"] = float(value["mean_confidence"])
        else:
            out[key] = value
    if cfg.data.dataset == "stacked_mnist":
        out.update(stacked_modes(view, stacked_samples or STACKED_SAMPLES, load_classifier("mnist"), say))
    out.update(family_figures(cfg, view, load_for_dataset(cfg.data.dataset), n, say))
    say("Done", 1.0)
    return out


def family_figures(cfg, view, classifier, n: int, say=None) -> dict:
    """The family's own figures (``class_agreement`` for cgan/acgan, ``code_purity`` for InfoGAN), when its
    generator takes a class or code the shipped classifier can judge."""
    from .families import get_family
    family = get_family(cfg.model.family)
    if family.evaluate is None or not (view.num_classes or view.translates):
        return {}
    if say is not None:
        say(f"{family.title}: does G make what it is asked for? ({n:,} samples)", 0.99)
    return {"family": family.name, **family.evaluate(view, classifier, n)}


def stacked_modes(view, n: int, classifier, say=None, span: tuple = (0.6, 1.0)) -> dict:
    """The Stacked MNIST protocol on ``n`` generated samples (26,000 published), made and classified 500 at a
    time, with what a perfect generator scores at that count beside it."""
    from .quality import stacked_mnist_modes, stacked_report
    say = say or (lambda message, fraction: None)
    hist, done = np.zeros(1000, dtype=np.int64), 0
    for batch in _fake_batches(view, n, seed=1):  # apart from the feature-metric samples
        hist += stacked_mnist_modes(batch, classifier)["hist"]
        done += len(batch)
        say(f"Stacked MNIST modes: {done:,} of {n:,} samples", span[0] + (span[1] - span[0]) * done / n)
    return stacked_report(hist)
