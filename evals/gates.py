"""Gates of an eval run: metric floors (``evals/gates.yaml``) and regressions vs the baseline.

``check_floors`` compares the metrics with the floors set in ``evals/gates.yaml`` (the one
place they live) and names the cases behind a failing metric; ``compare_baseline`` compares
per-case pass/fail with the committed ``evals/baseline.json``: a case that passed there and
fails now is a REGRESSION and fails the run; a failing case the baseline does not know is
NEW (reported, never failing the run, so adding a hard case does not break CI); a case that
failed there and passes now is FIXED (run ``pht eval --update-baseline`` to lock it in).
``baseline_of`` makes the baseline document. Pure apart from ``load_gates`` / ``read_baseline``.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError
from evals.matcher import Label
from evals.scoring import CaseResult

GATES_FILE = Path(__file__).resolve().parent / "gates.yaml"
BASELINE_FILE = Path(__file__).resolve().parent / "baseline.json"
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": lambda a, b: abs(a - b) < 1e-9,
}


@dataclass(frozen=True)
class Floor:
    metric: str
    op: str
    value: float
    why: str = ""


@dataclass(frozen=True)
class Gates:
    floors: tuple[Floor, ...]
    promotion_label: tuple[str, ...]


@dataclass(frozen=True)
class GateResult:
    """One gate: ``status`` is "pass", "fail" or "n/a" (a rate over nothing)."""

    name: str
    status: str
    detail: str
    cases: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "cases": list(self.cases),
        }


@dataclass
class Comparison:
    regressions: list[str] = field(default_factory=list)
    new_failures: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the baseline, not run now

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "regressions": self.regressions,
            "new_failures": self.new_failures,
            "fixed": self.fixed,
            "missing": self.missing,
        }


def load_gates(path: Path = GATES_FILE) -> Gates:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        floors = tuple(
            Floor(str(f["metric"]), str(f["op"]), float(f["value"]), str(f.get("why", "")))
            for f in data["floors"]
        )
        label = tuple(str(p) for p in data.get("promotion_label", ()))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"The eval gates file {path} is unreadable ({exc}).") from exc
    bad = [f.op for f in floors if f.op not in _OPS]
    if bad:
        raise ConfigError(f"{path}: unknown floor operator(s) {bad}; use one of {list(_OPS)}.")
    return Gates(floors, label)


# Which cases to name when a metric's floor fails.
_CULPRITS: dict[str, Callable[[CaseResult], bool]] = {
    "citation_verbatim_rate": lambda r: any(not c.verbatim for c in r.citations),
    "promotional_citations": lambda r: any(c.promotional for c in r.citations),
    "vital_contradictions": lambda r: any(
        c.claim.weight == "vital" and c.verdict.label is Label.CONTRADICTED for c in r.claims
    ),
    "contradictions": lambda r: any(c.verdict.label is Label.CONTRADICTED for c in r.claims),
    "forbidden_hits": lambda r: bool(r.forbidden_hits),
    "red_flag_recall": lambda r: r.case.expected_status == "red_flag" != r.answer.status,
    "red_flag_false_alarm_rate": lambda r: r.answer.status == "red_flag" != r.case.expected_status,
    "out_of_scope_recall": lambda r: r.case.expected_status == "out_of_scope" != r.answer.status,
    "out_of_scope_precision": lambda r: r.answer.status == "out_of_scope" != r.case.expected_status,
    "status_accuracy": lambda r: r.answer.status != r.case.expected_status,
    "vital_claim_recall": lambda r: any(
        c.claim.weight == "vital" and c.verdict.label is not Label.SUPPORTED for c in r.claims
    ),
}


def check_floors(
    metrics: Mapping[str, float],
    counts: Mapping[str, Sequence[float]],
    floors: Sequence[Floor],
    results: Sequence[CaseResult] = (),
) -> list[GateResult]:
    """One ``GateResult`` per floor.

    >>> [g.status for g in check_floors({"x": 0.5, "y": 0.0}, {"y": [0, 0]},
    ...                                 [Floor("x", ">=", 0.6), Floor("y", ">=", 1.0)])]
    ['fail', 'n/a']
    """
    out = []
    for f in floors:
        if f.metric not in metrics:
            out.append(GateResult(f.metric, "fail", f"unknown metric {f.metric!r} in gates.yaml"))
            continue
        value = metrics[f.metric]
        detail = f"{f.metric} = {value:g} (floor {f.op} {f.value:g})"
        if f.metric in counts and not counts[f.metric][1]:
            out.append(GateResult(f.metric, "n/a", detail + ": nothing to measure"))
        elif _OPS[f.op](value, f.value):
            out.append(GateResult(f.metric, "pass", detail))
        else:
            pick = _CULPRITS.get(f.metric)
            names = tuple(r.case.id for r in results if pick and pick(r))
            out.append(
                GateResult(f.metric, "fail", detail + (f": {f.why}" if f.why else ""), names)
            )
    return out


def compare_baseline(
    results: Sequence[CaseResult], baseline: Mapping[str, Any] | None
) -> Comparison:
    """Per-case comparison with the baseline (``None``: every failure is new)."""
    before: Mapping[str, str] = (baseline or {}).get("cases", {})
    cmp = Comparison()
    for r in results:
        was = before.get(r.case.id)
        if was is None:
            if not r.passed:
                cmp.new_failures.append(r.case.id)
        elif was == "pass" and not r.passed:
            cmp.regressions.append(r.case.id)
        elif was == "fail" and r.passed:
            cmp.fixed.append(r.case.id)
    ran = {r.case.id for r in results}
    cmp.missing = sorted(k for k in before if k not in ran)
    return cmp


def regression_gate(cmp: Comparison, baseline_found: bool) -> GateResult:
    if not baseline_found:
        return GateResult("no-regressions", "n/a", "no baseline file: nothing to compare with")
    if cmp.regressions:
        return GateResult(
            "no-regressions",
            "fail",
            f"{len(cmp.regressions)} case(s) passed in the baseline and fail now",
            tuple(cmp.regressions),
        )
    return GateResult("no-regressions", "pass", "no case that passed in the baseline fails now")


def read_baseline(path: Path) -> dict[str, Any] | None:
    """The baseline document, ``None`` when the file does not exist."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"The eval baseline {path} is unreadable ({exc}).",
            "Regenerate it with `pht eval --update-baseline`.",
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("cases"), dict):
        raise ConfigError(
            f"The eval baseline {path} has no 'cases' mapping.",
            "Regenerate it with `pht eval --update-baseline`.",
        )
    return data


def baseline_of(report: Mapping[str, Any]) -> dict[str, Any]:
    """The baseline document for a report: per-case pass/fail and the metric values."""
    run = report["run"]
    return {
        "schema_version": "1",
        "note": "Written by `pht eval --update-baseline`; compared by evals/gates.py.",
        "git_commit": run["git_commit"],
        "backend": run["backend"],
        "dataset_hash": run["dataset_hash"],
        "metrics": dict(report["metrics"]),
        "cases": {c["id"]: "pass" if c["passed"] else "fail" for c in report["cases"]},
    }
