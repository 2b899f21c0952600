"""A self-contained HTML page of an eval report: metrics overview and per-case drill-down.

``render_html(report)`` takes the report.json document and returns one HTML page with inline
CSS, no scripts and no external assets (it opens from a CI artifact or an email). Every text
that comes from a case, an answer or a corpus quote is HTML-escaped. Each case is a
``<details>`` element (failing ones open): question, answer, notices, claims with verdicts and
evidence, citations with their quotes and checks, retrieved contexts with their gold marks.
It computes nothing; the numbers are the report's.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from evals.report import HEADLINE

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#1d232a;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccd;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#eef}
.pass{color:#176b2c;font-weight:600}.fail{color:#b3261e;font-weight:600}.na{color:#777}
details{border:1px solid #ccd;border-radius:6px;margin:.4rem 0;padding:.3rem .7rem}
details[open]{background:#fafbff}summary{cursor:pointer}
.answer{white-space:pre-wrap;background:#fff;border-left:3px solid #99b;padding:.4rem .7rem}
.quote{white-space:pre-wrap;font-style:italic}.small{color:#555;font-size:.85rem}
.SUPPORTED{color:#176b2c}.CONTRADICTED{color:#b3261e;font-weight:600}.ABSENT{color:#8a5a00}
.ABSTAINED{color:#777}
"""


def _e(x: object) -> str:
    return escape(str(x), quote=True)


def _status(s: str) -> str:
    cls = {"pass": "pass", "fail": "fail"}.get(s, "na")
    return f'<span class="{cls}">{_e(s)}</span>'


def _num(v: float) -> str:
    return f"{v:.0f}" if float(v).is_integer() else f"{v:.3f}"


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _case(c: dict[str, Any]) -> str:
    head = (
        f"{_status('pass' if c['passed'] else 'fail')} <code>{_e(c['id'])}</code> — "
        f"{_e(c['question'] or '(empty question)')} "
        f'<span class="small">[{_e(c["actual_status"])}; expected '
        f"{_e(c['expected_status'])}; baseline {_e(c['baseline'])}]</span>"
    )
    parts = [f"<details{' open' if not c['passed'] else ''}><summary>{head}</summary>"]
    if c["why"]:
        parts.append(
            "<p><b>Why it fails:</b></p><ul>"
            + "".join(f"<li>{_e(w)}</li>" for w in c["why"])
            + "</ul>"
        )
    for turn in c["history"]:
        parts.append(f'<p class="small">history — {_e(turn["role"])}: {_e(turn["content"])}</p>')
    parts.append(f"<p><b>Question:</b> {_e(c['question'])}</p>")
    parts.append(f'<div class="answer">{_e(c["answer"])}</div>')
    if c["notices"]:
        parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in c["notices"]) + "</ul>")
    if c["verdicts"]:
        rows = [
            [
                _e(v["claim_id"]),
                _e(v["weight"]),
                _e(v["claim"]),
                f'<span class="{_e(v["label"])}">{_e(v["label"])}</span>',
                _e(v["evidence"]) + f'<div class="small">{_e(v["reason"])}</div>',
                _e(", ".join(f"[{m}]" for m in v["cited"]))
                + (
                    ""
                    if v["citation_supports"] is None
                    else f" {'supports' if v['citation_supports'] else 'does not support'}"
                ),
            ]
            for v in c["verdicts"]
        ]
        parts.append(_table(["claim", "weight", "text", "verdict", "evidence", "cited"], rows))
    if c["citations"]:
        rows = [
            [
                f"[{c2['marker']}]",
                _e(f"{c2['source']}:{c2['start']}-{c2['end']}"),
                f'<span class="quote">{_e(c2["quote"])}</span>',
                _e(c2["kind"])
                + (f" / corpus {_e(c2['corpus_kind'])}" if c2["corpus_kind"] else ""),
                _status("pass" if c2["verbatim"] else "fail"),
                _status("fail" if c2["promotional"] else "pass") + f" {_e(c2['why'])}",
            ]
            for c2 in c["citations"]
        ]
        parts.append(_table(["#", "span", "quote", "kind", "verbatim", "not promotional"], rows))
    if c["contexts"]:
        rows = [
            [
                str(i),
                _e(f"{p['source']}:{p['start']}-{p['end']}"),
                _e(p["score"]),
                "gold" if p["gold"] else "",
                f'<span class="small">{_e(p["text"][:300])}</span>',
            ]
            for i, p in enumerate(c["contexts"], start=1)
        ]
        parts.append(f"<p>Gold rank: {_e(c['gold_rank'])} (peer: {_e(c['peer_gold_rank'])})</p>")
        parts.append(_table(["rank", "span", "score", "gold", "text"], rows))
    if c["forbidden_hits"]:
        parts.append(f'<p class="fail">Forbidden: {_e(", ".join(c["forbidden_hits"]))}</p>')
    parts.append(f'<p class="small">{_e(c["latency_ms"])} ms, backend {_e(c["backend"])}</p>')
    return "".join(parts) + "</details>"


