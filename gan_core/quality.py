"""Sample-quality metrics in the feature space of the project's own digit classifiers (``gan_core.classifier``).

No Inception network can be downloaded here, so "FID" and "IS" below use the shipped LeNet-style MNIST
(or 8x8 digits) classifier: the numbers are comparable between runs of this project, not with papers.
That is why every Fréchet distance comes with its real-vs-real floor at the same sample count (DESIGN.md).

- ``frechet_distance`` / ``fid``: Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule
  Converge to a Local Nash Equilibrium" (Fréchet distance between Gaussians fitted to features).
- ``inception_score``: Salimans et al. 2016, "Improved Techniques for Training GANs"; one split, and
  ``inception_score_splits``: mean and standard deviation over 10 consecutive splits, as papers report.
- ``precision_recall``: Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for Assessing
  Generative Models" (k-NN balls, k = 3).
- ``density_coverage``: Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
  Models" (k = 5).
- ``stacked_mnist_modes``: the Stacked MNIST protocol of Metz et al. 2017 (Unrolled GANs) and Lin et al.
  2018 (PacGAN): 1000 modes, KL(generated || uniform), on 26,000 samples (``STACKED_SAMPLES``). Published:
  DCGAN 99-427 modes, PacDCGAN ~1000 / 0.06. Fewer samples score lower even for a perfect generator:
  ``uniform_mode_reference(n)`` gives what one scores at n, shown beside every count made on fewer.

k-NN distances are exact float64 (``gan_core.knn``: a matrix product ranks, exact differences decide), in
row chunks, so 10k x 10k sets need bounded memory.

    from gan_core.classifier import load_classifier
    from gan_core.quality import evaluate_samples
    report = evaluate_samples(fake_images, real_images, load_classifier("mnist"))
    report["fid"], report["fid_floor"], report["precision"], report["recall"]
"""
from __future__ import annotations

import math
from typing import Callable, Optional, Union

import numpy as np
import torch
from torch import Tensor

from . import knn

Array = Union[np.ndarray, Tensor]
Progress = Optional[Callable[[str, float], None]]
CHUNK = 1024  # query rows per distance block: 1024 x 10k float64 = 80 MB
COVERED_SHARE = 0.1  # a class is "covered" when predicted for >= 10% of its uniform share of samples
EPS = 1e-12


def _np64(x: Array) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _t32(x: Array) -> Tensor:
    """2-D float32 torch tensor (kept on its device when already a tensor)."""
    t = torch.as_tensor(x)
    t = t.float() if t.dtype != torch.float32 else t
    if t.ndim != 2:
        raise ValueError(f"features must be a 2-D (N, F) array, got shape {tuple(t.shape)}")
    return t


# ---------------------------------------------------------------- Fréchet distance

def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix via eigh (tiny negative eigenvalues clipped)."""
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: Array, sigma1: Array, mu2: Array, sigma2: Array) -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) for two Gaussians, in float64.

    tr((S1 S2)^(1/2)) = sum of sqrt(eigenvalues) of the symmetric PSD matrix S1^(1/2) S2 S1^(1/2), which has
    the same eigenvalues as S1 S2; eigh on it is stable where scipy's sqrtm on S1 S2 can go complex."""
    mu1, mu2 = _np64(mu1).ravel(), _np64(mu2).ravel()
    s1, s2 = np.atleast_2d(_np64(sigma1)), np.atleast_2d(_np64(sigma2))
    d = mu1.shape[0]
    if mu2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(f"frechet_distance needs means (D,) and covariances (D, D) of one D; got "
                         f"{mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}")
    r1 = _sqrt_psd(s1)
    m = r1 @ s2 @ r1
    eig = np.linalg.eigvalsh((m + m.T) / 2)
    tr_sqrt = float(np.sqrt(np.clip(eig, 0, None)).sum())
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)
    return max(value, 0.0)  # rounding can leave -1e-13 for identical inputs


