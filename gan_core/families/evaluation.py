"""Figures ``evaluate`` reports for families whose generator takes a class or a code: does G make what it
was asked for? Both use the shipped digit classifier on generated images."""
from __future__ import annotations

import numpy as np


def _by_class(view, classifier, n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(asked class or code, classifier's label) for ``n`` samples cycling through the classes (evaluate's
    own sample stream, with a seed of its own)."""
    from ..evaluate import _fake_batches
    said = [classifier.predict(x).cpu().numpy() for x in _fake_batches(view, n, seed)]
    return np.arange(n) % view.num_classes, np.concatenate(said)


def class_agreement(view, classifier, n: int = 2000) -> dict:
    """The fraction of samples the classifier assigns to the class that was asked for."""
    asked, said = _by_class(view, classifier, n)
    per = [float((said[asked == c] == c).mean()) for c in range(view.num_classes)]
    return {"class_agreement": float((asked == said).mean()), "class_agreement_per_class": per}


def best_matching(confusion: np.ndarray) -> tuple[np.ndarray, float]:
    """The one-to-one code -> label assignment with the most agreeing samples (Hungarian algorithm), and
    the fraction of samples it explains. ``confusion[code, label]`` counts samples."""
    from scipy.optimize import linear_sum_assignment
    rows, cols = linear_sum_assignment(-confusion)
    mapping = np.full(confusion.shape[0], -1)
    mapping[rows] = cols
    return mapping, float(confusion[rows, cols].sum() / max(confusion.sum(), 1))


def code_purity(view, classifier, n: int = 2000, labels: int = 10) -> dict:
    """InfoGAN: agreement between the categorical code and the classifier's labels after the best
    one-to-one matching of codes to labels (chance is about 1/labels)."""
    codes, said = _by_class(view, classifier, n)
    confusion = np.zeros((view.num_classes, labels), dtype=np.int64)
    np.add.at(confusion, (codes, said), 1)
    mapping, purity = best_matching(confusion)
    return {"code_purity": purity, "code_to_label": mapping.tolist()}
