"""The red-flag gate's learned layer: reads a story sentence by sentence.

The rule layer (``red_flags.py``) knows the articles' own list and the urgent signs by their
words; it misses paraphrases ("it felt like someone kicked me mid-stride and now I can't put
weight on it", "an 8ish by the end of the tempo"). This layer is a logistic regression over
each sentence's embedding (the embedding model's features), trained by ``pht
train-red-flags`` on the team's labelled sentences (``assistant/data/red_flag_sentences.yaml``,
train split) plus the sentences of the calibration narratives that must not escalate; its
threshold is set on calibration messages so that ordinary messages do not escalate, and it
is measured on the held-out splits. It only ADDS escalations: when the rules fire they
decide, so the articles' own list never depends on a model. The flag it reports is the one
whose training sentences are closest on average (cosine to the flag's centroid).

Pure except ``load_red_flag_model`` / ``save_red_flag_model``; the caller embeds. Used only
with the embedding model it was trained with.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.gate_data import DATA_DIR

log = logging.getLogger(__name__)
MODEL_FILE = DATA_DIR / "red_flag_model.json"
_SENTENCE = re.compile(r"(?:[^.!?\n;]|\.(?=\d))+[.!?;]*")  # "10.5 km" stays in one sentence
MIN_WORDS = 3


def sentences(text: str) -> list[str]:
    """The sentences the layer reads; a fragment under three words joins the next sentence
    (or the previous one at the end), so "Then pop." is read with what follows it.

    >>> sentences("I ran 10.5 km. Ouch! Then it felt like a kick and I can't walk. Leg numb.")
    ['I ran 10.5 km.', "Ouch! Then it felt like a kick and I can't walk. Leg numb."]
    """
    out: list[str] = []
    carry = ""
    for part in _SENTENCE.findall(text):
        part = f"{carry} {part.strip()}".strip()
        if not part:
            continue
        if len(part.split()) < MIN_WORDS:
            carry = part
            continue
        out.append(part)
        carry = ""
    if carry:
        if out:
            out[-1] = f"{out[-1]} {carry}"
        else:
            out.append(carry)
    return out


@dataclass(frozen=True)
class RedFlagHit:
    flag: str
    sentence: str
    probability: float


@dataclass(frozen=True)
class RedFlagModel:
    weights: np.ndarray
    bias: float
    threshold: float  # P(red flag) of a sentence at or above this escalates the message
    flags: tuple[str, ...]
    centroids: np.ndarray  # one unit vector per flag, rows in ``flags`` order
    embedder: str

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(np.asarray(vectors, float)) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def detect(self, texts: list[str], vectors: np.ndarray) -> RedFlagHit | None:
        """The most likely red-flag sentence of a message, if it reaches the threshold."""
        if not texts:
            return None
        p = self.probability(vectors)
        i = int(np.argmax(p))
        if p[i] < self.threshold:
            return None
        flag = self.flags[int(np.argmax(self.centroids @ np.asarray(vectors[i], float)))]
        return RedFlagHit(flag, texts[i], round(float(p[i]), 4))

    def to_json(self) -> dict[str, object]:
        return {
            "embedder": self.embedder,
            "threshold": self.threshold,
            "bias": self.bias,
            "weights": [round(float(w), 6) for w in self.weights],
            "flags": list(self.flags),
            "centroids": [[round(float(v), 6) for v in row] for row in self.centroids],
        }


def centroids(vectors: np.ndarray, labels: list[str]) -> tuple[tuple[str, ...], np.ndarray]:
    """Per flag, the normalised mean of its sentences' vectors (flags in sorted order)."""
    flags = tuple(sorted(set(labels)))
    rows = []
    for f in flags:
        mean = np.mean([v for v, lab in zip(vectors, labels, strict=True) if lab == f], axis=0)
        rows.append(mean / (np.linalg.norm(mean) or 1.0))
    return flags, np.array(rows)


def save_red_flag_model(model: RedFlagModel, path: Path = MODEL_FILE) -> Path:
    path.write_text(json.dumps(model.to_json()) + "\n", encoding="utf-8")
    return path


def load_red_flag_model(
    embedder: str, known_flags: Collection[str], path: Path = MODEL_FILE
) -> RedFlagModel | None:
    """The trained layer for this embedding model, or None (then the rules decide alone; the
    reason is logged): no file, another embedding model, an unreadable file, or a flag id the
    escalation texts don't know."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        model = RedFlagModel(
            np.asarray(data["weights"], float), float(data["bias"]), float(data["threshold"]),
            tuple(str(f) for f in data["flags"]), np.asarray(data["centroids"], float),
            str(data["embedder"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("red-flag learned layer off: %s is unreadable (%s)", path, exc)
        return None
    if model.embedder != embedder:
        log.warning("red-flag learned layer off: trained for %s, running %s "
                    "(run `pht train-red-flags`)", model.embedder, embedder)
        return None
    unknown = set(model.flags) - set(known_flags)
    if unknown:
        log.warning("red-flag learned layer off: unknown flag ids %s", sorted(unknown))
        return None
    return model
