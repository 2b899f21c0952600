"""The red-flag gate's learned layer: reads a story sentence by sentence and decides what the
rules cannot.

The rule layer (``red_flags.py``) decides the articles' own list and the urgent signs by their
words; it misses paraphrases ("it felt like someone kicked me mid-stride and now I can't put
weight on it") and leaves its imprecise hits ("snapped", someone else's symptoms, a past
sentence...) *tentative*. This layer is one logistic regression per flag over each sentence's
features: its embedding (the embedding model's features) and the rule layer's partial matches
on it (``RULE_FEATURES``: a decided or tentative hit, a high or low number beside a pain word, a
negation, a question about red flags, a past marker, someone else) and, with a neighbour bank,
how close the sentence is to the training sentences of each flag and to those that must not
escalate (``Neighbours``: the mean cosine to the nearest few of each; a paraphrase of a known
report lands near it where one linear boundary per flag cannot follow). Each is trained on its
flag's sentences against every sentence that must not escalate (a pop and a fever have little
in common: one line cannot fence them all off from ordinary stories), and a sentence's
probability of a red flag is its most likely flag's. ``pht train-red-flags`` trains them on the
team's labelled sentences (``red_flag_sentences.yaml`` train split, ``red_flag_training.yaml``)
plus the sentences of the calibration narratives that must not escalate, with the
regularisation chosen by cross-validation on those sentences. Two thresholds: ``confirm``, at or
above which the sentence holding a tentative rule hit escalates with the rule's flag (otherwise
the hit is vetoed), and ``threshold``, at or above which a sentence escalates on its own with its
most likely flag, set above every calibration message that must not escalate and above all but
2% of the quiet training sentences scored out of fold (the issue's false-alarm target). Both are
measured on the held-out splits only by ``pht eval``. Without a trained model for the running embedder the layer is the rules alone:
every tentative hit escalates, nothing is added.

Pure except ``load_red_flag_model`` / ``save_red_flag_model``; the caller embeds. Used only
with the embedding model it was trained with.
"""

from __future__ import annotations

import json
import logging
import re
import zipfile
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from assistant.gate_data import DATA_DIR
from assistant.gates.red_flags import RedFlagRules, default_rules
from core.learn import sigmoid

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


NEIGHBOURS_K = 3  # a sentence's closeness to a label: its mean cosine to that many of them
NEIGHBOUR_SCALE = 2.0


@dataclass(frozen=True)
class Neighbours:
    """The training sentences' embeddings (unit length) and labels (a flag id, "" for a sentence
    that must not escalate). ``closeness`` gives, per sentence and per label in ``names`` then
    "", the mean cosine to its ``NEIGHBOURS_K`` nearest training sentences of that label."""

    vectors: np.ndarray  # (n, dim)
    labels: tuple[str, ...]

    def closeness(self, vecs: np.ndarray, names: tuple[str, ...], *, leave_out_self: bool = False
                  ) -> np.ndarray:
        """(len(vecs), len(names) + 1) closeness; ``leave_out_self`` when ``vecs`` are the bank's
        own rows in order (training: a sentence is not its own neighbour).

        >>> bank = Neighbours(np.eye(3), ("nerve", "nerve", ""))
        >>> bank.closeness(np.array([[1.0, 0, 0]]), ("nerve",)).round(2).tolist()
        [[0.5, 0.0]]
        """
        sims = np.atleast_2d(np.asarray(vecs, float)) @ np.asarray(self.vectors, float).T
        if leave_out_self:
            np.fill_diagonal(sims, -np.inf)
        labels = np.asarray(self.labels, dtype=object)
        cols = []
        for name in (*names, ""):
            own = sims[:, labels == name]
            top = -np.sort(-own, axis=1)[:, :NEIGHBOURS_K]
            found = np.isfinite(top)  # a sentence left out of its own label has one fewer
            cols.append(np.where(found, top, 0.0).sum(axis=1) / np.maximum(found.sum(axis=1), 1))
        return np.array(cols).T


def features(texts: list[str], vectors: np.ndarray, rules: RedFlagRules | None = None,
             neighbours: Neighbours | None = None, names: tuple[str, ...] = (),
             *, leave_out_self: bool = False) -> np.ndarray:
    """Per sentence: its embedding, then its ``rule_features``, then (with a neighbour bank) its
    closeness to each flag in ``names`` and to the sentences that must not escalate."""
    vecs = np.atleast_2d(np.asarray(vectors, float))
    parts = [vecs, np.array([rule_features(t, rules) for t in texts]).reshape(len(texts), -1)]
    if neighbours is not None:
        parts.append(NEIGHBOUR_SCALE * neighbours.closeness(vecs, names, leave_out_self=leave_out_self))
    return np.hstack(parts)


