"""The red-flag gate's learned layer: reads a story sentence by sentence and decides what the
rules cannot.

The rule layer (``red_flags.py``) decides the articles' own list and the urgent signs by their
words; it misses paraphrases ("it felt like someone kicked me mid-stride and now I can't put
weight on it") and leaves its imprecise hits ("snapped", someone else's symptoms, a past
sentence...) *tentative*. This layer is a logistic regression over each sentence's features:
its embedding (the embedding model's features) and the rule layer's partial matches on it
(``RULE_FEATURES``: a decided or tentative hit, a high or low number beside a pain word, a
negation, a question about red flags, a past marker, someone else). ``pht train-red-flags``
trains it on the team's labelled sentences (``red_flag_sentences.yaml`` train split,
``red_flag_training.yaml``) plus the sentences of the calibration narratives that must not
escalate, with its regularisation chosen by cross-validation on those sentences. Two
thresholds: ``confirm``, at or above which the sentence holding a tentative rule hit
escalates with the rule's flag (otherwise the hit is vetoed), and ``threshold``, at or above
which a sentence escalates on its own, set on calibration messages so that ordinary messages
do not escalate; the flag it reports then is the one whose training sentences are closest on
average (cosine to the flag's centroid). Both are measured on the held-out splits only by
``pht eval``. Without a trained model for the running embedder the layer is the rules alone:
every tentative hit escalates, nothing is added.

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
from assistant.gates.red_flags import RedFlagRules, default_rules

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


_PAIN_NUMBER = re.compile(r"(?<![/.])(?<!of )(?<!outta )\b(\d{1,2})(?:\.\d)?(?:ish|\+)?(?!\s*(?:k|km|mi|miles?|min|mins|minutes?|"
                          r"hours?|weeks?|days?|months?|years?|x|%|am|pm|reps?|sets?|kg|lbs?)\b)")
RULE_FEATURES = ("decided", "tentative", "pain_number_high", "pain_number_low", "negated",
                 "about", "past", "someone_else")
FEATURE_SCALE = 2.0  # rule features next to a unit-length embedding


def rule_features(sentence: str, rules: RedFlagRules | None = None) -> np.ndarray:
    """The rule layer's partial matches on one sentence, as ``RULE_FEATURES`` (0 or 1, scaled):
    a decided or tentative hit, a number 6-10 or 0-5 in a sentence with a pain word (a score
    the patterns missed, "a 7ish by the end"), a negation cue, a question about red flags,
    a past marker, and someone else named last.

    >>> bool(dict(zip(RULE_FEATURES, rule_features("my pain was a 7ish by the end") > 0))["pain_number_high"])
    True
    """
    r = rules or default_rules()
    text = r.prepare(sentence)
    found = r.detect_all(sentence)
    numbers = [int(m.group(1)) for m in _PAIN_NUMBER.finditer(text) if int(m.group(1)) <= 10]
    pain = bool(r.pain_words.search(text))
    person = r.someone_else(text, 0, len(text))
    flags = (
        any(not f.tentative for f in found), any(f.tentative for f in found),
        pain and any(n > 5 for n in numbers), pain and any(n <= 5 for n in numbers),
        bool(r.cues.search(text)), any(rx.search(text) for rx in r.about),
        bool(r.resolved.search(text)), person,
    )
    return np.array(flags, float) * FEATURE_SCALE


def features(texts: list[str], vectors: np.ndarray, rules: RedFlagRules | None = None) -> np.ndarray:
    """Per sentence: its embedding, then its ``rule_features``."""
    vecs = np.atleast_2d(np.asarray(vectors, float))
    return np.hstack([vecs, np.array([rule_features(t, rules) for t in texts]).reshape(len(texts), -1)])


@dataclass(frozen=True)
class RedFlagModel:
    """The learned layer (``weights`` over ``features``) or, with no weights, the rules alone:
    then every tentative rule hit escalates and nothing is added."""

    weights: np.ndarray
    bias: float
    threshold: float  # P(red flag) of a sentence at or above this escalates the message alone
    flags: tuple[str, ...]
    centroids: np.ndarray  # one unit vector per flag, rows in ``flags`` order
    embedder: str
    confirm: float = 0.5  # a tentative rule hit escalates when its sentence reaches this

    @classmethod
    def rules_only(cls, embedder: str = "") -> RedFlagModel:
        return cls(np.zeros(0), 0.0, 2.0, (), np.zeros((0, 0)), embedder, confirm=0.0)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(red flag) per row of ``features`` (zeros with no weights)."""
        x = np.atleast_2d(np.asarray(x, float))
        if not self.weights.size:
            return np.zeros(len(x))
        return 1.0 / (1.0 + np.exp(-(x @ self.weights + self.bias)))

    def detect(self, texts: list[str], vectors: np.ndarray) -> RedFlagHit | None:
        """A message's red flag the rules could not decide: a tentative rule hit whose sentence
        the layer confirms, else the most likely sentence if it reaches the threshold."""
        if not texts:
            return None
        rules = default_rules()
        p = self.probability(features(texts, vectors, rules)) if self.weights.size else np.zeros(len(texts))
        prepared = [rules.prepare(t) for t in texts]
        for hit in rules.tentative(" ".join(texts)):
            first = hit.evidence.split(" … ")[0]
            i = next((k for k, t in enumerate(prepared) if first in t), int(np.argmax(p)))
            if p[i] >= self.confirm:
                return RedFlagHit(hit.flag, texts[i], round(float(p[i]), 4))
        i = int(np.argmax(p))
        if p[i] < self.threshold:
            return None
        flag = self.flags[int(np.argmax(self.centroids @ np.asarray(vectors[i], float)))]
        return RedFlagHit(flag, texts[i], round(float(p[i]), 4))

    def to_json(self) -> dict[str, object]:
        return {
            "embedder": self.embedder,
            "features": ["embedding", *RULE_FEATURES],
            "threshold": self.threshold,
            "confirm": self.confirm,
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
) -> RedFlagModel:
    """The trained layer for this embedding model, or the rules alone (every tentative rule hit
    escalates; the reason is logged): no file, another embedding model, an unreadable file,
    other features, or a flag id the escalation texts don't know."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        model = RedFlagModel(
            np.asarray(data["weights"], float), float(data["bias"]), float(data["threshold"]),
            tuple(str(f) for f in data["flags"]), np.asarray(data["centroids"], float),
            str(data["embedder"]), float(data["confirm"]),
        )
        if data["features"] != ["embedding", *RULE_FEATURES]:
            raise ValueError(f"trained on other features {data['features']}")
        if model.centroids.shape != (len(model.flags), len(model.weights) - len(RULE_FEATURES)):
            raise ValueError("weights and centroids disagree")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("red-flag learned layer off: %s is unreadable (%s)", path, exc)
        return RedFlagModel.rules_only(embedder)
    if model.embedder != embedder:
        log.warning("red-flag learned layer off: trained for %s, running %s "
                    "(run `pht train-red-flags`)", model.embedder, embedder)
        return RedFlagModel.rules_only(embedder)
    unknown = set(model.flags) - set(known_flags)
    if unknown:
        log.warning("red-flag learned layer off: unknown flag ids %s", sorted(unknown))
        return RedFlagModel.rules_only(embedder)
    return model