def gaussian_stats(feats: Array) -> tuple[np.ndarray, np.ndarray]:
    """(mean (F,), covariance (F, F)) of features (N, F) in float64; N >= 2."""
    x = _np64(feats)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors of shape (N, F), got {x.shape}")
    return x.mean(0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def fid(feats_a: Array, feats_b: Array) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, F) and (M, F)."""
    return frechet_distance(*gaussian_stats(feats_a), *gaussian_stats(feats_b))


# ---------------------------------------------------------------- Inception Score

IS_SPLITS = 10  # as in Salimans et al.'s released code and the papers that quote it


def _split_scores(probs: Array, splits: int) -> list[float]:
    p = _np64(probs)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"probs must be a non-empty (N, K) array, got shape {p.shape}")
    if not 1 <= splits <= p.shape[0]:
        raise ValueError(f"splits = {splits} must be between 1 and the number of samples ({p.shape[0]})")
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(0, keepdims=True)  # (1, K) marginal
        kl = (part * (np.log(part + EPS) - np.log(py + EPS))).sum(1)  # (n,)
        scores.append(math.exp(float(kl.mean())))
    return scores


def inception_score(probs: Array, splits: int = 1) -> float:
    """exp(E_x KL(p(y|x) || p(y))) of class probabilities (N, K), averaged over ``splits`` equal parts.

    1 for uninformative or all-identical predictions, K for confident predictions spread evenly over K classes."""
    return float(np.mean(_split_scores(probs, splits)))


def inception_score_splits(probs: Array, splits: int = IS_SPLITS) -> tuple[float, float]:
    """(mean, standard deviation) of the score over ``splits`` parts, the figure papers report as "m ± s".

    Split rule (Salimans et al. 2016's released code): the samples in their given order cut into
    ``splits`` consecutive parts of equal size (sizes differ by at most one when N is not a multiple);
    each part's score uses its own marginal p(y); the deviation is the population one (ddof = 0, numpy's
    default, as in that code; torchmetrics uses ddof = 1, larger by sqrt(10/9) for 10 splits)."""
    scores = _split_scores(probs, splits)
    return float(np.mean(scores)), float(np.std(scores))


# ---------------------------------------------------------------- k-NN manifolds

def kth_nn_distance(x: Array, k: int, chunk: int = CHUNK) -> Tensor:
    """(N,) float64 distance from each row of ``x`` (N, F) to its k-th nearest other row (exact; see knn)."""
    x = knn.as_f64(x)
    if not 1 <= k < x.shape[0]:
        raise ValueError(f"k = {k} needs 1 <= k < number of samples ({x.shape[0]})")
    return knn.kth_sq_distance(x, k, chunk).sqrt()


def _pair(real: Array, fake: Array, k: int) -> tuple[Tensor, Tensor]:
    r, f = knn.as_f64(real, "real features"), knn.as_f64(fake, "fake features")
    if r.shape[1] != f.shape[1]:
        raise ValueError(f"real and fake features differ in width: {r.shape[1]} vs {f.shape[1]}")
    if min(r.shape[0], f.shape[0]) <= k:
        raise ValueError(f"k = {k} needs more than {k} real and fake samples, got {r.shape[0]} and {f.shape[0]}")
    return r, f


def _hits(centres: Tensor, queries: Tensor, k: int, strict: bool, chunk: int, centre: Tensor):
    radii = knn.kth_sq_distance(centres, k, chunk)
    return knn.ball_hits(centres, radii, queries, strict, chunk, centre)


def precision_recall(real: Array, fake: Array, k: int = 3, chunk: int = CHUNK) -> tuple[float, float]:
    """Kynkäänniemi et al. 2019: precision = share of fakes inside some real k-NN ball; recall = share of
    reals inside some fake k-NN ball (ball radius = distance to the k-th nearest neighbour in its own set).

    A point on a ball's edge counts as inside (``<=``), as in the authors' code. Distances are exact in
    float64 (``gan_core.knn``), so a large common offset in the features changes nothing."""
    r, f = _pair(real, fake, k)
    centre = r.mean(0)
    in_real, _ = _hits(r, f, k, False, chunk, centre)
    in_fake, _ = _hits(f, r, k, False, chunk, centre)
    return float((in_real > 0).double().mean()), float((in_fake > 0).double().mean())


def density_coverage(real: Array, fake: Array, k: int = 5, chunk: int = CHUNK) -> tuple[float, float]:
    """Naeem et al. 2020: density = (1 / kM) sum_j #{real balls containing fake j} (about 1 when fake and
    real follow one distribution, can exceed 1); coverage = share of real balls holding at least one fake.

    A point on a ball's edge counts as outside (``<``), as in the reference implementation (prdc), so
    fake = real reads density 1 and coverage 1. Distances are exact in float64 (``gan_core.knn``)."""
    r, f = _pair(real, fake, k)
    counts, covered = _hits(r, f, k, True, chunk, r.mean(0))
    return float(counts.double().sum() / (k * f.shape[0])), float(covered.double().mean())


# ---------------------------------------------------------------- classes, diversity, memorisation

def class_stats(probs: Array, n_classes: int) -> dict:
    """Predicted-class statistics of probs (N, K).

    hist: (K,) int counts of argmax predictions; classes_covered: classes predicted for at least
    ``COVERED_SHARE`` (10%) of their uniform share N/K (so a stray prediction or two does not count);
    kl_to_uniform: KL(predicted-class distribution || uniform), 0 = balanced, log K = one class only;
    mean_confidence: mean of the top probability."""
    p = _np64(probs)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] != n_classes:
        raise ValueError(f"probs must be (N, {n_classes}) with N >= 1, got shape {p.shape}")
    hist = np.bincount(p.argmax(1), minlength=n_classes)
    q = hist / hist.sum()
    nz = q > 0
    return {"hist": hist, "classes_covered": int((hist >= COVERED_SHARE * p.shape[0] / n_classes).sum()),
            "kl_to_uniform": float((q[nz] * np.log(q[nz] * n_classes)).sum()),
            "mean_confidence": float(p.max(1).mean())}


def diversity(feats: Array, n_pairs: int = 2000, seed: int = 0) -> float:
    """Mean L2 distance between ``n_pairs`` random pairs of distinct rows of feats (N, F)."""
    x = _t32(feats)
    if x.shape[0] < 2:
        raise ValueError(f"diversity needs at least 2 samples, got {x.shape[0]}")
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, x.shape[0], (n_pairs,), generator=g)
    j = (i + torch.randint(1, x.shape[0], (n_pairs,), generator=g)) % x.shape[0]  # j != i
    return float((x[i.to(x.device)] - x[j.to(x.device)]).double().norm(dim=1).mean())


def nearest_neighbours(samples: Array, train_images: Array, chunk: int = 256) -> tuple[Tensor, Tensor]:
    """For samples (N, C, H, W): (indices (N,) into train_images (M, C, H, W), L2 pixel distances (N,)).

    Exact in float64 (``gan_core.knn``): a memorised copy reads as 0 even when a training image one grey
    level away exists, and ties go to the lowest index."""
    s, t = torch.as_tensor(samples), torch.as_tensor(train_images)
    if s.ndim < 2 or t.ndim < 2 or s.shape[1:] != t.shape[1:]:
        raise ValueError(f"samples {tuple(s.shape)} and training images {tuple(t.shape)} must share one shape")
    if t.shape[0] == 0:
        raise ValueError("nearest_neighbours needs at least one training image")
    idx, d2 = knn.nearest(knn.as_f64(s.flatten(1)), knn.as_f64(t.flatten(1)), chunk)
    return idx, d2.sqrt().float()


# ---------------------------------------------------------------- Stacked MNIST

def stacked_mnist_modes(images: Array, classifier) -> dict:
    """Stacked MNIST modes of images (N, 3, H, W): each channel labelled by the MNIST classifier
    (``classifier.predict``), mode = 100 d_R + 10 d_G + d_B. Returns modes_captured (of 1000: modes hit by at
    least one sample), kl_to_uniform (KL(mode histogram || uniform over 1000)), hist (1000,) and n."""
    x = torch.as_tensor(images)
    if x.ndim != 4 or x.shape[1] != 3 or x.shape[0] == 0:
        raise ValueError(f"Stacked MNIST images must be (N, 3, H, W) with N >= 1, got {tuple(x.shape)}")
    digits = torch.stack([torch.as_tensor(classifier.predict(x[:, c:c + 1])).cpu().long() for c in range(3)], 1)
    if digits.min() < 0 or digits.max() > 9:
        raise ValueError("the classifier must predict digits 0..9 for Stacked MNIST")
    modes = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]  # (N,)
    return mode_hist_stats(torch.bincount(modes, minlength=1000).numpy())


def mode_hist_stats(hist: np.ndarray) -> dict:
    """modes_captured (bins hit at least once), kl_to_uniform (KL(hist || uniform)), hist and n of a
    mode histogram (e.g. the sum of several batches' Stacked MNIST histograms)."""
    hist = np.asarray(hist)
    if hist.ndim != 1 or hist.sum() <= 0:
        raise ValueError(f"a mode histogram needs at least one sample, got shape {hist.shape}")
    q = hist / hist.sum()
    nz = q > 0
    return {"modes_captured": int(nz.sum()), "kl_to_uniform": float((q[nz] * np.log(q[nz] * len(hist))).sum()),
            "hist": hist, "n": int(hist.sum())}


def stacked_report(hist: np.ndarray) -> dict:
    """The Stacked MNIST figures of a mode histogram with what a perfect generator scores on as many
    samples beside them (the keys ``evaluate`` and the Diagnostics page report)."""
    stats = mode_hist_stats(hist)
    perfect = uniform_mode_reference(stats["n"], len(stats["hist"]))
    return {"stacked_samples": stats["n"], "stacked_modes_captured": stats["modes_captured"],
            "stacked_kl_to_uniform": stats["kl_to_uniform"], "stacked_perfect_modes": perfect["modes_captured"],
            "stacked_perfect_kl": perfect["kl_to_uniform"]}


STACKED_SAMPLES = 26_000  # the published protocol's sample count (Metz et al. 2017; Lin et al. 2018)


def uniform_mode_reference(n: int, modes: int = 1000) -> dict:
    """What a perfect generator (exactly uniform over ``modes``, perfectly classified) scores on average
    with ``n`` samples: expected modes captured ``modes * (1 - (1 - 1/modes)^n)`` and expected
    KL(histogram || uniform), exact: by linearity ``modes * E[(X/n) log(modes X / n)]``, X ~ Binomial(n, 1/modes).

    At 2,000 samples: ~865 modes and KL ~0.28; at 26,000: ~1,000 and ~0.019, so mode counts are only
    comparable at one sample count."""
    if n < 1 or modes < 1:
        raise ValueError(f"n = {n} and modes = {modes} must be at least 1")
    p = 1.0 / modes
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    top = min(n, int(mean + 40 * sd + 40))
    kl = 0.0
    log_p, log_q = math.log(p), math.log1p(-p) if modes > 1 else 0.0
    for x in range(1, top + 1 if modes > 1 else 1):  # one mode: the histogram is uniform, KL = 0
        log_pmf = math.lgamma(n + 1) - math.lgamma(x + 1) - math.lgamma(n - x + 1) + x * log_p + (n - x) * log_q
        kl += math.exp(log_pmf) * (x / n) * math.log(modes * x / n)
    return {"n": n, "modes": modes, "modes_captured": modes * (1.0 - (1.0 - p) ** n), "kl_to_uniform": modes * kl}


# ---------------------------------------------------------------- everything at once

def _embed(classifier, x) -> tuple[Tensor, Tensor]:
    if hasattr(classifier, "embed"):
        return classifier.embed(x)
    return classifier.features(x), classifier.probs(x)


def evaluate_samples(fake: Array, real: Array, classifier, progress: Progress = None, k_pr: int = 3,
                     k_dc: int = 5, seed: int = 0) -> dict:
    """All metrics for generated images fake (N, C, H, W) against real images (M, C, H, W), in the
    ``classifier``'s feature space (anything with ``embed(x) -> (features, probs)`` or
    ``features``/``probs``).

    The real set is split (seeded) into two disjoint samples A and B of ``n`` images each; fake uses its
    first ``n`` images. ``n`` = N when M >= 2N, else M // 2 (``n_reduced`` says so). Every real-vs-fake
    number has its real-vs-real reference at the same n: fid vs fid_floor (A vs B), inception_score vs
    inception_score_real (one split; ``*_mean`` and ``*_std`` over 10 splits beside them), precision/recall/density/coverage vs their ``*_real`` twins (B judged against A).
    ``progress(message, fraction)`` is called between stages."""
    fake_t, real_t = torch.as_tensor(fake), torch.as_tensor(real)
    if fake_t.ndim != 4 or real_t.ndim != 4 or fake_t.shape[1:] != real_t.shape[1:]:
        raise ValueError(f"fake {tuple(fake_t.shape)} and real {tuple(real_t.shape)} must be (N, C, H, W) "
                         "images of one shape")
    n = min(fake_t.shape[0], real_t.shape[0] // 2)
    need = max(k_pr, k_dc) + 2
    if n < need:
        raise ValueError(f"need at least {need} fake and {2 * need} real images; got {fake_t.shape[0]} fake, "
                         f"{real_t.shape[0]} real")
    say = progress or (lambda message, fraction: None)
    perm = torch.randperm(real_t.shape[0], generator=torch.Generator().manual_seed(seed))
    stages = 7
    say(f"Classifying {n} generated images", 0 / stages)
    f_feat, f_prob = _embed(classifier, fake_t[:n])
    say(f"Classifying 2 x {n} real images", 1 / stages)
    a_feat, a_prob = _embed(classifier, real_t[perm[:n].to(real_t.device)])
    b_feat, b_prob = _embed(classifier, real_t[perm[n:2 * n].to(real_t.device)])
    out: dict = {"n": n, "n_fake": int(fake_t.shape[0]), "n_real": int(real_t.shape[0]),
                 "n_reduced": n < fake_t.shape[0]}
    say("Fréchet distances", 2 / stages)
    out["fid"], out["fid_floor"] = fid(f_feat, a_feat), fid(b_feat, a_feat)
    say("Inception scores", 3 / stages)
    out["inception_score"], out["inception_score_real"] = inception_score(f_prob), inception_score(a_prob)
    if n >= IS_SPLITS:
        out["inception_score_mean"], out["inception_score_std"] = inception_score_splits(f_prob)
        out["inception_score_real_mean"], out["inception_score_real_std"] = inception_score_splits(a_prob)
    say(f"Precision and recall (k={k_pr})", 4 / stages)
    out["precision"], out["recall"] = precision_recall(a_feat, f_feat, k_pr)
    out["precision_real"], out["recall_real"] = precision_recall(a_feat, b_feat, k_pr)
    say(f"Density and coverage (k={k_dc})", 5 / stages)
    out["density"], out["coverage"] = density_coverage(a_feat, f_feat, k_dc)
    out["density_real"], out["coverage_real"] = density_coverage(a_feat, b_feat, k_dc)
    say("Classes and diversity", 6 / stages)
    k = f_prob.shape[1]
    out["class_stats"], out["class_stats_real"] = class_stats(f_prob, k), class_stats(a_prob, k)
    out["diversity"], out["diversity_real"] = diversity(f_feat, seed=seed), diversity(a_feat, seed=seed)
    say("Done", 1.0)
    return out