@dataclass(frozen=True)
class RedFlagModel:
    """The learned layer (one row of ``weights`` over ``features`` per flag) or, with no weights,
    the rules alone: then every tentative rule hit escalates and nothing is added."""

    weights: np.ndarray  # (flags, features)
    bias: np.ndarray  # (flags,)
    threshold: float  # P(red flag) of a sentence at or above this escalates the message alone
    flags: tuple[str, ...]
    embedder: str
    confirm: float = 0.5  # a tentative rule hit escalates when its sentence reaches this
    neighbours: Neighbours | None = None  # the bank of the closeness features, if trained with it

    @classmethod
    def rules_only(cls, embedder: str = "") -> RedFlagModel:
        return cls(np.zeros((0, 0)), np.zeros(0), 2.0, (), embedder, confirm=0.0)

    def features(self, texts: list[str], vectors: np.ndarray, rules: RedFlagRules | None = None
                 ) -> np.ndarray:
        """The input rows this model reads for ``texts`` (``features`` with its bank)."""
        return features(texts, vectors, rules, self.neighbours, self.flags)

    def flag_probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(flag) per row of ``features`` (columns in ``flags`` order; none with no weights)."""
        x = np.atleast_2d(np.asarray(x, float))
        if not self.weights.size:
            return np.zeros((len(x), 0))
        return sigmoid(x @ self.weights.T + self.bias)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(red flag) per row of ``features``: its most likely flag's (zeros with no weights)."""
        p = self.flag_probabilities(x)
        return p.max(axis=1) if p.shape[1] else np.zeros(len(p))

    def detect(self, texts: list[str], vectors: np.ndarray) -> RedFlagHit | None:
        """A message's red flag the rules could not decide: a tentative rule hit whose sentence
        the layer confirms, else the most likely sentence, with its most likely flag, if it
        reaches the threshold."""
        if not texts:
            return None
        rules = default_rules()
        by_flag = self.flag_probabilities(self.features(texts, vectors, rules)) if self.weights.size else None
        p = by_flag.max(axis=1) if by_flag is not None else np.zeros(len(texts))
        prepared = [rules.prepare(t) for t in texts]
        for hit in rules.tentative(" ".join(texts)):
            first = hit.evidence.split(" … ")[0]
            i = next((k for k, t in enumerate(prepared) if first in t), int(np.argmax(p)))
            if p[i] >= self.confirm:
                return RedFlagHit(hit.flag, texts[i], round(float(p[i]), 4))
        i = int(np.argmax(p))
        if by_flag is None or p[i] < self.threshold:
            return None
        return RedFlagHit(self.flags[int(np.argmax(by_flag[i]))], texts[i], round(float(p[i]), 4))

    def feature_names(self) -> list[str]:
        return ["embedding", *RULE_FEATURES, *(["neighbours"] if self.neighbours else [])]

    def to_json(self) -> dict[str, object]:
        return {
            "embedder": self.embedder,
            "features": self.feature_names(),
            "threshold": self.threshold,
            "confirm": self.confirm,
            "flags": list(self.flags),
            "bias": [round(float(b), 6) for b in self.bias],
            "weights": [[round(float(w), 6) for w in row] for row in self.weights],
        }


def neighbours_file(path: Path) -> Path:
    """Where the neighbour bank of the model at ``path`` is kept (beside it, ``.npz``)."""
    return path.with_suffix(".npz")


def save_red_flag_model(model: RedFlagModel, path: Path = MODEL_FILE) -> Path:
    """The model as JSON at ``path`` and its neighbour bank, if any, beside it (half-precision
    vectors: the closeness features need no more)."""
    if model.neighbours is not None:
        with neighbours_file(path).open("wb") as fh:
            np.savez_compressed(fh, vectors=np.asarray(model.neighbours.vectors, np.float16),
                                labels=np.array(model.neighbours.labels, dtype=str))
    path.write_text(json.dumps(model.to_json()) + "\n", encoding="utf-8")
    return path


def _load_neighbours(path: Path, model: RedFlagModel) -> Neighbours:
    with np.load(neighbours_file(path), allow_pickle=False) as data:
        bank = Neighbours(np.asarray(data["vectors"], float), tuple(str(x) for x in data["labels"]))
    if bank.vectors.ndim != 2:
        raise ValueError("the neighbour bank is not a table of vectors")
    inputs = bank.vectors.shape[1] + len(RULE_FEATURES) + len(model.flags) + 1
    if len(bank.labels) != len(bank.vectors) or (
            model.weights.ndim == 2 and model.weights.shape[1] != inputs):
        raise ValueError("the neighbour bank does not fit the weights")
    if not set(bank.labels) <= {*model.flags, ""} or not np.isfinite(bank.vectors).all():
        raise ValueError("the neighbour bank has unknown labels or non-finite vectors")
    return bank


def load_red_flag_model(
    embedder: str, known_flags: Collection[str], path: Path = MODEL_FILE
) -> RedFlagModel:
    """The trained layer for this embedding model, or the rules alone (every tentative rule hit
    escalates; the reason is logged): no file, another embedding model, an unreadable file,
    other features, a missing or mismatched neighbour bank, or a flag id the escalation texts
    don't know."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        model = RedFlagModel(
            np.asarray(data["weights"], float), np.asarray(data["bias"], float),
            float(data["threshold"]), tuple(str(f) for f in data["flags"]), str(data["embedder"]),
            float(data["confirm"]),
        )
        if data["features"] == ["embedding", *RULE_FEATURES, "neighbours"]:
            model = replace(model, neighbours=_load_neighbours(path, model))
        elif data["features"] != ["embedding", *RULE_FEATURES]:
            raise ValueError(f"trained on other features {data['features']}")
        numbers = (model.weights, model.bias, np.array([model.threshold, model.confirm]))
        if not all(np.isfinite(a).all() for a in numbers):
            raise ValueError("a weight, bias or threshold is not a finite number")
        if not 0.0 <= model.confirm <= 1.0 or not 0.0 <= model.threshold <= 1.0:
            raise ValueError(f"thresholds out of range (confirm {model.confirm}, alone {model.threshold})")
        if (model.weights.ndim != 2 or model.weights.shape[0] != len(model.flags) or not model.flags
                or model.weights.shape[1] <= len(RULE_FEATURES) or model.bias.shape != (len(model.flags),)):
            raise ValueError("weights, biases and flags disagree (one row per flag)")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError,
            zipfile.BadZipFile) as exc:
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
