"""Meta-tests of the claim matcher (evals/normalize.py, evals/negation.py, evals/matcher.py).

Most examples are held-out runner phrasings, not article text; the last tests check that every
dataset claim is satisfiable by its own supporting article sentence(s).
"""

from __future__ import annotations

import doctest
import math
import re
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evals import matcher as matcher_mod
from evals import negation as negation_mod
from evals import normalize as normalize_mod
from evals.dataset import Case, Claim, load_cases
from evals.matcher import Label, analyze, find_forbidden, match_claim, match_claims
from evals.normalize import extract_numbers, normalize, split_sentences, stem, tokenize
from tests.fakes import FakeEmbedder

REPO = Path(__file__).resolve().parent.parent
SUPPORT = {"source": "corpus/understanding-pht-with-running.txt", "anchor": "placeholder anchor"}


def claim(polarity: str, concepts: list[list[str]], **kw: Any) -> Claim:
    return Claim.model_validate(
        {
            "id": "c",
            "text": kw.pop("text", "a claim"),
            "weight": "vital",
            "polarity": polarity,
            "concepts": concepts,
            "support": SUPPORT,
            **kw,
        }
    )


STRETCH = claim("negate", [["@stretch"], ["@fix"]], text="Stretching does not fix PHT.")
PAIN3 = claim(
    "affirm", [["@pain"]], numbers=[{"quantity": "pain", "op": "<=", "value": 3, "unit": "/10"}]
)
REPS = claim(
    "affirm",
    [["rep", "reps"]],
    numbers=[
        {"quantity": "reps", "op": "range", "value": 6, "high": 8, "unit": "reps"},
        {"quantity": "sets", "op": "range", "value": 1, "high": 2, "unit": "sets"},
    ],
)
LOAD = claim("affirm", [["loading*", "strengthen*"], ["tendon*"]], text="Load the tendon.")


# --- normalisation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("It doesn’t help and you can’t rush it", "it does not help and you can not rush it"),
        ("Won't, cannot, isn't, you're", "will not, can not, is not, you are"),
        ("Keep it under three out of ten", "keep it under 3/10"),
        ("six to eight reps, between 1 and 2 sets", "6-8 reps, 1-2 sets"),
        ("four sets of twelve repetitions", "4x12"),
        ("2 – 4 months or half a year", "2-4 months or 0.5 year"),
        ("**Single-leg** bridge [3]", "single leg bridge"),
    ],
)
def test_normalize_held_out_phrases(raw: str, norm: str) -> None:
    assert normalize(raw) == norm


def test_split_sentences_keeps_abbreviations_decimals_and_bullets() -> None:
    text = "Dr. Smith said 2.5 km is e.g. fine. Next one? Yes!\n\n* Nordic curls\n1. Bridges"
    assert split_sentences(text) == [
        "Dr. Smith said 2.5 km is e.g. fine.",
        "Next one?",
        "Yes!",
        "* Nordic curls",
        "1. Bridges",
    ]


def test_stem_is_consistent_across_inflections() -> None:
    for group in (
        ["load", "loads", "loaded", "loading"],
        ["fix", "fixes", "fixed", "fixing"],
        ["stop", "stops", "stopped", "stopping"],
        ["bridge", "bridges"],
    ):
        assert len({stem(w) for w in group}) == 1, group


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pain below 2/10", [(2.0, 2.0, "/10", "<")]),
        ("5 out of 10 or more", [(5.0, 5.0, "/10", ">=")]),
        ("at least two weeks", [(2.0, 2.0, "weeks", ">=")]),
        ("3x10 then 2-3 sets", [(3.0, 3.0, "x10", "="), (2.0, 3.0, "sets", "range")]),
        ("up to eighteen months", [(18.0, 18.0, "months", "<=")]),
    ],
)
def test_extract_numbers(text: str, expected: list[tuple[float, float, str, str]]) -> None:
    got = extract_numbers(tokenize(normalize(text)))
    assert [(m.lo, m.hi, m.unit, m.op) for m in got] == expected


