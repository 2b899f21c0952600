"""The scope gate's learned layer: a logistic regression over what a message asks.

The rule layer (``scope.ScopeGate``: lexicon hits plus the best similarity to the articles,
one calibrated threshold) cannot tell a story about PHT that asks about surgery recovery
from one that asks what to try next: both are full of hamstring words. This layer looks at
the asks' embedding, the whole message's embedding and the rule layer's features together,
trained by ``pht calibrate-scope`` on the calibration splits of the labelled scope sets
(short questions and narratives) and measured on their test splits. It is used only with the
embedding model it was trained with; without it the rule layer decides alone. Pure, except
``load_scope_model`` / ``save_scope_model``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.gate_data import DATA_DIR
from assistant.gates.scope import ScopeFeatures

MODEL_FILE = DATA_DIR / "scope_model.json"
LEX_FEATURES = 4  # the rule layer's features at the end of ``scope_vector``; a model trained
# on another count is not used


def scope_vector(ask_vec: np.ndarray, message_vec: np.ndarray, f: ScopeFeatures) -> np.ndarray:
    """The model's input: asks and message embeddings, then the rule layer's features scaled
    to the embeddings' range.

    >>> scope_vector(np.zeros(2), np.ones(2), ScopeFeatures(0.5, 3, 0, 1)).round(2).tolist()
    [0.0, 0.0, 1.0, 1.0, 1.5, 3.0, 0.0, 1.5]
    """
    lex = np.array([f.max_sim, min(f.strong, 3) / 3, min(f.weak, 3) / 3, min(f.out, 2) / 2])
    return np.concatenate([np.asarray(ask_vec, float), np.asarray(message_vec, float), 3 * lex])


@dataclass(frozen=True)
class ScopeModel:
    weights: np.ndarray
    bias: float
    threshold: float  # P(out of scope) at or above this refuses
    embedder: str

    def p_out(self, x: np.ndarray) -> float:
        return float(1.0 / (1.0 + np.exp(-(np.asarray(x, float) @ self.weights + self.bias))))

    def out_of_scope(self, x: np.ndarray) -> bool:
        return self.p_out(x) >= self.threshold


def save_scope_model(model: ScopeModel, path: Path = MODEL_FILE) -> Path:
    data = {
        "embedder": model.embedder,
        "lex_features": LEX_FEATURES,
        "threshold": model.threshold,
        "bias": model.bias,
        "weights": [round(float(w), 6) for w in model.weights],
    }
    path.write_text(json.dumps(data) + "\n", encoding="utf-8")
    return path


def load_scope_model(embedder: str, path: Path = MODEL_FILE, dimension: int | None = None
                     ) -> ScopeModel | None:
    """The trained layer for this embedding model and this input layout (``scope_vector`` of
    ``dimension``-long embeddings, when given), or None: the rule layer then decides."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("embedder") != embedder or data.get("lex_features", 4) != LEX_FEATURES:
            return None
        model = ScopeModel(
            np.asarray(data["weights"], float), float(data["bias"]), float(data["threshold"]),
            str(data["embedder"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if model.weights.ndim != 1 or (dimension and len(model.weights) != 2 * dimension + LEX_FEATURES):
        return None
    if not (np.isfinite(model.weights).all() and np.isfinite(model.bias)
            and 0.0 <= model.threshold <= 1.0):
        return None  # a NaN or a threshold out of range would refuse nothing
    return model
