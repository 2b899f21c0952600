"""Aggregate metrics of an eval run, with no NaN anywhere.

``compute_metrics`` turns the scored cases (``evals.scoring.CaseResult``) and the two
labelled gate sets (red flags, scope) into one flat ``{name: float}`` dict plus the
``[numerator, denominator]`` behind every rate. Conventions: a rate whose denominator is 0
is reported as 0.0 with denominator 0 (``evals.gates`` treats such a gate as "n/a", never as
a pass by accident of arithmetic); latencies of an empty run are 0.0. Claim recall is
weighted vital = 2, okay = 1 (``WEIGHTS``) over the claims of cases that expect an answer;
ABSTAINED counts as not supported. It does not decide pass/fail (``evals.gates``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from evals.matcher import Label
from evals.retrieval import score_ranks
from evals.scoring import CaseResult

WEIGHTS = {"vital": 2.0, "okay": 1.0}


@dataclass(frozen=True)
class Labelled:
    """One item of a gate set: did we expect / get the positive class (red flag, out of scope)?"""

    question: str
    expected: bool
    predicted: bool
    status: str = ""


def rate(num: float, den: float) -> float:
    """``num / den``, 0.0 when ``den`` is 0 (never NaN).

    >>> rate(1, 4), rate(0, 0)
    (0.25, 0.0)
    """
    return float(num) / float(den) if den else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); 0.0 for no values.

    >>> percentile([30.0, 10.0, 20.0, 40.0], 50), percentile([5.0], 95), percentile([], 50)
    (20.0, 5.0, 0.0)
    """
    finite = sorted(v for v in values if math.isfinite(v))
    if not finite:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * len(finite)))
    return float(finite[rank - 1])


def confusion(items: Sequence[Labelled]) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of the positive class.

    >>> confusion([Labelled("a", True, True), Labelled("b", False, True), Labelled("c", True, False)])
    (1, 1, 1, 0)
    """
    tp = sum(1 for i in items if i.expected and i.predicted)
    fp = sum(1 for i in items if not i.expected and i.predicted)
    fn = sum(1 for i in items if i.expected and not i.predicted)
    tn = sum(1 for i in items if not i.expected and not i.predicted)
    return tp, fp, fn, tn


def case_labels(results: Sequence[CaseResult], status: str) -> list[Labelled]:
    """The cases as gate-set items for one status ("red_flag" or "out_of_scope")."""
    return [
        Labelled(
            r.case.question,
            r.case.expected_status == status,
            r.answer.status == status,
            r.answer.status,
        )
        for r in results
    ]


def compute_metrics(
    results: Sequence[CaseResult],
    red_flag_set: Sequence[Labelled] = (),
    scope_set: Sequence[Labelled] = (),
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """(metrics, counts): flat metric values and the [num, den] of each rate."""
    counts: dict[str, list[float]] = {}

    def put(name: str, num: float, den: float) -> float:
        counts[name] = [num, den]
        return rate(num, den)

    m: dict[str, float] = {}
    n = len(results)
    m["cases"] = float(n)
    m["case_pass_rate"] = put("case_pass_rate", sum(r.passed for r in results), n)
    m["status_accuracy"] = put(
        "status_accuracy", sum(r.answer.status == r.case.expected_status for r in results), n
    )
    claims = [c for r in results for c in r.claims]
    w_all = sum(WEIGHTS[c.claim.weight] for c in claims)
    w_sup = sum(WEIGHTS[c.claim.weight] for c in claims if c.verdict.label is Label.SUPPORTED)
    m["claim_recall_weighted"] = put("claim_recall_weighted", w_sup, w_all)
    for weight in ("vital", "okay"):
        mine = [c for c in claims if c.claim.weight == weight]
        sup = sum(c.verdict.label is Label.SUPPORTED for c in mine)
        m[f"{weight}_claim_recall"] = put(f"{weight}_claim_recall", sup, len(mine))
    contra = [c for c in claims if c.verdict.label is Label.CONTRADICTED]
    m["contradictions"] = float(len(contra))
    m["vital_contradictions"] = float(sum(c.claim.weight == "vital" for c in contra))
    m["forbidden_hits"] = float(sum(len(r.forbidden_hits) for r in results))

    ranked = [r for r in results if r.case.gold]
    ours = score_ranks([r.gold_rank for r in ranked])
    m["retrieval_recall_at_1"] = ours.recall_at_1
    m["retrieval_recall_at_4"] = ours.recall_at_4
    m["retrieval_mrr"] = ours.mrr
    counts["retrieval"] = [float(ours.n), float(ours.n)]
    for name in ("retrieval_recall_at_1", "retrieval_recall_at_4", "retrieval_mrr"):
        counts[name] = [m[name] * ours.n, float(ours.n)]  # denominator 0: the gates say n/a

    cites = [c for r in results for c in r.citations]
    m["citations"] = float(len(cites))
    m["citation_verbatim_rate"] = put(
        "citation_verbatim_rate", sum(c.verbatim for c in cites), len(cites)
    )
    supported = [c for c in claims if c.supported_by_citation is not None]
    m["citation_support_rate"] = put(
        "citation_support_rate",
        sum(bool(c.supported_by_citation) for c in supported),
        len(supported),
    )
    m["promotional_citations"] = float(sum(c.promotional for c in cites))

    tp, fp, fn, tn = confusion([*case_labels(results, "red_flag"), *red_flag_set])
    m["red_flag_recall"] = put("red_flag_recall", tp, tp + fn)
    m["red_flag_false_alarm_rate"] = put("red_flag_false_alarm_rate", fp, fp + tn)
    tp, fp, fn, tn = confusion([*case_labels(results, "out_of_scope"), *scope_set])
    m["out_of_scope_precision"] = put("out_of_scope_precision", tp, tp + fp)
    m["out_of_scope_recall"] = put("out_of_scope_recall", tp, tp + fn)

    latencies = [r.latency_ms for r in results]
    m["latency_p50_ms"] = percentile(latencies, 50)
    m["latency_p95_ms"] = percentile(latencies, 95)
    assert all(math.isfinite(v) for v in m.values()), "a metric is not finite"
    return {k: round(v, 4) for k, v in m.items()}, counts


@dataclass
class Outcome:
    """What ``run_eval`` measured, before it becomes the report document."""

    results: list[CaseResult]
    red_flags: list[Labelled]
    scope: list[Labelled]
    peer_scores: dict[str, float | int] | None
    timings_s: dict[str, float]
