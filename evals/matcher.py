"""Deterministic claim matcher: does an answer SUPPORT, CONTRADICT or lack (ABSENT) a claim?

Cascade, per claim and answer sentence: (1) normalise and tokenise (``evals.normalize``);
(2) find each concept group (stemmed words/phrases, ``@set`` synonyms from
``evals/data/lexicon.yaml``, ``word*`` prefixes) and take the tightest cluster holding one
occurrence per group; (3) decide the cluster's polarity with NegEx scopes
(``evals.negation``; a token covered by an odd number of cues is negated, hedges and questions
make it uncertain); (4) compare the claim's numbers by value, unit and comparator (a negation
right before a comparator flips it: "do not have pain greater than 3/10" is "<= 3/10");
(5) the claim's contradiction regexes, unless negated. An injected ``similarity(claim_text,
sentence)`` may only PROMOTE a sentence that already holds at least half of the concept
groups with the right polarity and numbers; it never overrides negation. Verdicts across
sentences: a contradiction pattern wins, then any support, then a polarity contradiction, else
ABSENT. ABSTAINED when the answer is empty or its status is out_of_scope / invalid_input. Pure:
no IO beyond the packaged word lists, no model; it does not score cases (the runner does).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from itertools import product

from evals.dataset import Claim, NumberSpec
from evals.negation import FLIP, Cue, find_cues, number_cue
from evals.normalize import (
    NumberMention,
    Token,
    extract_numbers,
    fmt_range,
    load_data,
    normalize,
    number_matches,
    split_sentences,
    stem,
    tokenize,
)

Similarity = Callable[[str, str], float]
NOT_ANSWERABLE = frozenset({"out_of_scope", "invalid_input"})


class Label(StrEnum):
    SUPPORTED = "SUPPORTED"
    CONTRADICTED = "CONTRADICTED"
    ABSENT = "ABSENT"
    ABSTAINED = "ABSTAINED"


@dataclass(frozen=True)
class Verdict:
    """The matcher's decision on one claim; ``coverage``/``similarity`` are always finite."""

    claim_id: str
    label: Label
    weight: str
    evidence: str = ""  # the deciding answer sentence (original text)
    reason: str = ""
    coverage: float = 0.0  # best fraction of concept groups found in one sentence
    similarity: float = 0.0  # best similarity computed (0.0 when none was)
    conflicts: tuple[str, ...] = ()  # sentences that disagreed with the verdict

    @property
    def score(self) -> float:
        return 1.0 if self.label is Label.SUPPORTED else 0.0


@dataclass(frozen=True)
class SentenceView:
    """One answer sentence, analysed once and shared by all claims."""

    text: str
    norm: str
    tokens: tuple[Token, ...]
    stems: tuple[str, ...]
    cues: tuple[Cue, ...]  # cues that negate or hedge the sentence (number cues removed)
    mentions: tuple[NumberMention, ...]  # comparators already flipped by number cues
    question: bool


def analyze(answer_text: str) -> list[SentenceView]:
    """Sentences of an answer with tokens, stems, cues and numbers.

    >>> [(v.norm, [c.phrase for c in v.cues]) for v in analyze("Don't stretch. Pain <= 3/10.")]
    [('do not stretch.', ['do not']), ('pain <= 3/10.', [])]
    """
    views = []
    for text in split_sentences(answer_text):
        norm = normalize(text)
        tokens = tokenize(norm)
        words = [t.text for t in tokens]
        cues = find_cues(tokens)
        mentions = extract_numbers(tokens)
        used: set[int] = set()
        flipped = []
        for m in mentions:
            hits = [
                k
                for k, c in enumerate(cues)
                if m.cmp_start < m.index
                and m.op in ("<", "<=", ">", ">=")
                and number_cue(c, words, m.cmp_start)
            ]
            if hits:
                used.update(hits)
                m = NumberMention(m.lo, m.hi, m.unit, FLIP[m.op], m.index, m.cmp_start)
            flipped.append(m)
        views.append(
            SentenceView(
                text=text,
                norm=norm,
                tokens=tuple(tokens),
                stems=tuple(stem(w) for w in words),
                cues=tuple(c for k, c in enumerate(cues) if k not in used),
                mentions=tuple(flipped),
                question=norm.rstrip(" \"')").endswith("?"),
            )
        )
    return views


