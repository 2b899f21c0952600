"""``pht eval``: run the offline evaluation suite, write the reports, gate the run.

``pht eval [--dataset PATH...] [--backend extractive|llm] [--out DIR] [--baseline PATH]
[--update-baseline] [--judge] [--no-gate-sets] [--no-peer] [--quiet]`` loads the assistant
once, asks every case (and the red-flag and scope gate sets), writes ``report.json``,
``report.md``, ``junit.xml`` and ``report.html`` to ``--out`` (default ``eval-out/``), prints
the gates, and exits 0 when every gate passes, 1 when one fails (naming the gate and the
cases). ``--update-baseline`` rewrites the baseline from this run first (floors still apply).
``cmd_eval`` takes an optional ready ``AnswerService`` so tests can drive the real command
with a fake. Configuration errors surface as ``PHTError`` (exit 2 in ``cli.main``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from assistant.models import AnswerService
from core.settings import Settings
from evals.dataset import DatasetError
from evals.gates import BASELINE_FILE, baseline_of, load_gates, read_baseline


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    p = sub.add_parser("eval", help="run the offline evaluation suite and gate on its results")
    p.add_argument(
        "--dataset",
        nargs="+",
        type=Path,
        action="extend",
        metavar="PATH",
        help="case files (default: evals/datasets/cases*.yaml)",
    )
    p.add_argument(
        "--backend",
        choices=["extractive", "llm"],
        default="extractive",
        help="answerer to evaluate (default: extractive)",
    )
    p.add_argument("--out", type=Path, default=Path("eval-out"), help="report folder")
    p.add_argument(
        "--baseline",
        type=Path,
        default=BASELINE_FILE,
        help="per-case pass/fail to compare with (default: evals/baseline.json)",
    )
    p.add_argument(
        "--update-baseline", action="store_true", help="rewrite the baseline from this run"
    )
    p.add_argument(
        "--judge",
        action="store_true",
        help="also ask the LLM at PHT_LLM_BASE_URL to judge claims (not gating)",
    )
    p.add_argument(
        "--no-gate-sets", action="store_true", help="skip the red-flag and scope question sets"
    )
    p.add_argument(
        "--no-peer", action="store_true", help="skip the LangChain-tutorial retriever comparison"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_eval)


class _Bar:
    """A tqdm progress bar on stderr (silent when disabled)."""

    def __init__(self, total: int, disable: bool):
        from tqdm import tqdm

        self._bar = tqdm(
            total=total, desc="Evaluating", unit="q", file=sys.stderr, disable=disable, leave=False
        )

    def __call__(self, name: str) -> None:
        self._bar.set_postfix_str(name[:30], refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


@contextmanager
def _one_torch_thread(active: bool) -> Iterator[None]:
    """Run the suite with one torch thread, then restore the previous count.

    The embedder already uses one thread per query; this also covers building the tutorial
    retriever's index, which on a busy 2-core CI runner was several times slower with two.
    """
    try:
        import torch
    except ImportError:
        active = False
    if not active:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _model_info(service: Any, settings: Settings) -> dict[str, str]:
    emb = getattr(service, "embedder", None)
    name = getattr(emb, "name", None) or settings.embedding_model
    fp = emb.fingerprint() if emb is not None and hasattr(emb, "fingerprint") else "unknown"
    return {"embedding_model": str(name), "fingerprint": str(fp)}


def cmd_eval(
    args: argparse.Namespace,
    service: AnswerService | None = None,
    out: TextIO | None = None,
    settings: Settings | None = None,
) -> int:
    from evals.report import write_json, write_junit, write_markdown
    from evals.report_html import write_html
    from evals.runner import evaluate, git_commit, load_inputs, run_eval

    out = out or sys.stdout
    t_start = time.perf_counter()
    settings = settings or Settings()
    gates = load_gates()
    if args.update_baseline and _case_files(args.dataset) and args.baseline.resolve() == BASELINE_FILE.resolve():
        raise DatasetError(
            "Refusing to rewrite the committed baseline from a subset of the cases (--dataset): "
            "every other case would lose its baseline.",
            "Give --baseline PATH for the subset, or drop --dataset.",
        )
    from evals.labelled_run import default_labelled_paths, markdown, run_labelled
    from evals.realq import is_labelled_file

    given = list(args.dataset or ())
    labelled = [p for p in given if p.suffix in (".json", ".yaml", ".yml") and is_labelled_file(p)]
    case_files = [p for p in given if p not in labelled]
    notes: list[str] = []
    if not given:  # a run on chosen --dataset files asks only those
        labelled, notes = default_labelled_paths()
    inputs = load_inputs(case_files, gate_sets=not args.no_gate_sets)
    if not inputs.cases:
        raise DatasetError("No evaluation cases were loaded.", "Check the --dataset files.")
    baseline = read_baseline(args.baseline)
    timings: dict[str, float] = {}
    with _one_torch_thread(active=service is None):
        t = time.perf_counter()
        if service is None:
            from assistant.service import build_assistant

            service = build_assistant(settings, backend=args.backend)
        timings["load"] = round(time.perf_counter() - t, 3)
        peer = None
        embedder = getattr(service, "embedder", None)
        if not args.no_peer and embedder is not None:
            from evals.retrieval import TutorialRetriever

            t = time.perf_counter()
            peer = TutorialRetriever(settings.corpus_dir, embedder).search
            timings["peer_build"] = round(time.perf_counter() - t, 3)
        bar = _Bar(len(inputs.cases) + len(inputs.red_flags) + len(inputs.scope), args.quiet)
        try:
            outcome = run_eval(
                service,
                inputs,
                corpus_dir=settings.corpus_dir,
                gates=gates,
                peer=peer,
                progress=bar,
            )
            section, extra = run_labelled(
                service, labelled, gate_sets=not args.no_gate_sets, progress=bar
            )
        finally:
            bar.close()
    meta = {
        "backend": service.backend_name,
        "model": _model_info(service, settings),
        "git_commit": git_commit(Path.cwd()),
        "timings_s": timings,
    }
    report = evaluate(
        outcome, gates=gates, baseline=baseline, inputs=inputs, meta=meta, extra=extra
    )
    if args.update_baseline:
        new = baseline_of(report)
        args.baseline.parent.mkdir(parents=True, exist_ok=True)
        args.baseline.write_text(json.dumps(new, indent=2) + "\n", encoding="utf-8")
        report = evaluate(
            outcome, gates=gates, baseline=new, inputs=inputs, meta=meta, extra=extra
        )
        print(f"Baseline written to {args.baseline}.", file=out)
    if args.judge:
        report["judge"] = _judge(report, settings, out)
    report["run"]["timings_s"]["total"] = round(time.perf_counter() - t_start, 3)
    args.out.mkdir(parents=True, exist_ok=True)
    report["labelled"] = {**section, "notes": notes}
    write_json(report, args.out / "report.json")
    write_markdown(report, args.out / "report.md")
    with (args.out / "report.md").open("a", encoding="utf-8") as fh:
        fh.write(markdown(section, notes))
    write_junit(report, args.out / "junit.xml")
    write_html(report, args.out / "report.html")
    print(summary(report, args.out), file=out)
    return 0 if report["passed"] else 1


def _case_files(paths: list[Path] | None) -> list[Path]:
    from evals.realq import is_labelled_file

    return [p for p in paths or () if not is_labelled_file(p)]


def _judge(report: dict[str, Any], settings: Settings, out: TextIO) -> dict[str, Any] | None:
    if not settings.llm_base_url:
        print("LLM judge skipped: set PHT_LLM_BASE_URL to use --judge.", file=out)
        return None
    from evals.judge import Judge, judge_report

    return judge_report(report, Judge(settings))


def summary(report: dict[str, Any], out_dir: Path) -> str:
    """What the command prints: verdict, failing gates with their cases, key numbers."""
    m = report["metrics"]
    lines = [
        f"PHT eval {'PASSED' if report['passed'] else 'FAILED'}: "
        f"{round(m['case_pass_rate'] * m['cases'])}/{int(m['cases'])} cases pass; "
        f"vital claim recall {m['vital_claim_recall']:.3f}, citations verbatim "
        f"{m['citation_verbatim_rate']:.3f}, red-flag recall {m['red_flag_recall']:.3f}, "
        f"gold recall@4 {m['retrieval_recall_at_4']:.3f}, p95 {m['latency_p95_ms']:.0f} ms, "
        f"{report['run']['timings_s'].get('total', 0):.1f} s."
    ]
    for g in report["gates"]:
        if g["status"] == "fail":
            cases = f" — case(s): {', '.join(g['cases'])}" if g["cases"] else ""
            lines.append(f"GATE FAILED {g['name']}: {g['detail']}{cases}")
    by_id = {c["id"]: c for c in report["cases"]}
    for case_id in report["baseline"]["regressions"]:
        lines.append(f"  REGRESSION {case_id}: {'; '.join(by_id[case_id]['why'])}")
    if report["baseline"]["new_failures"]:
        lines.append(
            "New failing cases (not in the baseline, not gating): "
            + ", ".join(report["baseline"]["new_failures"])
        )
    if report["baseline"]["fixed"]:
        lines.append(
            "Fixed since the baseline (run --update-baseline to keep them fixed): "
            + ", ".join(report["baseline"]["fixed"])
        )
    if report.get("judge"):
        lines.append(
            f"LLM judge: {len(report['judge']['disagreements'])} disagreement(s) "
            "with the matcher (not gating)."
        )
    for name, s in report.get("labelled", {}).get("sets", {}).items():
        shapes = ", ".join(f"{k} {c['passed']}/{c['n']}" for k, c in s["by_shape"].items())
        lines.append(f"{name}: {s['passed']}/{s['n']} pass, {s['with_filler']} with filler ({shapes})")
    for note in report.get("labelled", {}).get("notes", []):
        lines.append(f"Note: {note}")
    for name, c in report.get("labelled", {}).get("narrative_gates", {}).items():
        tail = ""
        if "urgent" in c:
            tail = f", urgent answered as urgent {c['urgent_kept']}/{c['urgent']}"
        elif "mixed" in c:
            tail = f", in-scope mixed messages naming the part not covered {c['mixed_named']}/{c['mixed']}"
        lines.append(f"narrative {name}: tp {c['tp']} fp {c['fp']} fn {c['fn']} tn {c['tn']}{tail}")
    lines.append(f"Reports: {out_dir}/report.md, report.html, report.json, junit.xml")
    return "\n".join(lines)
