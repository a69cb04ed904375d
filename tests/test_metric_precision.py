"""Metrics a student can cite (issue 13): each precision fix against a case whose answer is known.

The references here are written from the papers' definitions, brute force in float64 with plain
differences (no matrix-product shortcut): Kynkäänniemi et al. 2019 (precision/recall, ``<=``) and
Naeem et al. 2020 / prdc (density/coverage, ``<``)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gan_core import knn
from gan_core.quality import (STACKED_SAMPLES, density_coverage, inception_score, inception_score_splits,
                              kth_nn_distance, mode_hist_stats, nearest_neighbours, precision_recall,
                              uniform_mode_reference)

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def reference_prdc(real: np.ndarray, fake: np.ndarray, k_pr: int = 3, k_dc: int = 5) -> tuple:
    """(precision, recall, density, coverage) by the definitions, brute force in float64."""
    d_rr, d_ff, d_rf = dist(real, real), dist(fake, fake), dist(real, fake)
    r_pr, f_pr = np.sort(d_rr, 1)[:, k_pr], np.sort(d_ff, 1)[:, k_pr]  # column 0 is the point itself
    precision = (d_rf <= r_pr[:, None]).any(0).mean()
    recall = (d_rf.T <= f_pr[:, None]).any(0).mean()
    r_dc = np.sort(d_rr, 1)[:, k_dc]
    density = (d_rf < r_dc[:, None]).sum() / (k_dc * fake.shape[0])
    coverage = (d_rf.min(1) < r_dc).mean()
    return float(precision), float(recall), float(density), float(coverage)


def ours(real, fake) -> tuple:
    return (*precision_recall(real, fake, 3), *density_coverage(real, fake, 5))


# ---------------------------------------------------------------- 1. a large common offset

def test_a_large_common_offset_changes_nothing():
    g = np.random.default_rng(13)
    real = 1000 + 0.05 * g.normal(size=(600, 32))
    fake = 1000 + 0.055 * g.normal(size=(600, 32))  # 1.1x the spread
    exact = reference_prdc(real, fake)
    assert ours(real, fake) == exact
    assert ours(real - 1000, fake - 1000) == exact  # all four are translation invariant
    # the figures the issue measured for this case (their seed): the float32 code returned 1 / 1 / 68 / 1
    p, r, d, c = exact
    assert 0.3 < p < 0.6 and 0.75 < r < 0.95 and 0.25 < d < 0.5 and 0.6 < c < 0.9


@pytest.mark.parametrize("offset", [10.0, 100.0, 300.0])
def test_moderate_offsets_are_exact_too(offset):
    g = np.random.default_rng(int(offset))
    real, fake = g.normal(size=(300, 16)), 1.1 * g.normal(size=(300, 16))
    assert ours(real + offset, fake + offset) == reference_prdc(real + offset, fake + offset)


def test_float32_features_keep_their_value():
    g = np.random.default_rng(1)
    real = (1000 + 0.05 * g.normal(size=(200, 8))).astype(np.float32)
    fake = (1000 + 0.05 * g.normal(size=(200, 8))).astype(np.float32)
    assert ours(real, fake) == reference_prdc(real.astype(np.float64), fake.astype(np.float64))
    assert ours(torch.from_numpy(real), torch.from_numpy(fake)) == ours(real, fake)


# ---------------------------------------------------------------- 2. ties: copies and integer features

def test_exact_copies_read_density_one():
    x = np.random.default_rng(0).normal(size=(400, 8))
    assert ours(x, x.copy()) == (1.0, 1.0, 1.0, 1.0)
    # with 1000 added the copies are still exact copies, and every tie is still a tie
    assert ours(x + 1000, x + 1000) == (1.0, 1.0, 1.0, 1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_features_match_the_reference(seed):
    g = np.random.default_rng(seed)
    real = g.integers(0, 4, size=(300, 6)).astype(np.float64)  # thousands of exact distance ties
    fake = g.integers(0, 4, size=(250, 6)).astype(np.float64) + (seed == 2)
    assert ours(real, fake) == reference_prdc(real, fake)


def test_ties_decide_the_kth_distance_and_the_balls_by_hand():
    # points on a line at 0, 1, 2, 3: every 1st neighbour is 1 away, so a fake at 0.5 + i and the copies
    # decide exactly on the edges
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    assert kth_nn_distance(real, 1).tolist() == [1.0, 1.0, 1.0, 1.0]
    fake = np.array([[1.0], [4.0]])  # 1.0 is a copy of a real point; 4.0 lies on the edge of 3.0's ball
    d, c = density_coverage(real, fake, k=1)
    # density counts strict insides: fake 1.0 is inside its own ball only (0 < 1), not on 0's or 2's edge
    assert d == pytest.approx(1 / 2) and c == pytest.approx(1 / 4)
    p, _ = precision_recall(real, fake, k=1)
    assert p == 1.0  # precision counts the edge: 4.0 is on 3.0's ball


# ---------------------------------------------------------------- the exact k-NN machinery itself

def test_knn_matches_brute_force_with_chunks_and_fallbacks():
    g = np.random.default_rng(5)
    x = np.repeat(g.integers(0, 3, size=(40, 3)).astype(np.float64), 3, axis=0)  # many duplicates
    want = np.sort(dist(x, x), 1)[:, 4] ** 2
    for chunk in (1, 7, 1024):
        got = knn.kth_sq_distance(knn.as_f64(x), 4, chunk).numpy()
        assert np.array_equal(got, want)


def test_knn_rejects_non_matrices():
    with pytest.raises(ValueError, match="2-D"):
        knn.as_f64(np.zeros(5))


# ---------------------------------------------------------------- 3. memorisation check

def test_memorised_copies_read_zero_beside_near_duplicates():
    g = torch.Generator().manual_seed(3)
    grey = torch.randint(0, 256, (300, 1, 28, 28), generator=g)  # 8-bit images as the data loaders give
    near = grey.clone()
    near[:, 0, 14, 14] = (near[:, 0, 14, 14] + 1) % 256  # one grey level away in one pixel
    to_unit = lambda t: t.float() / 127.5 - 1  # noqa: E731 - the [-1, 1] scale of every dataset
    train = torch.cat([to_unit(near), to_unit(grey)])  # the near-duplicates first: a float32 ranking picks them
    idx, d = nearest_neighbours(to_unit(grey), train)
    assert torch.equal(d, torch.zeros(300)), f"{int((d > 0).sum())} of 300 copies read as non-zero"
    assert torch.equal(idx, torch.arange(300, 600))
    # and a sample that is no copy reads its true distance, 2/255 from its near-duplicate
    idx, d = nearest_neighbours(to_unit(near[:5]), to_unit(grey))
    assert torch.equal(idx, torch.arange(5)) and torch.allclose(d, torch.full((5,), 2 / 255))


# ---------------------------------------------------------------- 4. Stacked MNIST at the published count

def test_a_perfect_generator_scores_by_sample_count():
    at_2000, at_26000 = uniform_mode_reference(2000), uniform_mode_reference(STACKED_SAMPLES)
    assert STACKED_SAMPLES == 26_000
    assert at_2000["modes_captured"] == pytest.approx(1000 * (1 - math.exp(-2)), abs=0.2)  # ~865
    assert at_2000["kl_to_uniform"] == pytest.approx(0.28, abs=0.01)
    assert at_26000["modes_captured"] == pytest.approx(1000, abs=1e-6)
    assert at_26000["kl_to_uniform"] == pytest.approx(999 / (2 * 26_000), rel=0.02)  # the chi-square limit
    # Monte Carlo with a seeded uniform "generator" agrees with the exact expectation
    g = np.random.default_rng(0)
    runs = [mode_hist_stats(np.bincount(g.integers(0, 1000, 2000), minlength=1000)) for _ in range(400)]
    for key in ("modes_captured", "kl_to_uniform"):
        values = np.array([r[key] for r in runs])
        standard_error = values.std() / math.sqrt(len(values))
        assert abs(values.mean() - at_2000[key]) < 4 * standard_error, key


def test_the_reference_by_hand():
    r = uniform_mode_reference(3, modes=2)  # histograms (3,0) w.p. 1/4 and (2,1) w.p. 3/4
    assert r["modes_captured"] == pytest.approx(1.75)
    want = 0.25 * math.log(2) + 0.75 * (2 / 3 * math.log(4 / 3) + 1 / 3 * math.log(2 / 3))
    assert r["kl_to_uniform"] == pytest.approx(want, rel=1e-12)
    assert uniform_mode_reference(5, modes=1)["kl_to_uniform"] == 0.0
    with pytest.raises(ValueError, match="at least 1"):
        uniform_mode_reference(0)


class ValueClassifier:
    """Fake MNIST classifier: an image whose pixels all equal v/10 is digit v."""

    def predict(self, x):
        return torch.round(x.flatten(1).mean(1) * 10).long()


class UniformStacks:
    """A perfect Stacked MNIST generator for ValueClassifier: each channel a uniformly random digit."""
    z_dim, num_classes = 3, 0

    def inputs(self, n, gen):  # as GeneratorView.inputs: N(0, I) noise
        return torch.randn(n, self.z_dim, generator=gen)

    def generate(self, z, y=None):
        digits = torch.floor((torch.special.ndtr(z) * 10).clamp(0, 9.999))  # uniform digits from normal z
        return (digits / 10)[:, :, None, None].expand(-1, -1, 28, 28)


def test_stacked_modes_on_the_published_count_reach_the_perfect_score():
    from gan_core.evaluate import stacked_modes
    seen = []
    out = stacked_modes(UniformStacks(), STACKED_SAMPLES, ValueClassifier(), lambda m, f: seen.append(f))
    assert out["stacked_samples"] == 26_000 and out["stacked_modes_captured"] == 1000
    assert out["stacked_kl_to_uniform"] == pytest.approx(out["stacked_perfect_kl"], abs=0.006)
    assert seen == sorted(seen) and len(seen) == 52 and seen[-1] == 1.0  # a progress report per 500


def test_evaluate_counts_stacked_modes_on_26000_by_default(monkeypatch, tmp_path):
    from test_stacked import write_idx

    from gan_core import evaluate
    from gan_core.config import Config
    from gan_core.run import Run
    g = np.random.default_rng(0)
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte.gz", g.integers(0, 256, (64, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz", np.arange(64) % 10)
    cfg = Config.from_dict({"arch": "dcgan", "dataset": "stacked_mnist", "data_dir": str(tmp_path),
                            "download": False, "batch_size": 8, "ngf": 4, "ndf": 4, "seed": 0})
    run = Run(cfg)
    run.trainer.step()
    path = tmp_path / "run"
    run.save(path)
    run.stop()
    asked = []
    monkeypatch.setattr(evaluate, "stacked_modes", lambda view, n, clf, say, **kw: asked.append(n) or {})
    evaluate.evaluate_checkpoint(path, samples=40)
    evaluate.evaluate_checkpoint(path, samples=40, stacked_samples=500)
    assert asked == [26_000, 500]


# ---------------------------------------------------------------- 5. Inception-style score over 10 splits

def test_inception_score_over_ten_splits():
    # split i (2,520 samples, consecutive) is confident and even over i + 1 classes: its score is i + 1
    parts = [np.eye(10)[np.arange(2520) % (i + 1)] for i in range(10)]
    probs = np.concatenate(parts)
    mean, std = inception_score_splits(probs)
    assert mean == pytest.approx(5.5, rel=1e-9)
    assert std == pytest.approx(np.std(np.arange(1, 11)), rel=1e-9)  # population deviation, 2.872
    assert inception_score(probs, splits=10) == pytest.approx(mean)


def test_inception_splits_of_uneven_counts_differ_by_one_sample_at_most():
    # 25 samples in 10 splits: sizes 3,3,3,3,3,2,2,2,2,2 in order; a split of one repeated class scores 1
    probs = np.eye(10)[np.array([0, 1, 2] * 5 + [3, 3] * 5)]
    scores = [inception_score(p) for p in np.array_split(probs, 10)]
    assert inception_score_splits(probs) == pytest.approx((np.mean(scores), np.std(scores)))
    assert scores[:5] == pytest.approx([3.0] * 5) and scores[5:] == pytest.approx([1.0] * 5)


# ---------------------------------------------------------------- what the Diagnostics page shows

def test_live_stacked_counts_carry_the_perfect_score_line():
    from ui.diagnostics_view import coverage_figure, stacked_reference
    perfect = stacked_reference()
    assert perfect["n"] == 2000 and round(perfect["modes_captured"]) == 865
    evals = {"step": [10, 20], "classes_covered": [300, 500], "kl_uniform": [2.0, 1.0], "diversity_ratio": [1, 1]}
    fig = coverage_figure(evals, "classes", 1000, perfect)
    notes = [a.text for a in fig.layout.annotations]
    assert "Modes covered (of 1000)" in notes
    assert any("a perfect generator at 2,000 samples: 865 (KL 0.28)" in t for t in notes), notes


def test_the_quality_table_shows_ten_splits_and_stacked_modes_beside_a_perfect_generator():
    from streamlit.testing.v1 import AppTest

    def page():
        from ui.diagnostics_view import _show_result
        _show_result(1200, {"n": 2000, "fid": 3.0, "fid_floor": 1.0, "inception_score": 7.5,
                            "inception_score_real": 9.0, "inception_score_mean": 7.25, "inception_score_std": 0.125,
                            "inception_score_real_mean": 8.75, "inception_score_real_std": 0.25,
                            "stacked_samples": 2000, "stacked_modes_captured": 612, "stacked_kl_to_uniform": 0.9,
                            "stacked_perfect_modes": 864.8, "stacked_perfect_kl": 0.2846})

    at = AppTest.from_function(page).run(timeout=30)
    table = next(m.value for m in at.markdown if m.value.startswith("| metric |"))
    assert "| Inception-style score, 10 splits | **7.250 ± 0.125** | 8.750 ± 0.250 |" in table
    assert "| Stacked MNIST modes (of 1,000) | **612** | 865 | a perfect generator at 2,000 samples |" in table
    assert "| Stacked MNIST KL to uniform | **0.900** | 0.285 |" in table
    assert "edge as inside" in at.caption[0].value


def test_on_demand_stacked_counts_use_the_mnist_classifier_per_channel():
    from gan_core.classifier import load_for_dataset
    from ui.diagnostics_view import stacked_at
    fake = torch.rand(600, 3, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    out = stacked_at(fake, load_for_dataset("stacked_mnist"))
    assert out["stacked_samples"] == 600 and 1 <= out["stacked_modes_captured"] <= 600
    assert out["stacked_perfect_modes"] == pytest.approx(uniform_mode_reference(600)["modes_captured"])