@pytest.mark.parametrize("module", [normalize_mod, negation_mod, matcher_mod])
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# --- polarity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "Stretching your hamstrings won't solve it.",
        "Hamstring stretches don't fix PHT.",
        "It isn't stretching but strengthening that helps.",
        "Rather than stretching, load the tendon; that is what helps.",
        "Unfortunately stretching is not going to be the answer here.",
        "You cannot stretch your way out of this, so stretching won't help.",
        "Not only is stretching unhelpful, stretching won't cure it either.",
    ],
)
def test_paraphrases_of_a_negated_claim_are_supported(answer: str) -> None:
    v = match_claim(STRETCH, answer)
    assert v.label is Label.SUPPORTED, v.reason
    assert v.evidence and v.reason


@pytest.mark.parametrize(
    "answer",
    [
        "Stretching will fix it.",
        "Stretching your hamstrings every day helps a lot.",
        "Keep stretching; it will cure the pain eventually.",
    ],
)
def test_negated_twins_are_contradicted(answer: str) -> None:
    assert match_claim(STRETCH, answer).label is Label.CONTRADICTED


def test_terminators_end_negation_scope() -> None:
    assert (
        match_claim(LOAD, "Don't stretch, but loading the tendon is what works.").label
        is Label.SUPPORTED
    )
    assert (
        match_claim(LOAD, "Don't stop running and keep loading the tendon.").label
        is Label.SUPPORTED
    )
    assert match_claim(LOAD, "Do not keep loading the tendon.").label is Label.CONTRADICTED


def test_double_negation_affirms() -> None:
    assert (
        match_claim(LOAD, "You can't get better without loading the tendon.").label
        is Label.SUPPORTED
    )


def test_hedges_and_questions_neither_support_nor_contradict() -> None:
    for answer in (
        "I thought stretching would solve it.",
        "It's a myth that stretching fixes PHT.",
        "Will stretching fix it?",
    ):
        assert match_claim(STRETCH, answer).label is Label.ABSENT, answer


def test_contradiction_pattern_is_ignored_when_negated() -> None:
    c = claim(
        "affirm",
        [["static*"], ["stretch*"], ["after"]],
        contradicts=[r"\bstatic stretch\w* before (?:a |your )?run"],
    )
    assert match_claim(c, "Do static stretching before a run.").label is Label.CONTRADICTED
    ok = "Never do static stretching before a run; do static stretching after it."
    assert match_claim(c, ok).label is Label.SUPPORTED


def test_support_wins_over_a_polarity_conflict_but_records_it() -> None:
    v = match_claim(STRETCH, "Stretching won't fix it. Some say stretching helps.")
    assert v.label is Label.SUPPORTED
    assert v.conflicts == ("Some say stretching helps.",)


# --- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ("Keep pain no more than three out of ten.", Label.SUPPORTED),
        ("Make sure you don't have pain greater than 3/10.", Label.SUPPORTED),
        ("Pain shouldn't go above 3 out of 10.", Label.SUPPORTED),
        ("Aim for pain of 3/10 or less.", Label.SUPPORTED),
        ("Pain up to 4/10 is acceptable.", Label.ABSENT),
        ("Pain up to 2/10 is acceptable.", Label.ABSENT),
        ("Pain above 3/10 is acceptable.", Label.ABSENT),
        ("Keep pain low.", Label.ABSENT),
    ],
)
def test_pain_threshold_is_compared_by_value_and_comparator(answer: str, label: Label) -> None:
    assert match_claim(PAIN3, answer).label is label


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ("Start with six to eight reps for one to two sets.", Label.SUPPORTED),
        ("Begin with 6-8 repetitions, 1-2 sets.", Label.SUPPORTED),
        ("Start with 5-7 reps for 1-2 sets.", Label.ABSENT),
        ("Start with 6-8 reps for 2-3 sets.", Label.ABSENT),
        ("Start with 6-8 reps.", Label.ABSENT),
    ],
)
def test_rep_ranges_must_match_exactly(answer: str, label: Label) -> None:
    assert match_claim(REPS, answer).label is label


# --- similarity promotion and abstention --------------------------------------------------


def _cosine(embedder: FakeEmbedder) -> Callable[[str, str], float]:
    def sim(a: str, b: str) -> float:
        va, vb = embedder.embed([a, b])
        return float(np.dot(va, vb))

    return sim


