"""Scope gate: is a question about PHT in runners, or about something the articles don't cover?

The pure core scores a question from (a) domain-lexicon hits (``assistant/data/scope.yaml``:
PHT / hamstring / sit-bone / glute / tendon terms versus other-domain terms such as shoes,
marathon plans, plantar fasciitis) and (b) ``max_sim``, the best cosine between the
question embedding and the corpus content chunks, computed by the caller. ``score =
max_sim + strong*min(hits, cap) + weak*min(hits, cap) - out*min(hits, cap)``; the
question is in scope when ``score >= threshold``. The threshold is never guessed:
``calibrate`` picks it on a labelled calibration split (rule below), ``evaluate``
measures it on a test split, ``save_calibration``/``load_calibration`` are the only IO.
Without a usable calibration the gate fails open (everything in scope, ``calibrated=False``).
It does not embed, retrieve, or decide red flags (those run earlier).

Calibration rule (out-of-scope is the positive class, i.e. a rejection): among thresholds
whose rejections are right at least ``min_precision`` (0.95) of the time, take the one that
rejects the most out-of-scope questions (max recall); ties go to the lower threshold (fewer
rejections). If no threshold reaches that precision, take the max-F1 threshold.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from assistant.gate_data import DATA_DIR, load_data
from core.errors import ConfigError
from core.text import normalize

DEFAULT_CALIBRATION_PATH = DATA_DIR / "scope_calibration.yaml"


@dataclass(frozen=True)
class ScopeFeatures:
    """What the score is computed from."""

    max_sim: float
    strong: int = 0  # in-domain terms specific to PHT
    weak: int = 0  # running-injury terms also used elsewhere
    out: int = 0  # clearly other-domain terms
    elsewhere: int = 0  # 1: a complaint about another body part, nothing of the PHT region


@dataclass(frozen=True)
class ScopeWeights:
    strong: float
    weak: float
    out: float
    cap: int
    elsewhere: float = 0.0

    def score(self, f: ScopeFeatures) -> float:
        """Combined score; higher means more in scope.

        >>> ScopeWeights(0.15, 0.04, 0.25, 2).score(ScopeFeatures(0.5, strong=3, out=1))
        0.55
        >>> ScopeWeights(0.15, 0.04, 0.25, 2, elsewhere=0.25).score(ScopeFeatures(0.5, elsewhere=1))
        0.25
        """
        c = self.cap
        raw = f.max_sim + self.strong * min(f.strong, c) + self.weak * min(f.weak, c)
        return round(raw - self.out * min(f.out, c) - self.elsewhere * f.elsewhere, 6)


@dataclass(frozen=True)
class ScopeMetrics:
    """Quality of the out-of-scope decisions (positive = rejected as out of scope)."""

    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


@dataclass(frozen=True)
class ScopeCalibration:
    """A calibrated threshold with the metrics it had on the calibration split."""

    threshold: float
    metrics: ScopeMetrics
    weights: ScopeWeights
    rule: str
    min_precision: float = 0.95
    embedder: str = ""  # fingerprint of the embedder that produced max_sim
    lexicon: str = ""  # hash of the lexicon used for the features

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ScopeCalibration:
        return cls(
            threshold=float(d["threshold"]),
            metrics=ScopeMetrics(**d["metrics"]),
            weights=ScopeWeights(**d["weights"]),
            rule=str(d["rule"]),
            min_precision=float(d.get("min_precision", 0.95)),
            embedder=str(d.get("embedder", "")),
            lexicon=str(d.get("lexicon", "")),
        )


@dataclass(frozen=True)
class ScopeDecision:
    in_scope: bool
    score: float
    features: ScopeFeatures
    threshold: float | None = None
    calibrated: bool = False
    reasons: tuple[str, ...] = field(default=())  # why the gate could not be used, if so


def _terms_rx(terms: Sequence[str]) -> re.Pattern[str]:
    alts = sorted({normalize(t, lower=True) for t in terms}, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(t) for t in alts) + r")\b")


class ScopeGate:
    """Scores questions with the lexicon and decides with a calibration."""

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        calibration: ScopeCalibration | None = None,
        *,
        embedder: str = "",
    ):
        data = data if data is not None else load_data("scope.yaml")
        self.strong_rx = _terms_rx(data["in_domain"]["strong"])
        self.weak_rx = _terms_rx(data["in_domain"]["weak"])
        self.out_rx = _terms_rx(data["out_domain"])
        regions = data.get("regions") or {}
        # no "elsewhere" list: the feature is never set
        self.region_rx = _terms_rx(regions.get("pht") or ["pht"])
        self.elsewhere_rx = _terms_rx(regions["elsewhere"]) if regions.get("elsewhere") else None
        self.complaint_rx = _terms_rx(regions.get("complaint") or ["pain"])
        # a tendon another part owns ("achilles tendon", "my wrist tendon") is no PHT word
        self.owned_tendon_rx = re.compile(
            self.elsewhere_rx.pattern + r"\s+(?:\w+\s+)?tend\w*") if self.elsewhere_rx else None
        denied = data.get("denied_topic") or {}
        self.denied_rx = re.compile("|".join(
            str(p).replace("{topic}", str(denied["topic"]))
            .replace("{neighbour}", str(denied.get("neighbour", "(?!)")))
            for p in denied["patterns"]
        ), re.IGNORECASE) if denied.get("patterns") else None
        patterns = [str(p) for p in data.get("out_domain_patterns", [])]
        self.out_patterns = [re.compile(p) for p in patterns]  # doses, drug-name stems
        idioms = [str(p) for p in data.get("out_domain_idioms", [])]
        self.idioms_rx = _terms_rx(idioms) if idioms else None  # "in my shoes": no shoes
        self.weights = ScopeWeights(**data["weights"])
        self.reply: str = str(data["reply"]).strip()
        self.lexicon = hashlib.sha1(json.dumps(
            [data["in_domain"], data["out_domain"], *([patterns] if patterns else []),
             *([regions] if regions else []), *([denied] if denied else []),
             *([idioms] if idioms else [])],
            sort_keys=True).encode()
        ).hexdigest()[:12]
        self.calibration = calibration
        self.embedder = embedder
        # set by the assistant: does the corpus itself use this other-domain term? (a clinic's
        # page on cycling makes "bike" an in-domain word)
        self.covers: Callable[[str], bool] = lambda _term: False

    def features(self, question: str, max_sim: float, ask: str | None = None) -> ScopeFeatures:
        """Lexicon hits (distinct terms) plus the caller's similarity. In-domain words count
        over the whole message; other-domain words only in ``ask`` (the question being judged,
        default the whole message): a story about PHT that asks about surgery recovery is
        about surgery recovery. ``elsewhere`` reads the whole message (``ScopeGate.elsewhere``).

        >>> g = ScopeGate(calibration=None)
        >>> f = g.features("My PHT is better. How long after a reattachment can I run?", 0.5,
        ...                ask="How long after a reattachment can I run?")
        >>> (f.strong > 0, f.out > 0)
        (True, True)
        >>> g.features("My PHT is better. Can I go up to 600mg of gabapentin?", 0.5).out
        2
        >>> g.features("My PHT is better. Can I go up to 600 mg of gabapentin?", 0.5).out
        2
        >>> g.features("What would you do in my shoes?", 0.5).out, g.features("Which shoes?", 0.5).out
        (0, 1)
        >>> [g.features(m, 0.5).elsewhere for m in ("My knee aches on runs. Why?",
        ...  "Sit bone pain, sometimes behind the knee too. Why?", "On the other hand, why?")]
        [1, 0, 0]
        """
        text = normalize(question, lower=True)
        asked = normalize(ask, lower=True) if ask is not None else text

        def hits(rx: re.Pattern[str], where: str) -> int:
            return len(set(rx.findall(where)))

        if self.idioms_rx is not None:  # "what would you do in my shoes?" names no shoes
            asked = self.idioms_rx.sub(lambda m: " " * len(m.group(0)), asked)
        # a pattern's match is one hit: "600 mg" is a dose, not a dose and the word "mg"
        matched = [m for rx in self.out_patterns for m in rx.finditer(asked)]
        rest = asked
        for m in matched:
            rest = rest[: m.start()] + " " * (m.end() - m.start()) + rest[m.end() :]
        found = [*self.out_rx.findall(rest), *(m.group(0) for m in matched)]
        out = {t for t in found if not self.covers(t)}
        return ScopeFeatures(
            float(max_sim), hits(self.strong_rx, text), hits(self.weak_rx, text), len(out),
            int(self.elsewhere(text)),
        )

    def elsewhere(self, message: str, reach: int = 6) -> bool:
        """Whether ``message`` complains of a body part away from the PHT region (an
        ``elsewhere`` word within ``reach`` words of a ``complaint`` word) and names no word of
        that region, its rehab or its tendon (``regions`` in scope.yaml): such a message is
        about that other part.

        >>> g = ScopeGate(calibration=None)
        >>> [g.elsewhere(m) for m in ("My knee aches on runs. Why?", "Should I do bridges with "
        ...  "my heels on a chair?", "My knee doesn't hurt, just the tendon. Should I rest?",
        ...  "My achilles tendon hurts on long runs.", "Should I ice it? I ice my knees too.")]
        [True, False, False, True, False]
        """
        if self.elsewhere_rx is None:
            return False
        text = normalize(message, lower=True)
        if self.region_rx.search(self.owned_tendon_rx.sub(" ", text) if self.owned_tendon_rx else text):
            return False
        starts = [m.start() for m in re.finditer(r"[\w'-]+", text)]  # word n starts at starts[n]
        parts = [bisect_right(starts, m.start()) for m in self.elsewhere_rx.finditer(text)]
        pains = [bisect_right(starts, m.start()) for m in self.complaint_rx.finditer(text)]
        return any(abs(p - c) <= reach for p in parts for c in pains)

    def without_denied_topic(self, message: str) -> str:
        """``message`` without the words that set a topic aside (``denied_topic`` in
        scope.yaml): PHT itself ("nothing to do with my hamstring", "not hamstring related")
        or a neighbour said not to be needed ("the surgeon said surgery isn't needed"). They
        name the topic only to set it aside. ``message`` itself when it has none, when the words
        ask about the link ("Could it be nothing to do with the tendon, maybe my back?", "I don't
        need surgery, do I?"), or when fewer than three words would be left.

        >>> g = ScopeGate(calibration=None)
        >>> g.without_denied_topic("Not hamstring related: can I run with a blister on my heel?")
        'can I run with a blister on my heel?'
        >>> g.without_denied_topic("Could it be nothing to do with the hamstring, maybe my back?")
        'Could it be nothing to do with the hamstring, maybe my back?'
        """
        if self.denied_rx is None:
            return message
        text = normalize(message)  # typographic apostrophes made plain, as the patterns expect
        kept, last = [], 0
        for m in self.denied_rx.finditer(text):
            if _asks_about_link(text, m.start(), m.end()):
                continue
            kept.append(text[last : m.start()])
            last = m.end()
        if not kept:
            return message
        rest = " ".join(" ".join([*kept, text[last:]]).split())
        rest = re.sub(r"\s+([,.:;!?])", r"\1", rest).lstrip(" ,.:;-")  # no stray punctuation
        return rest if len(re.findall(r"\w+", rest)) >= 3 else message

    def corpus_terms(self, text: str) -> set[str]:
        """Other-domain terms in ``text`` that the corpus itself uses (see ``covers``)."""
        return {t for t in self.out_rx.findall(normalize(text, lower=True)) if self.covers(t)}

    def problems(self) -> tuple[str, ...]:
        """Why the calibration cannot be used (empty when it can)."""
        cal = self.calibration
        if cal is None:
            return ("the scope gate is not calibrated (run `pht calibrate-scope`)",)
        out = []
        if cal.embedder and self.embedder and cal.embedder != self.embedder:
            out.append(f"calibrated with embedder {cal.embedder}, running {self.embedder}")
        if cal.lexicon and cal.lexicon != self.lexicon:
            out.append("scope.yaml lexicon changed since calibration")
        return tuple(out)

    def decide_features(self, f: ScopeFeatures) -> bool:
        """In scope by the rule layer (fails open without a usable calibration)."""
        if self.problems() or self.calibration is None:
            return True
        return self.calibration.weights.score(f) >= self.calibration.threshold

    def decide(self, question: str, max_sim: float, ask: str | None = None) -> ScopeDecision:
        """In scope or not; fails open (in scope) when the calibration is missing or stale."""
        f = self.features(question, max_sim, ask)
        problems = self.problems()
        if problems or self.calibration is None:
            return ScopeDecision(True, self.weights.score(f), f, None, False, problems)
        cal = self.calibration
        s = cal.weights.score(f)
        return ScopeDecision(s >= cal.threshold, s, f, cal.threshold, True)


_QUESTION_OPENER = re.compile(
    r"(?:is|are|was|were|could|can|might|may|would|will|should|does|do|did|has|have|what|why|"
    r"how|which)\b", re.IGNORECASE)
_TAG = re.compile(r",\s*(?:\w+\s+){0,2}\w+\s*\?$", re.IGNORECASE)  # "..., do I?", "..., right?"


def _asks_about_link(text: str, start: int, end: int) -> bool:
    """The words at ``text[start:end]`` sit in a question about the link: their sentence opens
    with a question word ("Is my knee pain not related to my hamstring?", "Could this be nothing
    to do with my hamstring, maybe my back?") or they end in a tag ("..., do I?")."""
    opening = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    close = min((i for i in (text.find(c, end) for c in ".!?\n") if i >= 0), default=len(text))
    return bool(_QUESTION_OPENER.match(text[opening:start].lstrip(" \"'(-"))
                or _TAG.search(text[end : close + 1]))


def _metrics(scores: Sequence[float], in_scope: Sequence[bool], threshold: float) -> ScopeMetrics:
    tp = fp = fn = tn = 0
    for s, inside in zip(scores, in_scope, strict=True):
        rejected = s < threshold
        if rejected and not inside:
            tp += 1
        elif rejected:
            fp += 1
        elif not inside:
            fn += 1
        else:
            tn += 1
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return ScopeMetrics(round(p, 4), round(r, 4), round(f1, 4), tp, fp, fn, tn)


def calibrate(
    examples: Sequence[tuple[ScopeFeatures, bool]],
    weights: ScopeWeights,
    *,
    min_precision: float = 0.95,
    embedder: str = "",
    lexicon: str = "",
) -> ScopeCalibration:
    """Choose the threshold on labelled ``(features, in_scope)`` examples (rule: module doc).

    >>> w = ScopeWeights(0.0, 0.0, 0.0, 2)
    >>> ex = [(ScopeFeatures(s), s > 0.4) for s in (0.1, 0.2, 0.3, 0.5, 0.6, 0.7)]
    >>> cal = calibrate(ex, w); cal.threshold, cal.metrics.recall, cal.metrics.precision
    (0.4, 1.0, 1.0)
    """
    labels = [inside for _f, inside in examples]
    if all(labels) or not any(labels):
        raise ConfigError(
            "Scope calibration needs both in-scope and out-of-scope examples.",
            "Add labelled questions of both kinds to the calibration split.",
        )
    scores = [weights.score(f) for f, _ in examples]
    distinct = sorted(set(scores))
    cands = [distinct[0] - 0.01] + [round((a + b) / 2, 6) for a, b in pairwise(distinct)]
    cands.append(distinct[-1] + 0.01)
    scored = [(t, _metrics(scores, labels, t)) for t in cands]
    feasible = [(t, m) for t, m in scored if m.tp and m.precision >= min_precision]
    if feasible:
        rule = f"max recall of out-of-scope at precision >= {min_precision}"
        t, m = max(feasible, key=lambda tm: (tm[1].recall, tm[1].f1, -tm[0]))
    else:
        rule = f"max F1 (no threshold reached precision {min_precision})"
        t, m = max(scored, key=lambda tm: (tm[1].f1, -tm[0]))
    return ScopeCalibration(t, m, weights, rule, min_precision, embedder, lexicon)


def evaluate(
    calibration: ScopeCalibration, examples: Sequence[tuple[ScopeFeatures, bool]]
) -> ScopeMetrics:
    """Metrics of a calibration's threshold on another (test) split."""
    scores = [calibration.weights.score(f) for f, _ in examples]
    return _metrics(scores, [inside for _f, inside in examples], calibration.threshold)


def save_calibration(calibration: ScopeCalibration, path: Path = DEFAULT_CALIBRATION_PATH) -> Path:
    """Write the calibration as YAML (the one file `pht calibrate-scope` produces)."""
    header = "# Written by `pht calibrate-scope`; do not edit by hand.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(calibration.to_dict(), sort_keys=False), "utf-8")
    return path


def load_calibration(path: Path = DEFAULT_CALIBRATION_PATH) -> ScopeCalibration | None:
    """The saved calibration, or ``None`` when the file does not exist."""
    if not path.exists():
        return None
    try:
        return ScopeCalibration.from_dict(yaml.safe_load(path.read_text("utf-8")))
    except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"The scope calibration {path} is unreadable ({exc}).",
            "Run `pht calibrate-scope` again.",
        ) from exc
