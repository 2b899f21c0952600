"""Small learned components' training: logistic regression and its model selection.

Pure numpy, deterministic. ``fit`` trains a class-balanced logistic regression by full-batch
gradient descent; ``fit_each`` trains one per positive class (that class against the rows of no
class) for a positive side made of several unlike things; ``choose_by_cv`` picks the
regularisation, epochs and decision threshold by k-fold cross-validation on the training data
alone (max recall at a precision floor). Used by the filler scorer, the scope gate's learned
layer and the red-flag gate's learned layer; it knows nothing of embeddings or text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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
        p = sigmoid(x @ w + b)
        g = (p - t) * sample_w
        w -= lr * (x.T @ g / len(t) + l2 * w)
        b -= lr * float(g.mean())
    return w, b


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, element-wise."""
    return 1.0 / (1.0 + np.exp(-z))


def fit_each(
    x: np.ndarray, classes: Sequence[str], *, l2: float = 1e-3, epochs: int = 400, lr: float = 0.5
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """One logistic regression (``fit``) per positive class, each trained on that class's rows
    against every row of no class (""): (weights, one row per class; biases; class names, sorted).
    A row's probability of any class is the highest of its per-class probabilities.

    >>> x = np.array([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1.0, 0], [0.1, 0.9, 0], [0, 0, 1.0], [0, 0.1, 0.9]])
    >>> w, b, names = fit_each(x, ["a", "a", "b", "b", "", ""], epochs=2000)
    >>> names, sigmoid(x @ w.T + b).argmax(axis=1)[:4].tolist()
    (('a', 'b'), [0, 0, 1, 1])
    """
    labels = np.asarray(classes, dtype=object)
    names = tuple(sorted({str(c) for c in labels if c}))
    rows = []
    for name in names:
        chosen = (labels == name) | (labels == "")
        rows.append(fit(x[chosen], list(labels[chosen] == name), l2=l2, epochs=epochs, lr=lr))
    return np.array([w for w, _b in rows]), np.array([b for _w, b in rows]), names


def out_of_fold(
    x: np.ndarray, y: np.ndarray, *, l2: float, epochs: int, folds: int = 5, seed: int = 0,
    classes: Sequence[str] | None = None,
) -> np.ndarray:
    """Each row's probability from a model trained on the other folds (``fit``, or ``fit_each``
    with the highest class probability when ``classes`` are given); rows dealt to folds by a
    fixed shuffle (``seed``)."""
    fold = np.random.default_rng(seed).permutation(len(y)) % folds
    labels = None if classes is None else np.asarray(classes, dtype=object)
    oof = np.zeros(len(y))
    for k in range(folds):
        train, held = fold != k, fold == k
        if labels is None:
            w, b = fit(x[train], list(y[train]), l2=l2, epochs=epochs)
            oof[held] = sigmoid(x[held] @ w + b)
        else:
            ws, bs, _names = fit_each(x[train], list(labels[train]), l2=l2, epochs=epochs)
            oof[held] = sigmoid(x[held] @ ws.T + bs).max(axis=1)
    return oof


def choose_by_cv(
    x: np.ndarray, y: np.ndarray, *, min_precision: float, folds: int = 5, repeats: int = 3,
    grid: Sequence[tuple[float, int]] = ((1e-4, 400), (1e-4, 1500), (1e-3, 400), (1e-3, 1500),
                                         (1e-2, 400), (1e-2, 1500)),
    classes: Sequence[str] | None = None,
) -> tuple[tuple[float, int, float], tuple[float, float]]:
    """(l2, epochs, threshold) of the logistic regression whose out-of-fold predictions reach
    ``min_precision`` with the highest recall (positives = True), and that precision/recall.

    Out-of-fold probabilities are averaged over ``repeats`` fixed shuffles (so the choice is
    stable and reproducible); the threshold is the lowest averaged probability that keeps the
    precision. Only the training data is seen. With ``classes`` (a class name per positive row,
    "" per negative one) the model is ``fit_each``'s, scored by its highest class probability.

    >>> x = np.array([[1.0, 0], [0.9, 0.2], [0.8, 0.1], [0, 1.0], [0.1, 0.9], [0.2, 0.8]] * 3)
    >>> y = np.array([True, True, True, False, False, False] * 3)
    >>> (l2, epochs, t), (p, r) = choose_by_cv(x, y, min_precision=0.9)
    >>> p >= 0.9 and r == 1.0
    True
    """
    y = np.asarray(y, dtype=bool)
    scores: dict[tuple[float, int], np.ndarray] = {}
    for l2, epochs in grid:
        total = np.zeros(len(y))
        for seed in range(repeats):
            total += out_of_fold(x, y, l2=l2, epochs=epochs, folds=folds, seed=seed, classes=classes)
        scores[(l2, epochs)] = total / repeats
    return operating_point(scores, y, min_precision=min_precision)


def operating_point(
    scores: Mapping[tuple[float, int], np.ndarray], y: np.ndarray, *, min_precision: float
) -> tuple[tuple[float, int, float], tuple[float, float]]:
    """Of the (l2, epochs) points' out-of-fold ``scores``, the point and threshold that reach
    ``min_precision`` with the highest recall (the first point on a tie; the threshold is the
    lowest that keeps the precision), and that precision/recall; ((1e-3, 400, 0.5), (0, 0))
    when none reaches it."""
    y = np.asarray(y, dtype=bool)
    best: tuple[tuple[float, int, float], tuple[float, float]] = ((1e-3, 400, 0.5), (0.0, 0.0))
    for (l2, epochs), oof in scores.items():
        for t in sorted(set(np.round(oof, 3).tolist())):
            chosen = oof >= t
            tp = int((chosen & y).sum())
            p, r = tp / max(int(chosen.sum()), 1), tp / max(int(y.sum()), 1)
            if p >= min_precision:
                if r > best[1][1]:
                    best = ((l2, epochs, float(t)), (p, r))
                break
    return best