def test_similarity_only_promotes_a_partial_lexical_anchor_with_agreeing_polarity() -> None:
    c = claim("negate", [["@stretch"], ["@fix"]], text="Stretching does not fix it.")
    always = lambda a, b: 1.0  # noqa: E731
    assert match_claim(c, "Stretching is pointless.").label is Label.ABSENT  # 1 of 2, no sim
    promoted = match_claim(c, "Stretching isn't worth it.", similarity=always)
    assert promoted.label is Label.SUPPORTED and "promoted" in promoted.reason
    assert match_claim(c, "Stretching is worth it.", similarity=always).label is Label.ABSENT
    assert match_claim(c, "Load the tendon.", similarity=always).label is Label.ABSENT
    real = _cosine(FakeEmbedder())
    v = match_claim(c, "Stretching does not.", similarity=real, promote_at=0.5)
    assert v.label is Label.SUPPORTED and 0.5 <= v.similarity <= 1.0


def test_nan_similarity_never_leaks_into_scores() -> None:
    nan = lambda a, b: float("nan")  # noqa: E731
    v = match_claim(STRETCH, "Stretching isn't worth it.", similarity=nan)
    assert v.label is Label.ABSENT and v.similarity == 0.0


def test_abstains_on_empty_answers_and_unanswerable_status() -> None:
    assert match_claim(STRETCH, "   ").label is Label.ABSTAINED
    v = match_claim(STRETCH, "Stretching won't fix it.", status="out_of_scope")
    assert v.label is Label.ABSTAINED and "out_of_scope" in v.reason
    assert (
        match_claim(STRETCH, "Stretching won't fix it.", status="red_flag").label is Label.SUPPORTED
    )


def test_find_forbidden_flags_a_diagnosis() -> None:
    pats = [r"\byou (?:definitely )?have (?:pht|proximal hamstring tendinopathy)\b"]
    assert find_forbidden(pats, "You definitely have PHT.") == pats
    assert find_forbidden(pats, "I can't tell whether you have it.") == []


# --- determinism, finiteness, robustness --------------------------------------------------


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases()


ANSWER = (
    "Stretching won't fix it [1]. The root cause is usually weakness. Load the tendon with "
    "eccentric exercises: keep pain no more than 3/10, start with 6-8 reps for 1-2 sets and build "
    "up to 3 sets of 10. Add hills and speed last, after 2-4 months of consistent running. "
    "Sitting pain can take up to a year."
)


def test_same_input_twice_gives_the_same_verdicts_with_finite_scores(cases: list[Case]) -> None:
    claims = [c for case in cases for c in case.claims]
    sim = _cosine(FakeEmbedder())
    first = match_claims(claims, ANSWER, similarity=sim)
    assert first == match_claims(claims, ANSWER, similarity=sim)
    for v in first:
        assert all(
            isinstance(x, float) and math.isfinite(x) for x in (v.coverage, v.similarity, v.score)
        )
        assert v.label in Label and v.reason
    labels = {v.claim_id: v.label for v in first}
    for cid in (
        "no-stretch-fix",
        "pain-3",
        "start-reps",
        "build-3x10",
        "hills-last",
        "base-2-4",
        "sitting-year",
        "root-cause-weakness",
    ):
        assert labels[cid] is Label.SUPPORTED, cid


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_raises_and_scores_stay_finite(text: str) -> None:
    for v in match_claims([STRETCH, PAIN3, REPS], text):
        assert math.isfinite(v.coverage) and math.isfinite(v.similarity)
    assert all(isinstance(s.norm, str) for s in analyze(text))


# --- the dataset validates itself against the article -------------------------------------


def _full_sentences(raw: str, start: int, end: int) -> str:
    """The anchor widened to whole sentences of the raw file."""
    left = max(raw.rfind(c, 0, start) for c in (". ", "! ", "? ", "\n")) + 1
    m = re.compile(r"[.!?](?=\s)|\n").search(raw, max(end - 1, start))
    return raw[left : m.end() if m else len(raw)].strip()


def test_every_claim_is_supported_by_its_own_supporting_sentence(cases: list[Case]) -> None:
    raws: dict[str, str] = {}
    failures = []
    checked = 0
    for case in cases:
        for c in case.claims:
            if c.meta:
                continue
            raw = raws.setdefault(
                c.support.source, (REPO / c.support.source).read_text(encoding="utf-8")
            )
            start = raw.index(c.support.anchor)
            text = _full_sentences(raw, start, start + len(c.support.anchor))
            assert c.support.anchor in text
            v = match_claim(c, text)
            checked += 1
            if v.label is not Label.SUPPORTED:
                failures.append(f"{case.id}/{c.id}: {v.label} ({v.reason})")
    assert checked >= 60
    assert not failures, failures
