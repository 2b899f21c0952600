"""The scope gate's learned layer: a logistic regression over what a message asks.

The rule layer (``scope.ScopeGate``: lexicon hits plus the best similarity to the articles,
one calibrated threshold) cannot tell a story about PHT that asks about surgery recovery
from one that asks what to try next: both are full of hamstring words. This layer looks at
the asks' embedding, the whole message's embedding, the rule layer's features and how close
the asks are to the nearest labelled training asks of each kind (``Neighbours``: the mean of
the top-k cosines to out-of-scope asks, to in-scope asks, and their difference; a
non-linear, learned prototype feature the linear weights cannot express). It is trained by
``pht calibrate-scope`` on the calibration splits of the labelled scope sets, the team's
training messages and the FAQ questions, with regularisation, epochs and threshold chosen by
cross-validation whose neighbour features are computed inside each fold (``choose``), and
measured on the held-out test splits. It is used only with the embedding model it was
trained with; without it the rule layer decides alone. Pure, except ``load_scope_model`` /
``save_scope_model``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.gate_data import DATA_DIR
from assistant.gates.scope import ScopeFeatures
from core.learn import fit

MODEL_FILE = DATA_DIR / "scope_model.json"
NEIGHBOURS_K = 3


def scope_vector(ask_vec: np.ndarray, message_vec: np.ndarray, f: ScopeFeatures) -> np.ndarray:
    """The model's base input: asks and message embeddings, then the rule layer's features
    scaled to the embeddings' range (the neighbour features are added by the model).

    >>> scope_vector(np.zeros(2), np.ones(2), ScopeFeatures(0.5, 3, 0, 1)).round(2).tolist()
    [0.0, 0.0, 1.0, 1.0, 1.5, 3.0, 0.0, 1.5]
    """
    lex = np.array([f.max_sim, min(f.strong, 3) / 3, min(f.weak, 3) / 3, min(f.out, 2) / 2])
    return np.concatenate([np.asarray(ask_vec, float), np.asarray(message_vec, float), 3 * lex])


def _unit(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, float)
    n = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(n == 0, 1.0, n)


@dataclass(frozen=True)
class Neighbours:
    """Labelled training asks (unit vectors) and whether each is out of scope."""

    vectors: np.ndarray
    out: np.ndarray
    k: int = NEIGHBOURS_K

    def features(self, asks: np.ndarray, exclude: Sequence[int] | None = None) -> np.ndarray:
        """Per row of ``asks``: 3 * (top-k mean cosine to out-of-scope asks, to in-scope asks,
        their difference). ``exclude[i]`` (a reference row, or -1) is left out for row i, so a
        training ask is not its own neighbour.

        >>> nb = Neighbours(np.array([[1.0, 0], [0, 1.0]]), np.array([True, False]), k=1)
        >>> nb.features(np.array([[2.0, 0]])).round(2).tolist()
        [[3.0, 0.0, 3.0]]
        """
        sims = _unit(np.atleast_2d(asks)) @ self.vectors.T
        if exclude is not None:
            for i, j in enumerate(exclude):
                if j >= 0:
                    sims[i, j] = -1.0

        def top(cols: np.ndarray) -> np.ndarray:
            k = max(1, min(self.k, int(cols.shape[1])))
            return np.sort(cols, axis=1)[:, -k:].mean(axis=1)

        so, si = top(sims[:, self.out]), top(sims[:, ~self.out])
        return 3 * np.stack([so, si, so - si], axis=1)


def full_features(x: np.ndarray, neighbours: Neighbours, dim: int,
                  exclude: Sequence[int] | None = None) -> np.ndarray:
    """Base vectors (rows of ``scope_vector``) with their neighbour features appended."""
    x = np.atleast_2d(np.asarray(x, float))
    return np.hstack([x, neighbours.features(x[:, :dim], exclude)])


@dataclass(frozen=True)
class ScopeModel:
    weights: np.ndarray
    bias: float
    threshold: float  # P(out of scope) at or above this refuses
    embedder: str
    neighbours: Neighbours | None = None
    dim: int = 0  # embedding size (the ask vector is x[:dim])

    def p_out(self, x: np.ndarray) -> float:
        """P(out of scope) of one ``scope_vector``."""
        z = np.asarray(x, float)
        if self.neighbours is not None:
            z = full_features(z, self.neighbours, self.dim)[0]
        return float(1.0 / (1.0 + np.exp(-(z @ self.weights + self.bias))))

    def out_of_scope(self, x: np.ndarray) -> bool:
        return self.p_out(x) >= self.threshold


def _oof(x: np.ndarray, y: np.ndarray, dim: int, l2: float, epochs: int, folds: int,
         repeats: int) -> np.ndarray:
    """Out-of-fold P(out), neighbour features built from the training folds only."""
    oof = np.zeros(len(y))
    for seed in range(repeats):
        fold = np.random.default_rng(seed).permutation(len(y)) % folds
        for k in range(folds):
            tr, te = np.where(fold != k)[0], np.where(fold == k)[0]
            nb = Neighbours(_unit(x[tr, :dim]), y[tr])
            w, b = fit(full_features(x[tr], nb, dim, exclude=range(len(tr))), list(y[tr]),
                       l2=l2, epochs=epochs)
            z = full_features(x[te], nb, dim) @ w + b
            oof[te] += 1.0 / (1.0 + np.exp(-z)) / repeats
    return oof


def train(
    x: np.ndarray, y: Sequence[bool], *, dim: int, embedder: str, min_precision: float = 0.95,
    folds: int = 5, repeats: int = 3,
    grid: Sequence[tuple[float, int]] = ((1e-4, 1500), (1e-3, 1500), (1e-3, 4000),
                                         (1e-2, 1500)),
) -> tuple[ScopeModel, tuple[float, int, float, float]]:
    """Choose (l2, epochs, threshold) by k-fold CV on the training rows alone (max out-of-scope
    recall at ``min_precision``, the lowest such threshold), then fit on all rows. Returns the
    model and (l2, epochs, CV precision, CV recall)."""
    x = np.asarray(x, float)
    yb = np.asarray(y, dtype=bool)
    best = (grid[0][0], grid[0][1], 0.5, 0.0, 0.0)
    for l2, epochs in grid:
        oof = _oof(x, yb, dim, l2, epochs, folds, repeats)
        for t in sorted(set(np.round(oof, 3).tolist())):
            chosen = oof >= t
            tp = int((chosen & yb).sum())
            p, r = tp / max(int(chosen.sum()), 1), tp / max(int(yb.sum()), 1)
            if p >= min_precision:
                if r > best[4]:
                    best = (l2, epochs, float(t), p, r)
                break
    l2, epochs, threshold, p, r = best
    nb = Neighbours(_unit(x[:, :dim]), yb)
    w, b = fit(full_features(x, nb, dim, exclude=range(len(yb))), list(yb), l2=l2, epochs=epochs)
    return ScopeModel(w, b, threshold, embedder, nb, dim), (l2, epochs, p, r)


def _pack(m: np.ndarray) -> str:
    return base64.b64encode(np.asarray(m, "<f2").tobytes()).decode("ascii")


def save_scope_model(model: ScopeModel, path: Path = MODEL_FILE) -> Path:
    data: dict[str, object] = {
        "embedder": model.embedder,
        "threshold": model.threshold,
        "bias": model.bias,
        "weights": [round(float(w), 6) for w in model.weights],
    }
    if model.neighbours is not None:
        nb = model.neighbours
        data.update(dim=model.dim, k=nb.k, out="".join("1" if o else "0" for o in nb.out),
                    vectors_f16=_pack(nb.vectors))
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    return path


def load_scope_model(embedder: str, path: Path = MODEL_FILE) -> ScopeModel | None:
    """The trained layer for this embedding model, or None (also when unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("embedder") != embedder:
            return None
        nb, dim = None, 0
        if "vectors_f16" in data:
            dim = int(data["dim"])
            out = np.array([c == "1" for c in data["out"]])
            raw = np.frombuffer(base64.b64decode(data["vectors_f16"]), "<f2").astype(float)
            nb = Neighbours(raw.reshape(len(out), dim), out, int(data["k"]))
        return ScopeModel(
            np.asarray(data["weights"], float), float(data["bias"]), float(data["threshold"]),
            str(data["embedder"]), nb, dim,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
