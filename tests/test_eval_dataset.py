"""Tests for the evaluation datasets and their loader (evals/dataset.py, evals/datasets/*.yaml)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from evals.dataset import DATASETS, Case, DatasetError, check_anchors, load_cases, load_scope

REPO = Path(__file__).resolve().parent.parent
NEWER = "corpus/understanding-pht-with-running.txt"
OLDER = "corpus/is-it-ok-to-run-with-hamstring-pain.txt"


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases()


def test_enough_cases_with_unique_ids_and_every_status(cases: list[Case]) -> None:
    assert len(cases) >= 45
    assert len({c.id for c in cases}) == len(cases)
    statuses = Counter(c.expected_status for c in cases)
    assert set(statuses) == {"answered", "red_flag", "out_of_scope", "invalid_input"}
    assert statuses["red_flag"] >= 4 and statuses["out_of_scope"] >= 5


def test_every_anchor_is_verbatim_in_its_raw_file(cases: list[Case]) -> None:
    spans = check_anchors(cases, REPO)
    n_refs = sum(len(c.gold) + len(c.claims) for c in cases)
    assert len(spans) == n_refs
    raws = {s: (REPO / s).read_text(encoding="utf-8") for s in (NEWER, OLDER)}
    by_case = {c.id: c for c in cases}
    for span in spans:
        case = by_case[span.case_id]
        if span.where.startswith("gold"):
            anchor = case.gold[int(span.where[5:-1])].anchor
        else:
            anchor = next(c.support.anchor for c in case.claims if f"claim:{c.id}" == span.where)
        assert raws[span.source][span.start : span.end] == anchor


def test_shared_facts_are_anchored_in_the_newer_edition(cases: list[Case]) -> None:
    newer = (REPO / NEWER).read_text(encoding="utf-8")
    for case in cases:
        anchors = list(case.gold) + [c.support for c in case.claims if not c.meta]
        for a in anchors:
            if a.source == OLDER:
                assert a.anchor not in newer, (
                    f"{case.id}: anchor also in the newer file: {a.anchor!r}"
                )


def test_unanswerable_cases_have_no_claims_and_answerable_ones_a_vital_claim(
    cases: list[Case],
) -> None:
    for case in cases:
        if case.expected_status in ("out_of_scope", "invalid_input"):
            assert not case.claims and not case.gold
        else:
            assert any(c.weight == "vital" for c in case.claims), case.id


def test_required_topics_are_covered(cases: list[Case]) -> None:
    claim_ids = {c.id for case in cases for c in case.claims}
    required = {
        "no-stretch-fix",
        "root-cause-weakness",
        "tendon-capacity",
        "stop-not-answer",
        "sitting-not-guide",
        "passive-not-fix",
        "load-tendon",
        "pain-3",
        "start-reps",
        "build-3x10",
        "exercise-bridge",
        "exercise-nordic",
        "exercise-rdl",
        "exercise-slides",
        "exercise-airplane",
        "fire-hydrant",
        "glute-form",
        "warmup-dynamic",
        "static-after",
        "hills-last",
        "base-2-4",
        "sitting-year",
        "degenerative",
        "tear-risk",
        "three-muscles",
        "origin",
        "symptoms-worse",
        "rf-fracture",
        "rf-bone-stress",
        "rf-nerve",
        "rf-pain-5",
        "sponsor-paid",
        "sponsor-no-evidence",
        "edition-newer",
    }
    assert required <= claim_ids, required - claim_ids
    tags = Counter(t for case in cases for t in case.tags)
    for tag in (
        "follow-up",
        "typo",
        "lay-terms",
        "prompt-injection",
        "diagnosis",
        "sponsorship",
        "edition-conflict",
        "red-flag",
        "out-of-scope",
        "invalid",
    ):
        assert tags[tag] >= 1, tag
    by_id = {c.id: c for c in cases}
    assert by_id["empty"].question == "" and by_id["empty"].expected_status == "invalid_input"
    assert by_id["heal-supplement"].expected_status == "answered"
    assert all(c.history for c in cases if "follow-up" in c.tags)
    assert by_id["what-do-i-have"].forbidden


def test_red_flag_numbers_and_ranges_are_canonical(cases: list[Case]) -> None:
    claims = {c.id: c for case in cases for c in case.claims}
    assert claims["sitting-year"].numbers[0].canonical() == (12.0, 12.0, "months")
    assert claims["start-reps"].numbers[0].canonical() == (6.0, 8.0, "reps")
    assert claims["rf-pain-5"].numbers[0].op == ">"


def _write(tmp_path: Path, body: str, name: str = "cases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


GOOD = """
cases:
  - id: demo
    question: Will stretching fix it?
    expected_status: answered
    tags: [demo]
    gold: [{source: corpus/understanding-pht-with-running.txt, anchor: "it does not help"}]
    claims:
      - id: c1
        text: Stretching does not fix it.
        weight: vital
        polarity: negate
        concepts: [[stretch*], ["@fix"]]
        support: {source: corpus/understanding-pht-with-running.txt, anchor: "it does not help"}
