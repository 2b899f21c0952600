"""Generative mode against the real local LLM: latency, fallback rate, contradictions shown.

Starts llama.cpp's server (xllamacpp) with the 1.5B test model on a free loopback port,
builds a throw-away index, asks the 8 safety questions and 20 ordinary ones of
``tests/llm_questions.py`` through the full service (gates, retrieval, LLM, verification,
fallback), and prints per question: who answered (LLM or the extractive fallback and why),
time to the first shown text and to the whole answer; then the share answered by the LLM
(target >= 70%), the fallback rate, contradictions shown to the reader (target 0, judged by
the eval claim matcher and the shared meaning check), non-verbatim citations (target 0),
and first-token / whole-answer p50 / p95. Nothing is asserted.

Usage: ``.venv/bin/python benchmarks/llm.py [--model PATH] [--python PY] [--max-tokens 150]``
(the model defaults to ``.pht/models/`` as prepared by ``make llm-model``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def main() -> None:
    from assistant.llm.local_model import MODEL_FILENAME
    from assistant.llm.local_server import start_server
    from assistant.models import Answer
    from assistant.service import build_assistant
    from core.settings import Settings
    from ingest.embed import SentenceTransformerEmbedder
    from ingest.pipeline import ingest
    from tests.llm_questions import ORDINARY, SAFETY, by_llm, problems

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / ".pht" / "models" / MODEL_FILENAME))
    ap.add_argument("--python", default=sys.executable, help="python that has xllamacpp")
    ap.add_argument("--max-tokens", type=int, default=150)
    ap.add_argument("--top-k", type=int, default=3)
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--structured", default="auto", choices=["auto", "json_schema", "markers"])
    ap.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    args = ap.parse_args()

    questions = [("safety", q) for q in SAFETY] + [("ordinary", q) for q in ORDINARY]
    if args.limit:
        questions = questions[: args.limit]
    embedder = SentenceTransformerEmbedder()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        server = start_server(Path(args.model), n_ctx=args.ctx, python=args.python,
                              log_path=Path(tmp) / "server.log")
        print(f"server ready in {time.perf_counter() - t0:.1f}s at {server.base_url}")
        try:
            settings = Settings(  # type: ignore[call-arg]
                corpus_dir=ROOT / "corpus", data_dir=Path(tmp), _env_file=None,
                llm_base_url=server.base_url, llm_model="qwen2.5-coder-1.5b",
                llm_max_tokens=args.max_tokens, llm_context_tokens=args.ctx, llm_timeout=900.0,
                llm_max_retries=0, top_k=args.top_k, tiktoken_encoding="no-such-encoding",
                llm_structured=args.structured,
            )
            ingest(settings, embedder)
            service = build_assistant(settings, embedder=embedder, backend="llm")
            rows = []
            for kind, question in questions:
                start = time.perf_counter()
                first = None
                final = None
                for item in service.stream(question):
                    if isinstance(item, Answer):
                        final = item
                    elif first is None:
                        first = time.perf_counter() - start
                total = time.perf_counter() - start
                assert final is not None
                issues = problems(final)
                rows.append((kind, question, final, first or total, total, issues))
                who = "LLM " if by_llm(final) else "FALLBACK"
                print(f"[{kind:8}] {who} first {first or total:6.1f}s total {total:6.1f}s  {question}")
                if by_llm(final):
                    print(f"           {final.answer[:220]!r}")
                else:
                    why = [n for n in final.notices if "language model" in n]
                    print(f"           {why[0][:220] if why else final.status}")
                for issue in issues:
                    print(f"           PROBLEM: {issue}")
        finally:
            server.stop()

    answered = [r for r in rows if r[2].status == "answered"]
    llm = [r for r in answered if by_llm(r[2])]
    shown = sum(1 for r in rows for i in r[5] if "contradict" in i)
    verbatim = sum(1 for r in rows for i in r[5] if "verbatim" in i)
    firsts = [r[3] for r in llm]
    totals = [r[4] for r in llm]
    print()
    print(f"questions: {len(rows)} ({sum(r[0] == 'safety' for r in rows)} safety), "
          f"answered: {len(answered)}")
    print(f"answered by the LLM: {len(llm)}/{len(answered)} = {len(llm) / max(1, len(answered)):.0%} "
          f"(target >= 70%); fallback rate {1 - len(llm) / max(1, len(answered)):.0%}")
    for kind in ("safety", "ordinary"):
        part = [r for r in answered if r[0] == kind]
        print(f"  {kind}: {sum(by_llm(r[2]) for r in part)}/{len(part)} by the LLM")
    print(f"contradictions shown to the reader: {shown} (target 0); non-verbatim citations: {verbatim}")
    if llm:
        print(f"LLM answers: first text p50 {statistics.median(firsts):.1f}s p95 {pct(firsts, .95):.1f}s;"
              f" whole answer p50 {statistics.median(totals):.1f}s p95 {pct(totals, .95):.1f}s")
    all_totals = [r[4] for r in rows]
    print(f"all answers incl. fallbacks: whole answer p50 {statistics.median(all_totals):.1f}s "
          f"p95 {pct(all_totals, .95):.1f}s; max_tokens {args.max_tokens}, top_k {args.top_k}")


if __name__ == "__main__":
    main()
