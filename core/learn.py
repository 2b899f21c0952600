"""Small learned components' training: logistic regression and its model selection.

Pure numpy, deterministic. ``fit`` trains a class-balanced logistic regression by full-batch
gradient descent; ``choose_by_cv`` picks its regularisation, epochs and decision threshold by
k-fold cross-validation on the training data alone (max recall at a precision floor). Used by
the filler scorer, the scope gate's learned layer and the red-flag gate's learned layer; it
knows nothing of embeddings or text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fit(
    x: np.ndarray, y: Sequence[bool], *, l2: float = 1e-3, epochs: int = 400, lr: float = 0.5
) -> tuple[np.ndarray, float]:
    """Logistic regression by full-batch gradient descent (deterministic; classes balanced).

    >>> w, b = fit(np.array([[1.0, 0], [0.9, 0.1], [0, 1.0], [0.1, 0.9]]), [True, True, False, False])
    >>> bool((np.array([[1.0, 0]]) @ w + b)[0] > 0 > (np.array([[0, 1.0]]) @ w + b)[0])
    True
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    pos = max(t.sum(), 1.0)
    neg = max(len(t) - t.sum(), 1.0)
    sample_w = np.where(t == 1, len(t) / (2 * pos), len(t) / (2 * neg))
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(epochs):
        p = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        g = (p - t) * sample_w
        w -= lr * (x.T @ g / len(t) + l2 * w)
        b -= lr * float(g.mean())
    return w, b


def choose_by_cv(
    x: np.ndarray, y: np.ndarray, *, min_precision: float, folds: int = 5, repeats: int = 3,
    grid: Sequence[tuple[float, int]] = ((1e-4, 400), (1e-4, 1500), (1e-3, 400), (1e-3, 1500),
                                         (1e-2, 400), (1e-2, 1500)),
) -> tuple[tuple[float, int, float], tuple[float, float]]:
    """(l2, epochs, threshold) of the logistic regression whose out-of-fold predictions reach
    ``min_precision`` with the highest recall (positives = True), and that precision/recall.

    Out-of-fold probabilities are averaged over ``repeats`` fixed shuffles (so the choice is
    stable and reproducible); the threshold is the lowest averaged probability that keeps the
    precision. Only the training data is seen.

    >>> x = np.array([[1.0, 0], [0.9, 0.2], [0.8, 0.1], [0, 1.0], [0.1, 0.9], [0.2, 0.8]] * 3)
    >>> y = np.array([True, True, True, False, False, False] * 3)
    >>> (l2, epochs, t), (p, r) = choose_by_cv(x, y, min_precision=0.9)
    >>> p >= 0.9 and r == 1.0
    True
    """
    y = np.asarray(y, dtype=bool)
    best: tuple[tuple[float, int, float], tuple[float, float]] = ((1e-3, 400, 0.5), (0.0, 0.0))
    for l2, epochs in grid:
        oof = np.zeros(len(y))
        for seed in range(repeats):
            fold = np.random.default_rng(seed).permutation(len(y)) % folds
            for k in range(folds):
                w, b = fit(x[fold != k], list(y[fold != k]), l2=l2, epochs=epochs)
                oof[fold == k] += 1.0 / (1.0 + np.exp(-(x[fold == k] @ w + b))) / repeats
        for t in sorted(set(np.round(oof, 3).tolist())):
            chosen = oof >= t
            tp = int((chosen & y).sum())
            p, r = tp / max(int(chosen.sum()), 1), tp / max(int(y.sum()), 1)
            if p >= min_precision:
                if r > best[1][1]:
                    best = ((l2, epochs, float(t)), (p, r))
                break
    return best
