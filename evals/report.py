"""The eval report document (report.json) and its Markdown and JUnit renderings.

``build_report`` turns a measured run into one JSON-able dict, schema version "1" (fully
documented in ``evals/REPORT.md``). Top level: ``schema_version``; ``passed`` (every gate
passed or is n/a); ``run`` (started_at, git_commit, backend, model {embedding_model,
fingerprint}, prompts [{name, version}], timings_s, datasets [{path, sha256, items}],
dataset_hash); ``metrics`` (flat {name: number}) and ``metric_counts`` ({rate: [num, den]});
``retrieval`` {project, peer, peer_name} (n, recall@1, recall@4, mrr); ``gates`` [{name,
status pass|fail|n/a, detail, cases}]; ``baseline`` {regressions, new_failures, fixed,
missing}; ``gate_sets`` {red_flags, scope: {n, errors [{question, expected, got}]}};
``judge`` (null unless --judge); ``cases`` (per case: id, question, history, tags,
expected_status, actual_status, passed, why, baseline, answer, notices, verdicts, citations,
contexts, gold_rank, peer_gold_rank, forbidden_hits, latency_ms, backend, prompt). The writers
(``write_json``, ``write_markdown``, ``write_junit``) are thin; the HTML page is
``evals.report_html``. It computes no metric and applies no gate.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.gates import Comparison, GateResult
from evals.metrics import Outcome
from evals.retrieval import is_gold
from evals.scoring import CaseResult

SCHEMA_VERSION = "1"
PEER_NAME = "LangChain tutorial (RecursiveCharacterTextSplitter 1000/200, Chroma top-4)"
HEADLINE = (
    ("case_pass_rate", "cases passed"),
    ("status_accuracy", "status accuracy"),
    ("vital_claim_recall", "vital claim recall"),
    ("claim_recall_weighted", "claim recall (vital 2, okay 1)"),
    ("vital_contradictions", "vital contradictions"),
    ("contradictions", "contradictions"),
    ("citation_verbatim_rate", "citations verbatim"),
    ("citation_support_rate", "citation support"),
    ("promotional_citations", "promotional citations"),
    ("forbidden_hits", "forbidden matches"),
    ("retrieval_recall_at_1", "gold recall@1"),
    ("retrieval_recall_at_4", "gold recall@4"),
    ("retrieval_mrr", "gold MRR"),
    ("red_flag_recall", "red-flag recall"),
    ("red_flag_false_alarm_rate", "red-flag false alarms"),
    ("out_of_scope_precision", "out-of-scope precision"),
    ("out_of_scope_recall", "out-of-scope recall"),
    ("latency_p50_ms", "latency p50 (ms)"),
    ("latency_p95_ms", "latency p95 (ms)"),
)


def case_json(r: CaseResult, baseline_state: str) -> dict[str, Any]:
    anchors = [g.anchor for g in r.case.gold]
    return {
        "id": r.case.id,
        "question": r.case.question,
        "history": [{"role": m.role, "content": m.content} for m in r.case.history],
        "tags": list(r.case.tags),
        "expected_status": r.case.expected_status,
        "actual_status": r.answer.status,
        "passed": r.passed,
        "why": list(r.reasons),
        "baseline": baseline_state,
        "answer": r.answer.answer,
        "notices": list(r.answer.notices),
        "verdicts": [
            {
                "claim_id": c.claim.id,
                "claim": c.claim.text,
                "weight": c.claim.weight,
                "polarity": c.claim.polarity,
                "label": c.verdict.label.value,
                "evidence": c.verdict.evidence,
                "reason": c.verdict.reason,
                "cited": list(c.cited),
                "citation_supports": c.supported_by_citation,
            }
            for c in r.claims
        ],
        "citations": [
            {
                "marker": c.marker,
                "source": c.source,
                "start": c.start,
                "end": c.end,
                "quote": c.quote,
                "kind": c.kind,
                "corpus_kind": c.corpus_kind,
                "verbatim": c.verbatim,
                "promotional": c.promotional,
                "why": c.why,
            }
            for c in r.citations
        ],
        "contexts": [
            {**p.context_json(), "gold": bool(anchors) and is_gold(p.text, anchors)}
            for p in r.answer.contexts
        ],
        "gold_rank": r.gold_rank,
        "peer_gold_rank": r.peer_gold_rank,
        "forbidden_hits": list(r.forbidden_hits),
        "latency_ms": round(r.latency_ms, 3),
        "backend": r.answer.backend,
        "prompt": dict(r.answer.prompt),
    }


def build_report(
    outcome: Outcome,
    *,
    metrics: dict[str, float],
    counts: dict[str, list[float]],
    gates: Sequence[GateResult],
    comparison: Comparison,
    run: dict[str, Any],
) -> dict[str, Any]:
    prompts = sorted(
        {tuple(sorted(r.answer.prompt.items())) for r in outcome.results if r.answer.prompt}
    )
    states = {
        **{i: "regression" for i in comparison.regressions},
        **{i: "new" for i in comparison.new_failures},
    }
    project = {
        "n": 0,
        "recall@1": metrics["retrieval_recall_at_1"],
        "recall@4": metrics["retrieval_recall_at_4"],
        "mrr": metrics["retrieval_mrr"],
    }
    project["n"] = int(counts.get("retrieval", [0, 0])[0])
    return {
        "schema_version": SCHEMA_VERSION,
        "passed": all(g.status != "fail" for g in gates),
        "run": {**run, "prompts": [dict(p) for p in prompts]},
        "metrics": metrics,
        "metric_counts": counts,
        "retrieval": {"project": project, "peer": outcome.peer_scores, "peer_name": PEER_NAME},
        "gates": [g.as_dict() for g in gates],
        "baseline": comparison.as_dict(),
        "gate_sets": {
            name: {
                "n": len(items),
                "errors": [
                    {"question": i.question, "expected": i.expected, "got": i.status}
                    for i in items
                    if i.expected != i.predicted
                ],
            }
            for name, items in (("red_flags", outcome.red_flags), ("scope", outcome.scope))
        },
        "judge": None,
        "cases": [
            case_json(r, states.get(r.case.id, "pass" if r.passed else "known-failure"))
            for r in outcome.results
        ],
    }


def write_json(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _fmt(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.3f}"


def markdown(report: dict[str, Any]) -> str:
    """A summary fit for a CI step summary: verdict, gates, headline metrics, failing cases."""
    run, m, counts = report["run"], report["metrics"], report["metric_counts"]
    verdict = "PASSED" if report["passed"] else "FAILED"
    out = [
        f"## PHT eval: {verdict}",
        "",
        f"{int(m['cases'])} cases, backend `{run['backend']}`, model "
        f"`{run['model']['embedding_model']}`, commit `{run['git_commit'][:12]}`, "
        f"{run['timings_s'].get('total', 0):.1f} s.",
        "",
        "| gate | status | detail |",
        "|---|---|---|",
    ]
    for g in report["gates"]:
        cases = f" — cases: {', '.join(g['cases'])}" if g["cases"] else ""
        out.append(f"| {g['name']} | {g['status']} | {g['detail']}{cases} |")
    out += ["", "| metric | value | n |", "|---|---|---|"]
    for key, label in HEADLINE:
        n = counts.get(key)
        out.append(f"| {label} | {_fmt(m[key])} | {f'{_fmt(n[0])}/{_fmt(n[1])}' if n else ''} |")
    peer, ours = report["retrieval"]["peer"], report["retrieval"]["project"]
    out += [
        "",
        "| retriever | n | recall@1 | recall@4 | MRR |",
        "|---|---|---|---|---|",
        f"| this project | {ours['n']} | {ours['recall@1']:.3f} | {ours['recall@4']:.3f} "
        f"| {ours['mrr']:.3f} |",
    ]
    if peer:
        out.append(
            f"| {report['retrieval']['peer_name']} | {peer['n']} | {peer['recall@1']:.3f}"
            f" | {peer['recall@4']:.3f} | {peer['mrr']:.3f} |"
        )
    base = report["baseline"]
    out += [
        "",
        f"Baseline: {len(base['regressions'])} regression(s), {len(base['new_failures'])}"
        f" new failure(s), {len(base['fixed'])} fixed, {len(base['missing'])} missing.",
    ]
    failing = [c for c in report["cases"] if not c["passed"]]
    if failing:
        out += ["", "### Failing cases", "", "| case | baseline | why |", "|---|---|---|"]
        order = {"regression": 0, "new": 1, "known-failure": 2}
        for c in sorted(failing, key=lambda c: (order.get(c["baseline"], 3), c["id"])):
            why = "; ".join(c["why"]).replace("|", "\\|").replace("\n", " ")
            out.append(f"| `{c['id']}` | {c['baseline']} | {why} |")
    return "\n".join(out) + "\n"


def write_markdown(report: dict[str, Any], path: Path) -> None:
    path.write_text(markdown(report), encoding="utf-8")


def junit(report: dict[str, Any]) -> ET.Element:
    """One testcase per case (failure type regression / new-failure / known-failure) and one
    per gate."""
    root = ET.Element("testsuites", name="pht-eval")
    cases = report["cases"]
    suite = ET.SubElement(
        root,
        "testsuite",
        name="pht-eval.cases",
        tests=str(len(cases)),
        failures=str(sum(not c["passed"] for c in cases)),
        errors="0",
    )
    for c in cases:
        tc = ET.SubElement(
            suite,
            "testcase",
            classname="pht-eval.cases",
            name=c["id"],
            time=f"{c['latency_ms'] / 1000:.3f}",
        )
        if not c["passed"]:
            kind = {"regression": "regression", "new": "new-failure"}.get(
                c["baseline"], "known-failure"
            )
            fail = ET.SubElement(
                tc, "failure", type=kind, message=f"{c['id']}: " + "; ".join(c["why"])
            )
            fail.text = f"question: {c['question']}\nanswer: {c['answer']}"
    gates = report["gates"]
    gsuite = ET.SubElement(
        root,
        "testsuite",
        name="pht-eval.gates",
        tests=str(len(gates)),
        failures=str(sum(g["status"] == "fail" for g in gates)),
        errors="0",
    )
    for g in gates:
        tc = ET.SubElement(gsuite, "testcase", classname="pht-eval.gates", name=g["name"])
        if g["status"] == "fail":
            cases_txt = f" (cases: {', '.join(g['cases'])})" if g["cases"] else ""
            ET.SubElement(tc, "failure", type="gate", message=g["detail"] + cases_txt)
        elif g["status"] == "n/a":
            ET.SubElement(tc, "skipped", message=g["detail"])
    return root


def write_junit(report: dict[str, Any], path: Path) -> None:
    tree = ET.ElementTree(junit(report))
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