def render_html(report: dict[str, Any]) -> str:
    run, m, counts = report["run"], report["metrics"], report["metric_counts"]
    verdict = "PASSED" if report["passed"] else "FAILED"
    gates = _table(
        ["gate", "status", "detail", "cases"],
        [
            [_e(g["name"]), _status(g["status"]), _e(g["detail"]), _e(", ".join(g["cases"]))]
            for g in report["gates"]
        ],
    )
    metrics = _table(
        ["metric", "value", "num / den"],
        [
            [
                _e(label),
                _e(_num(m[key])),
                _e(f"{_num(counts[key][0])} / {_num(counts[key][1])}") if key in counts else "",
            ]
            for key, label in HEADLINE
        ],
    )
    ret = report["retrieval"]
    rrows = [["this project", ret["project"]]] + (
        [[ret["peer_name"], ret["peer"]]] if ret["peer"] else []
    )
    retrieval = _table(
        ["retriever", "n", "recall@1", "recall@4", "MRR"],
        [
            [_e(name), _e(s["n"]), _e(s["recall@1"]), _e(s["recall@4"]), _e(s["mrr"])]
            for name, s in rrows
        ],
    )
    base = report["baseline"]
    base_rows = [[_e(k), _e(", ".join(v) or "—")] for k, v in base.items()]
    sets = _table(
        ["gate set", "items", "misclassified"],
        [
            [
                _e(name),
                _e(s["n"]),
                "<br>".join(_e(f"{e['question']} (got {e['got']})") for e in s["errors"]),
            ]
            for name, s in report["gate_sets"].items()
        ],
    )
    judge = ""
    if report.get("judge"):
        j = report["judge"]
        judge = "<h2>LLM judge (not gating)</h2>" + _table(
            ["case", "claim", "matcher", "judge"],
            [
                [_e(d["case"]), _e(d["claim"]), _e(d["matcher"]), _e(d["judge"])]
                for d in j.get("disagreements", [])
            ],
        )
    cases = "".join(_case(c) for c in sorted(report["cases"], key=lambda c: (c["passed"], c["id"])))
    info = (
        f"{_e(int(m['cases']))} cases · backend {_e(run['backend'])} · model "
        f"{_e(run['model']['embedding_model'])} ({_e(run['model']['fingerprint'])}) · commit "
        f"{_e(run['git_commit'])} · dataset {_e(run['dataset_hash'][:12])} · "
        f"{_e(run['started_at'])}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>PHT eval: {verdict}</title><style>{CSS}</style></head><body>"
        f'<h1>PHT eval: <span class="{"pass" if report["passed"] else "fail"}">{verdict}</span>'
        f'</h1><p class="small">{info}</p><h2>Gates</h2>{gates}<h2>Metrics</h2>{metrics}'
        f"<h2>Retrieval: gold passage rank</h2>{retrieval}<h2>Baseline</h2>"
        f"{_table(['', 'cases'], base_rows)}<h2>Gate sets</h2>{sets}{judge}"
        f"<h2>Cases</h2>{cases}</body></html>\n"
    )


def write_html(report: dict[str, Any], path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")
