"""Tests for gan_core.quality: known answers for FID, IS, precision/recall, density/coverage, class
statistics, diversity, nearest neighbours and Stacked MNIST mode counting; evaluate_samples on sklearn
digits with the shipped digits classifier (no network, no MNIST needed)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gan_core.classifier import load_classifier
from gan_core.quality import (class_stats, density_coverage, diversity, evaluate_samples, fid, frechet_distance,
                              inception_score, kth_nn_distance, nearest_neighbours, precision_recall,
                              stacked_mnist_modes)


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def random_rotation(d: int, seed: int = 0) -> np.ndarray:
    q, r = np.linalg.qr(rng(seed).normal(size=(d, d)))
    return q * np.sign(np.diag(r))


# ---------------------------------------------------------------- Fréchet distance

def test_fid_of_a_set_with_itself_is_zero():
    x = rng(1).normal(size=(500, 16)) @ rng(2).normal(size=(16, 16))  # correlated features
    scale = np.trace(np.cov(x, rowvar=False))
    assert fid(x, x) / scale < 1e-6
    assert fid(torch.from_numpy(x).float(), torch.from_numpy(x).float()) / scale < 1e-6


def test_frechet_distance_diagonal_by_hand():
    # means (0, 0) and (1, 2); variances (1, 4) and (4, 9):
    # |dmu|^2 = 1 + 4 = 5; tr = (1 + 4) + (4 + 9) - 2 (sqrt(1*4) + sqrt(4*9)) = 18 - 16 = 2  ->  7
    got = frechet_distance([0, 0], np.diag([1.0, 4.0]), [1, 2], np.diag([4.0, 9.0]))
    assert got == pytest.approx(7.0, abs=1e-10)


def test_frechet_distance_non_commuting_2x2_by_hand():
    # For 2x2 PSD M: tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)); M = S1 S2 has tr 10 and det 4 * 3 = 12.
    s1, s2 = np.diag([1.0, 4.0]), np.array([[2.0, 1.0], [1.0, 2.0]])
    expected = 5.0 + 4.0 - 2 * math.sqrt(10 + 2 * math.sqrt(12))
    assert frechet_distance(np.zeros(2), s1, np.zeros(2), s2) == pytest.approx(expected, abs=1e-10)
    assert frechet_distance(np.zeros(2), s2, np.zeros(2), s1) == pytest.approx(expected, abs=1e-10)  # symmetric


def test_frechet_distance_commuting_rotated_covariances():
    # S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T commute: (S1 S2)^(1/2) = Q diag(sqrt(ab)) Q^T.
    d = 12
    q = random_rotation(d, 3)
    a, b = rng(4).uniform(0.1, 5, d), rng(5).uniform(0.1, 5, d)
    mu1, mu2 = rng(6).normal(size=d), rng(7).normal(size=d)
    expected = float(((mu1 - mu2) ** 2).sum() + (a + b - 2 * np.sqrt(a * b)).sum())
    got = frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_singular_covariances_stay_finite():
    s = np.zeros((3, 3))
    s[0, 0] = 1.0  # rank 1
    assert frechet_distance(np.zeros(3), s, np.ones(3), s) == pytest.approx(3.0, abs=1e-10)


def test_fid_of_unit_gaussians_approaches_squared_mean_distance():
    mu = np.array([1.0, -1.0, 1.0, 1.0])  # |mu|^2 = 4
    errors = []
    for n in (100, 20_000):
        a = rng(10).normal(size=(n, 4))
        b = rng(11).normal(size=(n, 4)) + mu
        errors.append(abs(fid(a, b) - 4.0))
    assert errors[1] < 0.05 and errors[1] < errors[0]


def test_fid_rejects_bad_shapes():
    with pytest.raises(ValueError, match="covariances"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="at least 2"):
        fid(np.zeros((1, 4)), np.zeros((5, 4)))


# ---------------------------------------------------------------- Inception Score

def test_inception_score_uniform_predictions_is_one():
    assert inception_score(np.full((100, 10), 0.1)) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("k", [2, 10, 37])
def test_inception_score_confident_and_balanced_is_k(k):
    probs = np.eye(k)[np.arange(20 * k) % k]  # one-hot, each class 20 times
    assert inception_score(probs) == pytest.approx(k, rel=1e-6)
    assert inception_score(probs, splits=4) == pytest.approx(k, rel=1e-6)  # each split holds all classes


def test_inception_score_confident_single_class_is_one():
    assert inception_score(np.eye(10)[np.zeros(50, dtype=int)]) == pytest.approx(1.0, abs=1e-6)


def test_inception_score_rejects_bad_splits():
    with pytest.raises(ValueError, match="splits"):
        inception_score(np.full((4, 3), 1 / 3), splits=5)


# ---------------------------------------------------------------- precision/recall, density/coverage

def clusters(centres: np.ndarray, per: int, std: float, seed: int) -> np.ndarray:
    """per points around each centre (K, F) -> (K * per, F), grouped by centre."""
    g = rng(seed)
    return np.concatenate([c + std * g.normal(size=(per, centres.shape[1])) for c in centres])


CENTRES = 10.0 * np.eye(10)  # 10 modes, 14 apart, in 10-D


def test_identical_sets():
    x = rng(0).normal(size=(400, 8))
    p, r = precision_recall(x, x, k=3)
    assert p == 1.0 and r == 1.0
    d, c = density_coverage(x, x, k=5)
    # fake j lies strictly inside its own real ball and the balls of the reals that have j among their 4
    # nearest neighbours; on the edge of those that have it 5th, which prdc's "<" leaves out: k balls per
    # fake on average, so density = 1 exactly (the "<=" convention read 6/5)
    assert c == 1.0 and d == 1.0


def test_same_distribution_density_near_one():
    real, fake = rng(1).normal(size=(3000, 4)), rng(2).normal(size=(3000, 4))
    d, c = density_coverage(real, fake, k=5)
    assert abs(d - 1.0) < 0.1 and c > 0.9
    p, r = precision_recall(real, fake, k=3)
    assert p > 0.8 and r > 0.8


def test_far_away_fakes_score_zero():
    x = rng(3).normal(size=(300, 8))
    assert precision_recall(x, x + 100.0) == (0.0, 0.0)
    assert density_coverage(x, x + 100.0) == (0.0, 0.0)


def test_half_the_modes_exact_subset():
    real = clusters(CENTRES, 50, 0.1, 4)
    fake = real[: 5 * 50]  # the real points of modes 0..4
    p, r = precision_recall(real, fake, k=3)
    d, c = density_coverage(real, fake, k=5)
    assert p == 1.0 and r == 0.5 and c == 0.5


def test_half_the_modes_fresh_samples():
    real = clusters(CENTRES, 200, 0.1, 5)
    fake = clusters(CENTRES[:5], 200, 0.1, 6)
    p, r = precision_recall(real, fake, k=3)
    d, c = density_coverage(real, fake, k=5)
    assert p > 0.75 and 0.4 < r <= 0.5 and 0.45 < c <= 0.5  # i.i.d. k=3 precision in 10-D is ~0.85, not 1
    assert 0.7 < d < 1.3  # the fakes are as dense as the reals where they are


def test_chunking_does_not_change_results():
    real, fake = rng(7).normal(size=(257, 5)), rng(8).normal(size=(131, 5)) + 0.3
    assert precision_recall(real, fake, 3, chunk=7) == precision_recall(real, fake, 3)
    assert density_coverage(real, fake, 5, chunk=10) == density_coverage(real, fake, 5)
    assert torch.allclose(kth_nn_distance(real, 3, chunk=5), kth_nn_distance(real, 3))


def test_kth_nn_distance_by_hand():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    assert kth_nn_distance(x, 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert kth_nn_distance(x, 2).tolist() == [3.0, 2.0, 3.0, 6.0]


def test_knn_metrics_reject_too_few_samples():
    with pytest.raises(ValueError, match="k = 3"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)
    with pytest.raises(ValueError, match="width"):
        density_coverage(np.zeros((10, 2)), np.zeros((10, 3)))


# ---------------------------------------------------------------- class statistics and diversity

def test_class_stats_single_class():
    k = 10
    s = class_stats(np.eye(k)[np.full(200, 3)], k)
    assert s["hist"].tolist() == [0, 0, 0, 200, 0, 0, 0, 0, 0, 0]
    assert s["classes_covered"] == 1
    assert s["kl_to_uniform"] == pytest.approx(math.log(k))
    assert s["mean_confidence"] == pytest.approx(1.0)


def test_class_stats_uniform_mix():
    k = 10
    probs = np.full((300, k), 0.02)
    probs[np.arange(300), np.arange(300) % k] = 0.82  # rows sum to 1, argmax cycles through classes
    s = class_stats(probs, k)
    assert s["hist"].tolist() == [30] * k
    assert s["classes_covered"] == k and s["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert s["mean_confidence"] == pytest.approx(0.82)


def test_class_stats_ignores_stray_predictions():
    # 1000 samples over 10 classes: uniform share 100, "covered" needs >= 10 predictions
    labels = np.array([0] * 985 + [1] * 10 + [2] * 5)
    s = class_stats(np.eye(10)[labels], 10)
    assert s["classes_covered"] == 2


def test_diversity_by_hand():
    assert diversity(np.zeros((10, 3))) == 0.0
    assert diversity(np.array([[0.0, 0.0], [3.0, 4.0]]), n_pairs=50) == pytest.approx(5.0)
    x = rng(9).normal(size=(100, 4))
    assert diversity(x, seed=1) == diversity(x, seed=1)


# ---------------------------------------------------------------- nearest neighbours (memorisation)

def test_nearest_neighbours_finds_planted_copies():
    g = torch.Generator().manual_seed(0)
    train = torch.rand(500, 1, 8, 8, generator=g) * 2 - 1
    samples = torch.rand(20, 1, 8, 8, generator=g) * 2 - 1
    samples[3], samples[7] = train[123], train[0]
    idx, dist = nearest_neighbours(samples, train, chunk=4)
    assert idx[3] == 123 and idx[7] == 0 and dist[3] == 0.0 and dist[7] == 0.0
    brute = torch.cdist(samples.flatten(1).double(), train.flatten(1).double(),
                        compute_mode="donot_use_mm_for_euclid_dist")
    assert torch.equal(idx, brute.argmin(1))
    assert torch.allclose(dist.double(), brute.min(1).values, atol=1e-5)


def test_nearest_neighbours_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="one shape"):
        nearest_neighbours(torch.zeros(2, 1, 8, 8), torch.zeros(5, 1, 28, 28))


# ---------------------------------------------------------------- Stacked MNIST modes

class ValueClassifier:
    """Fake MNIST classifier: an image whose pixels all equal v/10 is digit v."""

    def predict(self, x):
        assert x.shape[1] == 1
        return torch.round(x.flatten(1).mean(1) * 10).long()


def stacked(triples) -> torch.Tensor:
    t = torch.tensor(triples, dtype=torch.float32) / 10  # (N, 3)
    return t[:, :, None, None].expand(-1, -1, 28, 28).clone()  # (N, 3, 28, 28)


def test_stacked_modes_exact_counts():
    out = stacked_mnist_modes(stacked([(1, 2, 3), (1, 2, 3), (9, 9, 9), (0, 0, 7)]), ValueClassifier())
    assert out["modes_captured"] == 3 and out["n"] == 4
    assert out["hist"][123] == 2 and out["hist"][999] == 1 and out["hist"][7] == 1
    # KL(q || uniform) = sum q log(1000 q) with q = (1/2, 1/4, 1/4)
    assert out["kl_to_uniform"] == pytest.approx(0.5 * math.log(500) + 0.5 * math.log(250))


def test_stacked_modes_all_thousand():
    triples = [(m // 100, m // 10 % 10, m % 10) for m in range(1000)]
    out = stacked_mnist_modes(stacked(triples * 2), ValueClassifier())
    assert out["modes_captured"] == 1000 and out["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)


def test_stacked_modes_single_mode():
    out = stacked_mnist_modes(stacked([(4, 5, 6)] * 10), ValueClassifier())
    assert out["modes_captured"] == 1 and out["kl_to_uniform"] == pytest.approx(math.log(1000))


def test_stacked_modes_rejects_one_channel():
    with pytest.raises(ValueError, match="3, H, W"):
        stacked_mnist_modes(torch.zeros(4, 1, 28, 28), ValueClassifier())


# ---------------------------------------------------------------- evaluate_samples (digits classifier)

@pytest.fixture(scope="module")
def digits_images() -> torch.Tensor:
    from sklearn.datasets import load_digits
    x = torch.from_numpy(load_digits().images.astype(np.float32)) / 8 - 1
    return x.unsqueeze(1)  # (1797, 1, 8, 8) in [-1, 1]


@pytest.fixture(scope="module")
def digits_clf():
    return load_classifier("digits")


def test_evaluate_real_vs_real_is_near_the_floor(digits_images, digits_clf):
    perm = torch.randperm(len(digits_images), generator=torch.Generator().manual_seed(1))
    fake = digits_images[perm[:600]]
    calls = []
    out = evaluate_samples(fake, digits_images, digits_clf, progress=lambda m, f: calls.append(f))
    assert out["n"] == 600 and not out["n_reduced"]
    assert out["fid_floor"] > 0
    assert abs(out["fid"] - out["fid_floor"]) < 0.5 * out["fid_floor"]
    assert out["precision"] > 0.8 and out["recall"] > 0.8 and out["coverage"] > 0.8
    assert 0.7 < out["density"] < 1.4
    assert out["inception_score"] == pytest.approx(out["inception_score_real"], rel=0.1)
    assert out["inception_score"] > 8  # a 99%-accurate classifier on 10 balanced classes
    assert out["class_stats"]["classes_covered"] == 10
    assert out["diversity"] == pytest.approx(out["diversity_real"], rel=0.1)
    assert calls == sorted(calls) and calls[-1] == 1.0 and len(calls) >= 5


def test_evaluate_noise_is_far_from_real(digits_images, digits_clf):
    fake = torch.rand(600, 1, 8, 8, generator=torch.Generator().manual_seed(2)) * 2 - 1
    out = evaluate_samples(fake, digits_images, digits_clf)
    assert out["fid"] > 10 * out["fid_floor"]
    assert out["recall"] < 0.1 and out["coverage"] < 0.2 and out["density"] < 0.2
    assert out["precision"] < 0.5 * out["precision_real"]


def test_evaluate_reduces_n_when_real_set_is_small(digits_images, digits_clf):
    fake = digits_images[:1000]
    out = evaluate_samples(fake, digits_images, digits_clf)
    assert out["n"] == len(digits_images) // 2 == 898 and out["n_reduced"] and out["n_fake"] == 1000


def test_evaluate_rejects_mismatched_shapes(digits_images, digits_clf):
    with pytest.raises(ValueError, match="one shape"):
        evaluate_samples(torch.zeros(100, 1, 28, 28), digits_images, digits_clf)
    with pytest.raises(ValueError, match="at least"):
        evaluate_samples(digits_images[:4], digits_images, digits_clf)