@dataclass(frozen=True)
class _Term:
    stems: tuple[str, ...]
    prefix: str  # raw prefix the last word must start with ("" = compare stems)


@lru_cache(maxsize=4096)
def _compile_group(group: tuple[str, ...]) -> tuple[_Term, ...]:
    sets = load_data("lexicon")["sets"]
    terms: list[_Term] = []
    for entry in group:
        if entry.startswith("@"):
            if entry[1:] not in sets:
                raise KeyError(f"unknown synonym set {entry!r} (evals/data/lexicon.yaml)")
            terms.extend(_compile_group(tuple(sets[entry[1:]])))
            continue
        star = entry.endswith("*")
        words = [t.text for t in tokenize(normalize(entry.rstrip("*")))]
        if not words:
            continue
        if star:
            terms.append(_Term(tuple(stem(w) for w in words[:-1]), words[-1]))
        else:
            terms.append(_Term(tuple(stem(w) for w in words), ""))
    return tuple(terms)


def _occurrences(terms: tuple[_Term, ...], view: SentenceView) -> list[tuple[int, int]]:
    out = set()
    n = len(view.stems)
    for term in terms:
        k = len(term.stems) + (1 if term.prefix else 0)
        for i in range(n - k + 1):
            if view.stems[i : i + len(term.stems)] != term.stems:
                continue
            if term.prefix and not view.tokens[i + k - 1].text.startswith(term.prefix):
                continue
            out.add((i, i + k))
    return sorted(out)


