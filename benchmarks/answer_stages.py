"""Where a warm answer's time goes: a per-stage breakdown from cProfile (nothing asserted).

Runs the eval questions and the long shape messages (over 300 characters) through a warm
extractive assistant under cProfile and prints, per message, the cumulative time of each
stage (the gates, typo repair, the embedding calls and how many there are, the scope gate,
retrieval and its parts, composition, the filler scorer) next to the bare single-query
embedding time. Stages nest (``embed`` is inside the others), so the rows do not add up.

Usage: ``.venv/bin/python benchmarks/answer_stages.py [--data-dir DIR]``; with ``--data-dir``
an index already built there is reused (built there first when missing), otherwise a
throw-away index is built in a temp dir.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# (label, file suffix, function name): the stages reported, outermost first
STAGES = [
    ("whole answer", "assistant/service.py", "ask"),
    ("gates (check_question)", "assistant/gates/check.py", "check_question"),
    ("  red-flag learned layer", "assistant/service.py", "_learned_red_flag"),
    ("typo repair (repaired_query)", "assistant/answering/lexical.py", "repaired_query"),
    ("message reading (read_message)", "assistant/gates/message.py", "read_message"),
    ("asks (_asks)", "assistant/service.py", "_asks"),
    ("scope gate (_covered)", "assistant/service.py", "_covered"),
    ("  message texts (_query_texts)", "assistant/service.py", "_query_texts"),
    ("retrieval (Composer.retrieve)", "assistant/answering/compose.py", "retrieve"),
    ("retrieval (Composer.retrieve_asks)", "assistant/answering/compose.py", "retrieve_asks"),
    ("  dense chunk query", "assistant/answering/retrieval.py", "dense"),
    ("  dense sentence query", "assistant/answering/retrieval.py", "best_sentence_chunks"),
    ("  BM25 (score_array)", "assistant/answering/lexical.py", "score_array"),
    ("composition (Composer.extractive)", "assistant/answering/compose.py", "extractive"),
    ("  candidates", "assistant/answering/compose.py", "candidates"),
    ("  filler scorer", "assistant/answering/informative.py", "filler"),
    ("edition notes", "assistant/answering/compose.py", "edition_notes"),
    ("embedding model (embed)", "ingest/embed.py", "embed"),
]


def breakdown(profile: cProfile.Profile, messages: int) -> list[tuple[str, float, float]]:
    """(stage, ms per message, calls per message) for each stage found in the profile."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    out = []
    for label, suffix, name in STAGES:
        calls, cum = 0, 0.0
        for (path, _line, func), (_cc, nc, _tt, ct, _callers) in stats.items():
            if func == name and path.replace(os.sep, "/").endswith(suffix):
                calls += nc
                cum += ct
        if calls:
            out.append((label, cum * 1000 / messages, calls / messages))
    return out


def run(service, messages: list[str], reps: int) -> tuple[list[tuple[str, float, float]], list[float]]:
    profile = cProfile.Profile()
    times = []
    for _ in range(reps):
        for q in messages:
            t = time.perf_counter()
            profile.enable()
            service.ask(q)
            profile.disable()
            times.append((time.perf_counter() - t) * 1000)
    return breakdown(profile, len(messages) * reps), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--no-heads", action="store_true",
                        help="do not store the sentence head vectors with the build")
    args = parser.parse_args()

    from assistant.service import build_assistant
    from benchmarks.answer import store_heads
    from core.settings import Settings
    from evals.dataset import DATASETS, load_cases
    from evals.realq import load_labelled
    from ingest.embed import SentenceTransformerEmbedder
    from ingest.pipeline import ingest

    questions = [c.question for c in load_cases() if c.question.strip()]
    long_messages = [c.q for c in load_labelled(DATASETS / "shapes.yaml").cases if len(c.q) > 300]
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data_dir or Path(tmp)
        settings = Settings(corpus_dir=ROOT / "corpus", data_dir=data, _env_file=None)  # type: ignore[call-arg]
        embedder = SentenceTransformerEmbedder(onnx_cache=settings.onnx_cache_dir)
        if args.data_dir is None or not any(data.glob("*")):
            ingest(settings, embedder)
        if not args.no_heads:
            store_heads(settings, embedder)
        service = build_assistant(settings, embedder=embedder, backend="extractive")
        for q in questions[:5] + long_messages[:2]:
            service.ask(q)  # warm-up
        embed_ms = []
        for q in questions:
            t = time.perf_counter()
            embedder.embed([q])
            embed_ms.append((time.perf_counter() - t) * 1000)
        print(f"bare query embed p50 {statistics.median(embed_ms):.1f} ms; "
              f"load average {os.getloadavg()[0]:.2f}")
        for name, msgs in (("eval questions", questions), ("long messages", long_messages)):
            rows, times = run(service, msgs, args.reps)
            print(f"\n{name}: {len(msgs)} x {args.reps}, answer p50 {statistics.median(times):.1f} ms "
                  "(under cProfile)")
            print(f"  {'stage':38s} {'ms/message':>10s} {'calls/message':>14s}")
            for label, ms, calls in rows:
                print(f"  {label:38s} {ms:10.1f} {calls:14.2f}")


if __name__ == "__main__":
    main()