"""


def test_a_small_valid_file_loads_and_its_anchor_span_is_returned(tmp_path: Path) -> None:
    cases = load_cases(_write(tmp_path, GOOD))
    spans = check_anchors(cases, REPO / "corpus")  # the corpus folder itself also works
    raw = (REPO / NEWER).read_text(encoding="utf-8")
    assert [raw[s.start : s.end] for s in spans] == ["it does not help"] * 2


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("weight: vital", "weight: crucial", "claims.0.weight"),
        ("polarity: negate", "polarity: deny", "claims.0.polarity"),
        ("expected_status: answered", "expected_status: out_of_scope", "must have no gold"),
        ('concepts: [[stretch*], ["@fix"]]', "concepts: [[]]", "concept group"),
        ("        support:", "        contradicts: ['(unclosed']\n        support:", "bad regex"),
        (
            "        support:",
            "        numbers: [{quantity: reps, op: range, value: 6, unit: reps}]\n        support:",
            "high",
        ),
        (
            "        support:",
            "        numbers: [{quantity: t, op: '=', value: 6, unit: parsecs}]\n        support:",
            "unknown unit",
        ),
        ("    tags: [demo]", "    tags: [demo]\n    colour: blue", "colour"),
    ],
)
def test_bad_data_names_the_file_the_case_and_the_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(DatasetError) as err:
        load_cases(path)
    msg = str(err.value)
    assert str(path) in msg and "'demo'" in msg and expected in msg


def test_missing_anchor_and_duplicate_ids_are_reported(tmp_path: Path) -> None:
    bad = load_cases(_write(tmp_path, GOOD.replace('"it does not help"}]', '"it does not hurt"}]')))
    with pytest.raises(DatasetError, match=r"case 'demo' gold\[0\].*it does not hurt"):
        check_anchors(bad, REPO)
    a, b = _write(tmp_path, GOOD, "cases_a.yaml"), _write(tmp_path, GOOD, "cases_b.yaml")
    with pytest.raises(DatasetError, match="already used"):
        load_cases(tmp_path)
    assert load_cases([a]) and load_cases([b])


def test_unreadable_files_raise_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not valid YAML"):
        load_cases(_write(tmp_path, "cases: [\n  - {id: x"))
    with pytest.raises(DatasetError, match="'cases' list"):
        load_cases(_write(tmp_path, "questions: []"))
    with pytest.raises(DatasetError, match="not found"):
        load_cases(tmp_path / "nope.yaml")


def test_scope_set_is_balanced_with_near_misses() -> None:
    items = load_scope()
    assert len(items) >= 60
    for split in ("calibration", "test"):
        labels = Counter(i.in_scope for i in items if i.split == split)
        assert labels[True] == labels[False] >= 15
    out = " ".join(i.question.lower() for i in items if not i.in_scope)
    for near_miss in ("plantar", "it band", "shoes", "marathon", "python", "capital"):
        assert near_miss in out
    assert len({i.question for i in items}) == len(items)
    assert (DATASETS / "scope.yaml").is_file()
