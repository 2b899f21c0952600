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
import logging
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


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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
    ap.add_argument("--only", default="", help="ask only the questions containing this text")
    ap.add_argument(
        "--raw", action="store_true", help="print each raw completion and every notice (diagnosis)"
    )
    args = ap.parse_args()

    questions = [("safety", q) for q in SAFETY] + [("ordinary", q) for q in ORDINARY]
    if args.only:
        questions = [(k, q) for k, q in questions if args.only.lower() in q.lower()]
    if args.limit:
        questions = questions[: args.limit]
    if args.raw:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("           RAW %(message)s"))
        raw_log = logging.getLogger("assistant.llm.answerer")
        raw_log.setLevel(logging.DEBUG)
        raw_log.addHandler(handler)
    embedder = SentenceTransformerEmbedder()
    load_before = _load()
    floor_ms = []
    for _kind, q in questions[:10]:
        t = time.perf_counter()
        embedder.embed([q])
        floor_ms.append((time.perf_counter() - t) * 1000)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        server = start_server(
            Path(args.model), n_ctx=args.ctx, python=args.python, log_path=Path(tmp) / "server.log"
        )
        print(f"server ready in {time.perf_counter() - t0:.1f}s at {server.base_url}")
        try:
            settings = Settings(
                corpus_dir=ROOT / "corpus",
                data_dir=Path(tmp),
                _env_file=None,
                llm_base_url=server.base_url,
                llm_model="qwen2.5-coder-1.5b",
                llm_max_tokens=args.max_tokens,
                llm_context_tokens=args.ctx,
                llm_timeout=900.0,
                llm_max_retries=0,
                top_k=args.top_k,
                tiktoken_encoding="no-such-encoding",
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
                print(
                    f"[{kind:8}] {who} first {first or total:6.1f}s total {total:6.1f}s  {question}"
                )
                if by_llm(final):
                    print(f"           {final.answer[:220]!r}")
                else:
                    why = [n for n in final.notices if "language model" in n]
                    print(f"           {why[0][:220] if why else final.status}")
                for issue in issues:
                    print(f"           PROBLEM: {issue}")
                if args.raw:
                    for notice in final.notices:
                        print(f"           NOTICE {notice[:300]}")
        finally:
            server.stop()

    answered = [r for r in rows if r[2].status == "answered"]
    llm = [r for r in answered if by_llm(r[2])]
    flagged = [(r[1], i) for r in rows for i in r[5] if "contradict" in i]
    cites = [c for r in answered for c in r[2].citations]
    not_verbatim = sum(1 for r in rows for i in r[5] if "verbatim" in i)
    firsts = [r[3] for r in llm]
    totals = [r[4] for r in llm]
    share = len(llm) / max(1, len(answered))
    print()
    print(
        f"load average: {load_before} at start, {_load()} at the end ({os.cpu_count()} cores); "
        f"bare query embedding p50 {statistics.median(floor_ms):.0f} ms (the floor; ~30 ms idle)"
    )
    print(
        f"questions: {len(rows)} ({sum(r[0] == 'safety' for r in rows)} safety), "
        f"answered: {len(answered)}; max_tokens {args.max_tokens}, top_k {args.top_k}"
    )
    print(f"{'measure':44} {'figure':>24}   target")
    print(
        f"{'answered by the LLM (not fallen back)':44} {f'{len(llm)}/{len(answered)} = {share:.0%}':>24}"
        f"   >= 70% {'MET' if share >= 0.70 else 'NOT MET'}"
    )
    for kind in ("safety", "ordinary"):
        part = [r for r in answered if r[0] == kind]
        print(f"{'  ' + kind:44} {f'{sum(by_llm(r[2]) for r in part)}/{len(part)}':>24}")
    print(f"{'fallback rate':44} {f'{1 - share:.0%}':>24}   <= 30%")
    print(
        f"{'contradictions shown (oracle-flagged)':44} {len(flagged):>24}   0 "
        f"{'MET' if not flagged else 'NOT MET'}"
    )
    print(
        f"{'citations verbatim':44} {f'{len(cites) - not_verbatim}/{len(cites)}':>24}   all "
        f"{'MET' if not not_verbatim else 'NOT MET'}"
    )
    if llm:
        print(
            f"{'LLM answers: first checked text p50 / p95':44} "
            f"{f'{statistics.median(firsts):.1f} / {pct(firsts, 0.95):.1f} s':>24}   (printed, no target)"
        )
        print(
            f"{'LLM answers: whole answer p50 / p95':44} "
            f"{f'{statistics.median(totals):.1f} / {pct(totals, 0.95):.1f} s':>24}   (printed, no target)"
        )
    all_totals = [r[4] for r in rows]
    print(
        f"{'all answers incl. fallbacks: whole p50 / p95':44} "
        f"{f'{statistics.median(all_totals):.1f} / {pct(all_totals, 0.95):.1f} s':>24}"
    )
    for question, issue in flagged:
        print(f"FLAGGED: {question}\n         {issue}")


if __name__ == "__main__":
    main()