def _cluster(occs: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    """One occurrence per group, as close together as possible (earliest on ties)."""
    total = math.prod(len(o) for o in occs)
    if total > 4096:
        return [o[0] for o in occs]
    best = min(
        product(*occs),
        key=lambda c: (max(e for _, e in c) - min(s for s, _ in c), min(s for s, _ in c)),
    )
    return list(best)


def _polarity(cluster: list[tuple[int, int]], view: SentenceView) -> str:
    """'affirmed', 'negated' or 'uncertain' (hedged, or a question)."""
    tokens = [i for s, e in cluster for i in range(s, e)]
    if view.question or any(
        c.kind == "hedge" and any(c.covers(i) for i in tokens) for c in view.cues
    ):
        return "uncertain"
    for s, e in cluster:
        n = sum(1 for c in view.cues if c.negates and any(c.covers(i) for i in range(s, e)))
        if n % 2:
            return "negated"
    return "affirmed"


def _numbers(specs: Sequence[NumberSpec], view: SentenceView) -> tuple[bool, str]:
    """(all specs stated in the sentence, description of the first miss)."""
    for spec in specs:
        lo, hi, unit = spec.canonical()
        same = [m for m in view.mentions if m.unit == unit]
        if not any(number_matches(spec.op, lo, hi, m) for m in same):
            found = ", ".join(f"{m.op}{fmt_range(m.lo, m.hi)}{unit}" for m in same) or "none"
            return (
                False,
                f"wanted {spec.quantity} {spec.op} {fmt_range(lo, hi)}{unit}, found {found}",
            )
    return True, ""


def _pattern_hit(patterns: Sequence[str], view: SentenceView) -> str:
    """The first contradiction pattern that matches the sentence outside any negation/hedge."""
    for pattern in patterns:
        for m in re.finditer(pattern, view.norm):
            span = [i for i, t in enumerate(view.tokens) if t.start < m.end() and t.end > m.start()]
            if not any(c.start in span or any(c.covers(i) for i in span) for c in view.cues):
                return pattern
    return ""


_WANT = {"affirm": "affirmed", "negate": "negated"}


def _judge_views(
    claim: Claim, views: Sequence[SentenceView], similarity: Similarity | None, promote_at: float
) -> Verdict:
    groups = [_compile_group(tuple(g)) for g in claim.concepts]
    supports: list[tuple[str, str, float]] = []  # (sentence, reason, similarity)
    opposed: list[tuple[str, str]] = []
    near = ""
    best_cov, best_sim = 0.0, 0.0
    for view in views:
        hit = _pattern_hit(claim.contradicts, view)
        if hit:
            return Verdict(
                claim.id,
                Label.CONTRADICTED,
                claim.weight,
                view.text,
                f"matches contradiction pattern {hit!r}",
                1.0,
                best_sim,
                tuple(s for s, _, _ in supports),
            )
        occs = [_occurrences(g, view) for g in groups]
        found = [o for o in occs if o]
        cov = len(found) / len(groups)
        best_cov = max(best_cov, cov)
        if not found:
            continue
        pol = _polarity(_cluster(found), view)
        agrees = claim.polarity == "mention" or pol == _WANT[claim.polarity]
        nums_ok, miss = _numbers(claim.numbers, view)
        if len(found) == len(groups):
            if not nums_ok:
                near = near or f"concepts present but numbers differ: {miss}"
            elif agrees:
                supports.append((view.text, f"all {len(groups)} concept group(s), {pol}", 1.0))
            elif pol == "uncertain":
                near = near or "concepts present but hedged or asked as a question"
            else:
                opposed.append((view.text, f"sentence is {pol}, claim wants {claim.polarity}"))
        elif (
            similarity is not None
            and 2 * len(found) >= len(groups)
            and agrees
            and nums_ok
            and pol != "uncertain"
        ):
            sim = float(similarity(claim.text, view.text))
            sim = 0.0 if not math.isfinite(sim) else sim
            best_sim = max(best_sim, sim)
            if sim >= promote_at:
                why = f"promoted by similarity {sim:.2f} ({len(found)}/{len(groups)} groups, {pol})"
                supports.append((view.text, why, sim))
    if supports:
        text, why, sim = supports[0]
        return Verdict(
            claim.id,
            Label.SUPPORTED,
            claim.weight,
            text,
            why,
            best_cov,
            max(best_sim, 0.0),
            tuple(s for s, _ in opposed),
        )
    if opposed:
        text, why = opposed[0]
        return Verdict(claim.id, Label.CONTRADICTED, claim.weight, text, why, best_cov, best_sim)
    reason = near or f"no sentence holds all concept groups (best {best_cov:.0%})"
    return Verdict(claim.id, Label.ABSENT, claim.weight, "", reason, best_cov, best_sim)


def match_claims(
    claims: Sequence[Claim],
    answer_text: str,
    *,
    similarity: Similarity | None = None,
    status: str | None = None,
    promote_at: float = 0.8,
) -> list[Verdict]:
    """Verdicts for all claims against one answer (the answer is analysed once)."""
    if status in NOT_ANSWERABLE or not answer_text.strip():
        why = f"answer status is {status}" if status in NOT_ANSWERABLE else "empty answer"
        return [Verdict(c.id, Label.ABSTAINED, c.weight, "", why) for c in claims]
    views = analyze(answer_text)
    return [_judge_views(c, views, similarity, promote_at) for c in claims]


def match_claim(
    claim: Claim,
    answer_text: str,
    *,
    similarity: Similarity | None = None,
    status: str | None = None,
    promote_at: float = 0.8,
) -> Verdict:
    """Verdict for one claim; see ``match_claims``."""
    return match_claims(
        [claim], answer_text, similarity=similarity, status=status, promote_at=promote_at
    )[0]


def find_forbidden(patterns: Sequence[str], answer_text: str) -> list[str]:
    """The case's ``forbidden`` regexes that match the normalised answer (e.g. a diagnosis).

    >>> find_forbidden([r"\\byou have pht\\b", "discount"], "You have PHT.")
    ['\\\\byou have pht\\\\b']
    """
    norm = normalize(answer_text)
    return [p for p in patterns if re.search(p, norm)]
