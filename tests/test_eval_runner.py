"""The eval runner: pass/fail rules, metrics without NaN, gates, baseline regressions, `pht eval`.

Most tests drive the real scoring and the real ``pht eval`` command with a scripted fake
service (tests/eval_fakes.py) on the real corpus; the last one runs the real assistant on
the real index against the committed baseline (marked ``model``).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest

from assistant.models import Answer
from cli.main import build_parser
from evals.dataset import check_anchors, load_cases
from evals.gates import (
    BASELINE_FILE,
    Floor,
    check_floors,
    compare_baseline,
    load_gates,
    read_baseline,
)
from evals.matcher import Label
from evals.metrics import Labelled, compute_metrics, percentile
from evals.runner import Inputs, load_inputs, read_corpus, run_eval
from evals.scoring import judged_text, score_case, sentence_markers
from tests.conftest import CORPUS, make_settings
from tests.eval_fakes import EvalFakeService, write_cases

GATES = load_gates()


@pytest.fixture(scope="module")
def corpus() -> tuple[dict[str, str], object]:
    return read_corpus(CORPUS)


def _score(tmp_path: Path, corpus, broken: str = "", case_id: str = "stretching-more"):  # type: ignore[no-untyped-def]
    cases = load_cases(write_cases(tmp_path))
    case = next(c for c in cases if c.id == case_id)
    spans = {
        (a.case_id, a.where.removeprefix("claim:")): (a.start, a.end)
        for a in check_anchors(cases, CORPUS.parent)
        if a.where.startswith("claim:")
    }
    raws, kinds = corpus
    answer = EvalFakeService(broken).ask(case.question)
    return score_case(
        case,
        answer,
        raws=raws,
        kinds=kinds,
        anchor_spans=spans,
        promotion_label=GATES.promotion_label,
    )


def test_good_answer_passes_with_supported_verbatim_cited_claim(tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    r = _score(tmp_path, corpus)
    assert r.passed, r.reasons
    vital = r.claims[0]
    assert vital.verdict.label is Label.SUPPORTED and vital.cited == (1,)
    assert vital.supported_by_citation is True
    assert r.citations[0].verbatim and not r.citations[0].promotional
    assert r.citations[0].corpus_kind == "content"
    assert r.gold_rank == 1


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        ("stretch", "vital claim no-stretch-fix CONTRADICTED"),
        ("misquote", "citation [1] not verbatim"),
        ("ad", "citation [3] promotional: cites sponsorship"),
        ("code", "forbidden pattern 'healthyrunner' matches"),
    ],
)
def test_each_broken_rule_fails_the_case_and_says_why(
    tmp_path: Path,
    corpus,
    broken: str,  # type: ignore[no-untyped-def]
    why: str,
) -> None:
    r = _score(tmp_path, corpus, broken)
    assert not r.passed
    assert any(line.startswith(why) for line in r.reasons), r.reasons


def test_a_sponsorship_citation_labelled_as_promotion_is_allowed(tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    r = _score(tmp_path, corpus, "labelled-ad")
    assert [c.promotional for c in r.citations] == [False, False, False]
    assert r.passed, r.reasons


def test_wrong_status_fails_and_abstains_claims(tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    r = _score(tmp_path, corpus, case_id="rf-pain-7")
    assert r.passed, r.reasons
    cases = load_cases(write_cases(tmp_path))
    case = next(c for c in cases if c.id == "rf-pain-7")
    wrong = EvalFakeService().ask("What is the capital of France?")
    raws, kinds = corpus
    r2 = score_case(
        case, wrong, raws=raws, kinds=kinds, anchor_spans={}, promotion_label=GATES.promotion_label
    )
    assert r2.reasons[0] == "status out_of_scope, expected red_flag"
    assert r2.claims[0].verdict.label is Label.ABSTAINED


def test_markers_belong_to_the_sentence_before_when_they_lead() -> None:
    got = sentence_markers("Hills come last. [1] Build a base first [2][3].\nNo marker here.")
    assert got == [
        ("Hills come last.", [1]),
        ("[1] Build a base first [2][3].", [2, 3]),
        ("No marker here.", []),
    ]


def test_a_marker_before_a_capitalised_word_ends_a_quoted_list_item() -> None:
    answer = Answer("q", "answered", "Head up [1] Slight bend at the hips and NOT the trunk [2]")
    assert sentence_markers(judged_text(answer)) == [
        ("Head up [1]", [1]),
        ("Slight bend at the hips and NOT the trunk [2]", [2]),
    ]


def test_metrics_of_an_empty_run_are_finite_and_gates_are_na() -> None:
    metrics, counts = compute_metrics([], [], [])
    assert metrics and all(math.isfinite(v) for v in metrics.values())
    assert metrics["vital_claim_recall"] == 0.0 and counts["vital_claim_recall"] == [0, 0]
    gates = check_floors(metrics, counts, GATES.floors)
    assert {g.status for g in gates if g.name in counts} == {"n/a"}
    assert percentile([], 95) == 0.0


def test_gate_set_metrics_count_misses_and_false_alarms() -> None:
    red = [
        Labelled("numb leg", True, True),
        Labelled("pop", True, False),
        Labelled("fine", False, True),
        Labelled("ok", False, False),
    ]
    scope = [Labelled("pizza", True, True), Labelled("PHT?", False, False)]
    m, counts = compute_metrics([], red, scope)
    assert (m["red_flag_recall"], m["red_flag_false_alarm_rate"]) == (0.5, 0.5)
    assert (m["out_of_scope_precision"], m["out_of_scope_recall"]) == (1.0, 1.0)
    assert counts["red_flag_recall"] == [1, 2]


def test_floors_name_the_failing_cases(tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    results = [_score(tmp_path, corpus, "stretch")]
    m, counts = compute_metrics(results)
    floors = [Floor("vital_contradictions", "<=", 0), Floor("vital_claim_recall", ">=", 0.5)]
    gates = {g.name: g for g in check_floors(m, counts, floors, results)}
    assert gates["vital_contradictions"].status == "fail"
    assert gates["vital_contradictions"].cases == ("stretching-more",)
    assert gates["vital_claim_recall"].status == "fail"
    assert check_floors({"x": 2.0}, {}, [Floor("x", "<=", 1.0)])[0].status == "fail"


def test_baseline_comparison_separates_regressions_new_and_fixed(tmp_path: Path, corpus) -> None:  # type: ignore[no-untyped-def]
    bad = _score(tmp_path, corpus, "stretch")
    good = _score(tmp_path, corpus)
    assert compare_baseline([bad], {"cases": {"stretching-more": "pass"}}).regressions == [
        "stretching-more"
    ]
    assert compare_baseline([bad], {"cases": {}}).new_failures == ["stretching-more"]
    assert compare_baseline([bad], None).regressions == []
    cmp = compare_baseline([good], {"cases": {"stretching-more": "fail", "gone": "pass"}})
    assert (cmp.fixed, cmp.missing, cmp.regressions) == (["stretching-more"], ["gone"], [])


def test_run_eval_asks_every_case_and_gate_set_question(tmp_path: Path) -> None:
    service = EvalFakeService()
    inputs = Inputs(
        load_cases(write_cases(tmp_path)),
        red_flags=[("leg is numb", True)],
        scope=[("capital of France?", True)],
    )
    outcome = run_eval(service, inputs, corpus_dir=CORPUS, gates=GATES)
    assert [r.case.id for r in outcome.results] == [
        "stretching-more",
        "rf-pain-7",
        "oos-html",
        "empty",
    ]
    assert all(r.passed for r in outcome.results), [r.reasons for r in outcome.results]
    assert [i.predicted for i in outcome.red_flags + outcome.scope] == [True, True]
    assert len(service.questions) == 6


def test_default_inputs_hold_the_cases_and_both_gate_sets() -> None:
    inputs = load_inputs()
    assert len(inputs.cases) >= 56 and len(inputs.red_flags) > 40 and len(inputs.scope) > 20
    assert len(inputs.dataset_hash) == 64 and len(inputs.files) == 3


def _eval(tmp_path: Path, service: EvalFakeService, *extra: str) -> tuple[int, str]:
    args = build_parser().parse_args(
        [
            "eval",
            "--dataset",
            str(write_cases(tmp_path)),
            "--out",
            str(tmp_path / "out"),
            "--baseline",
            str(tmp_path / "baseline.json"),
            "--no-gate-sets",
            "--quiet",
            *extra,
        ]
    )
    out = io.StringIO()
    code = args.func(args, service=service, out=out, settings=make_settings(tmp_path))
    return code, out.getvalue()


def test_done_when_a_broken_answer_makes_pht_eval_exit_nonzero_naming_the_case(
    tmp_path: Path,
) -> None:
    code, text = _eval(tmp_path, EvalFakeService(), "--update-baseline")
    assert code == 0, text
    assert read_baseline(tmp_path / "baseline.json")["cases"]["stretching-more"] == "pass"
    code, text = _eval(tmp_path, EvalFakeService(broken="stretch"))
    assert code == 1
    assert "GATE FAILED no-regressions" in text and "stretching-more" in text
    assert "REGRESSION stretching-more: vital claim no-stretch-fix CONTRADICTED" in text
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["baseline"]["regressions"] == ["stretching-more"]
    assert not report["passed"]


def test_a_new_failing_case_without_baseline_entry_does_not_fail_the_run(tmp_path: Path) -> None:
    (tmp_path / "baseline.json").write_text(json.dumps({"cases": {"rf-pain-7": "pass"}}))
    code, text = _eval(tmp_path, EvalFakeService(broken="misquote"), "--no-peer")
    # not verbatim: the citation floor fails the run, the case itself is only "new"
    assert code == 1 and "GATE FAILED citation_verbatim_rate" in text
    assert "New failing cases (not in the baseline, not gating): stretching-more" in text
    assert "REGRESSION" not in text


def test_judge_flag_without_an_llm_server_changes_nothing(tmp_path: Path) -> None:
    code, text = _eval(tmp_path, EvalFakeService(), "--judge")
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert code == 0 and report["judge"] is None
    assert "LLM judge skipped" in text
    # a run on chosen --dataset files asks only those: no real-language sets in report.json
    assert report["labelled"]["sets"] == {} and report["labelled"]["narrative_gates"] == {}


@pytest.mark.model
def test_real_suite_passes_against_the_committed_baseline(tmp_path: Path, real_index) -> None:  # type: ignore[no-untyped-def]
    args = build_parser().parse_args(["eval", "--out", str(tmp_path / "out"), "--quiet"])
    out = io.StringIO()
    code = args.func(args, out=out, settings=real_index)
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert args.baseline == BASELINE_FILE
    assert code == 0, out.getvalue()
    assert report["metrics"]["cases"] >= 56
    assert report["metrics"]["citation_verbatim_rate"] == 1.0
    assert report["retrieval"]["peer"] is not None
