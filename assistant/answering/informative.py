"""Does a sentence inform a reader, or is it filler? A small learned scorer over embeddings.

Filler is text that carries nothing for someone who asked a question: lead-ins to content
not quoted ("Below, I will outline..."), the author's story ("Trust me, I have been
there..."), references to a video or podcast, plugs, greetings, rhetorical hooks. A logistic
regression over the embedding model's vectors of the whole sentence and of its first
``HEAD_WORDS`` words (where a sentence says what it is doing: "Below, I will outline...")
decides, trained on the team's own
labelled sentences (``assistant/data/sentence_kinds.yaml``, written for many injuries and
blog styles, not taken from the corpus) by ``pht train-informative``, which writes
``assistant/data/informative_model.json``. It reads the vectors it was trained on: of the
sentence alone, not the index's sentence vectors (embedded with their section heading, which
made "This has been a go-to exercise for all my clients" look informative), and of its head;
both are stored with the build (``ingest.heads``) or, for a build without them, embedded once
per sentence and cached. The model is only used with the embedding
model it was trained on (same fingerprint); otherwise nothing is filtered. It does not read
the question: relevance is ``extractive.relevance``'s job.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.gate_data import DATA_DIR
from ingest.heads import HEAD_WORDS, head

__all__ = ["HEAD_WORDS", "FillerFilter", "InformativeModel", "features", "head", "load_model"]
MODEL_FILE = DATA_DIR / "informative_model.json"


def features(full: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """The scorer's input: the sentence vector and its head's vector side by side."""
    return np.hstack([np.atleast_2d(full), np.atleast_2d(heads)])


@dataclass(frozen=True)
class InformativeModel:
    weights: np.ndarray
    bias: float
    threshold: float  # P(informative) below this is filler
    embedder: str  # fingerprint of the embedding model it was trained with

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        """P(informative) for each row of ``vectors`` (shape (n, d) or (d,))."""
        z = np.asarray(vectors, dtype=np.float64) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def is_filler(self, vector: np.ndarray) -> bool:
        return bool(self.probability(vector) < self.threshold)

    def to_json(self) -> dict[str, object]:
        return {
            "embedder": self.embedder,
            "bias": self.bias,
            "threshold": self.threshold,
            "weights": [round(float(w), 6) for w in self.weights],
        }


def load_model(embedder_fingerprint: str, path: Path = MODEL_FILE) -> InformativeModel | None:
    """The trained scorer, or None when there is none for this embedding model."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("embedder") != embedder_fingerprint:
        return None
    return InformativeModel(
        np.asarray(data["weights"], dtype=np.float64), float(data["bias"]),
        float(data["threshold"]), str(data["embedder"]),
    )


Stored = Callable[[Sequence[str]], tuple[np.ndarray, np.ndarray] | None]


class FillerFilter:
    """Which quotable sentences are filler, for one embedding model; thread-safe cache.

    ``stored(ids)`` gives the vectors the index build holds for those sentence ids, of the
    sentences alone and of their heads (None when it holds none); only without them are they
    embedded here, all in one call.
    """

    def __init__(
        self, model: InformativeModel, embed: Callable[[Sequence[str]], np.ndarray],
        stored: Stored | None = None,
    ):
        self.model = model
        self.embed = embed
        self.stored = stored
        self._filler: dict[str, bool] = {}
        self._lock = threading.Lock()

    def filler(self, ids: Sequence[str], texts: Sequence[str]) -> set[str]:
        """The ids among ``ids`` whose sentence (``texts``, as answers quote them) is filler."""
        todo = [i for i, sid in enumerate(ids) if sid not in self._filler]
        if todo:
            got = self.stored([ids[i] for i in todo]) if self.stored is not None else None
            if got is None:
                both = self.embed([*(texts[i] for i in todo), *(head(texts[i]) for i in todo)])
                got = both[: len(todo)], both[len(todo) :]
            prob = self.model.probability(features(*got))
            with self._lock:
                for i, pr in zip(todo, prob, strict=True):
                    self._filler[ids[i]] = bool(pr < self.model.threshold)
        return {sid for sid in ids if self._filler[sid]}


def rates(prob: np.ndarray, y: Sequence[bool], threshold: float) -> dict[str, float]:
    """Filler recall (filler caught) and informative kept, at ``threshold``."""
    t = np.asarray(y, dtype=bool)
    filler = prob < threshold
    return {
        "filler_recall": float((filler & ~t).sum() / max((~t).sum(), 1)),
        "informative_kept": float((~filler & t).sum() / max(t.sum(), 1)),
        "n": float(len(t)),
    }
