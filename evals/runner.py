"""Run the offline evaluation: ask every case once, score it, gate the run, build the report.

``load_inputs`` reads the datasets (case files, the labelled red-flag set and the scope test
split) and hashes them; ``read_corpus`` reads the raw corpus files the way the citation check
needs them (``read_bytes().decode("utf-8-sig")``, keyed ``corpus/<file>``) and the kind of
every sentence as ingestion classifies it; ``run_eval`` asks the ``AnswerService`` (loaded once
by the caller) every case and gate-set question, scores the answers (``evals.scoring``), ranks
the gold passages for the project's contexts and for an optional peer retriever, computes the
metrics, applies the floors and the baseline, and returns the report document
(``evals.report`` documents its schema and writes the files). It prints nothing: progress
goes to a callback. It does not load the model or parse arguments (``evals.cli`` does).
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from assistant.models import AnswerService, Turn
from evals.dataset import DATASETS, Case, DatasetError, check_anchors, load_cases, load_scope
from evals.gates import Gates, check_floors, compare_baseline, regression_gate
from evals.metrics import Labelled, Outcome, compute_metrics
from evals.retrieval import gold_rank, score_ranks
from evals.scoring import CaseResult, SpanKind, score_case
from ingest.classify import classify_blocks, sentence_kind
from ingest.load import load_corpus
from ingest.models import BlockKind
from ingest.segment import segment_blocks, split_sentences

Progress = Callable[[str], None]
Peer = Callable[[str], Sequence[Any]]  # query -> ranked passages with a ``.text``


@dataclass(frozen=True)
class DatasetFile:
    path: str
    sha256: str
    items: int


@dataclass
class Inputs:
    cases: list[Case]
    red_flags: list[tuple[str, bool]] = field(default_factory=list)  # (question, is red flag)
    scope: list[tuple[str, bool]] = field(default_factory=list)  # (question, is OUT of scope)
    files: list[DatasetFile] = field(default_factory=list)

    @property
    def dataset_hash(self) -> str:
        h = hashlib.sha256()
        for f in self.files:
            h.update(f"{Path(f.path).name}:{f.sha256}\n".encode())
        return h.hexdigest()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_inputs(
    case_paths: Sequence[Path] = (), *, gate_sets: bool = True, datasets_dir: Path = DATASETS
) -> Inputs:
    """Case files (default ``evals/datasets/cases*.yaml``) and, unless ``gate_sets`` is
    False, the red-flag set and the test split of the scope set."""
    paths = list(case_paths) or sorted(datasets_dir.glob("cases*.yaml"))
    cases = load_cases(paths)
    files = [DatasetFile(str(p), _sha(p), len(load_cases([p]))) for p in paths]
    inputs = Inputs(cases, files=files)
    if gate_sets:
        rf_path = datasets_dir / "red_flags.yaml"
        try:
            items = yaml.safe_load(rf_path.read_text(encoding="utf-8"))["items"]
            inputs.red_flags = [(str(i["question"]), bool(i["red_flag"])) for i in items]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise DatasetError(f"{rf_path}: unreadable red-flag set ({exc}).") from exc
        scope_path = datasets_dir / "scope.yaml"
        inputs.scope = [
            (s.question, not s.in_scope) for s in load_scope(scope_path) if s.split == "test"
        ]
        inputs.files += [
            DatasetFile(str(rf_path), _sha(rf_path), len(inputs.red_flags)),
            DatasetFile(str(scope_path), _sha(scope_path), len(inputs.scope)),
        ]
    return inputs


def read_corpus(corpus_dir: Path) -> tuple[dict[str, str], SpanKind]:
    """Raw texts keyed ``corpus/<file>`` (relative to the corpus folder's parent) and the
    kind of every sentence (content blocks) or block (other kinds), as ingestion decides it."""
    raws: dict[str, str] = {}
    kinds: dict[str, list[tuple[int, int, str]]] = {}
    for doc in load_corpus(corpus_dir).docs:
        path = corpus_dir.resolve().parent / doc.source
        raws[doc.source] = path.read_bytes().decode("utf-8-sig")
        spans = kinds.setdefault(doc.source, [])
        for b in classify_blocks(segment_blocks(doc.raw, doc.source), author=doc.author):
            if b.kind != BlockKind.CONTENT:
                spans.append((b.start, b.end, b.kind.value))
                continue
            for s, e in split_sentences(doc.raw, b.start, b.end):
                spans.append((s, e, sentence_kind(doc.raw[s:e]).value))
    return raws, kinds


def git_commit(where: Path) -> str:
    """``git rev-parse HEAD`` of ``where``, "unknown" when it is not a repository."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def run_eval(
    service: AnswerService,
    inputs: Inputs,
    *,
    corpus_dir: Path,
    gates: Gates,
    peer: Peer | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Ask and score every case, then the gate-set questions (answers are not kept)."""
    tick = progress or (lambda _name: None)
    t0 = time.perf_counter()
    raws, kinds = read_corpus(corpus_dir)
    spans = {
        (a.case_id, a.where.removeprefix("claim:")): (a.start, a.end)
        for a in check_anchors(inputs.cases, corpus_dir.resolve().parent)
        if a.where.startswith("claim:")
    }
    results: list[CaseResult] = []
    peer_ranks: list[int | None] = []
    for case in inputs.cases:
        history = [Turn(m.role, m.content) for m in case.history]
        answer = service.ask(case.question, history)
        rank = None
        if peer is not None and case.gold:
            query = answer.standalone_question or case.question
            rank = gold_rank(list(peer(query)), [g.anchor for g in case.gold])
            peer_ranks.append(rank)
        results.append(
            score_case(
                case,
                answer,
                raws=raws,
                kinds=kinds,
                anchor_spans=spans,
                promotion_label=gates.promotion_label,
                peer_rank=rank,
            )
        )
        tick(case.id)
    t1 = time.perf_counter()
    red = [_labelled(service, q, flag, "red_flag", tick) for q, flag in inputs.red_flags]
    scope = [_labelled(service, q, out, "out_of_scope", tick) for q, out in inputs.scope]
    t2 = time.perf_counter()
    return Outcome(
        results,
        red,
        scope,
        score_ranks(peer_ranks).as_dict() if peer is not None else None,
        {"cases": round(t1 - t0, 3), "gate_sets": round(t2 - t1, 3)},
    )


def _labelled(
    service: AnswerService, question: str, expected: bool, status: str, tick: Progress
) -> Labelled:
    got = service.ask(question).status
    tick(question[:30])
    return Labelled(question, expected, got == status, got)


def evaluate(
    outcome: Outcome,
    *,
    gates: Gates,
    baseline: dict[str, Any] | None,
    inputs: Inputs,
    meta: dict[str, Any],
    extra: Mapping[str, tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """The report document: metrics, gates, baseline comparison and every case. ``extra``
    metrics (numerator, denominator) join the computed ones before the floors are checked."""
    from evals.report import build_report

    metrics, counts = compute_metrics(outcome.results, outcome.red_flags, outcome.scope)
    for name, (num, den) in (extra or {}).items():
        metrics[name] = round(num / den, 4) if den else 0.0
        counts[name] = [num, den]
    gate_results = check_floors(metrics, counts, gates.floors, outcome.results)
    cmp = compare_baseline(outcome.results, baseline)
    gate_results.append(regression_gate(cmp, baseline is not None))
    run = {
        **meta,
        "started_at": meta.get("started_at") or datetime.now(UTC).isoformat(timespec="seconds"),
        "timings_s": {**meta.get("timings_s", {}), **outcome.timings_s},
        "datasets": [vars(f) for f in inputs.files],
        "dataset_hash": inputs.dataset_hash,
    }
    return build_report(
        outcome, metrics=metrics, counts=counts, gates=gate_results, comparison=cmp, run=run
    )
