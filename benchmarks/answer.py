"""Answer latency and retrieval quality, printed as figures (nothing is asserted).

- warm answer (retrieval + composition, extractive) p50 / p95 over the eval questions,
  next to the bare single-query embedding time measured in the same run (the floor);
  targets: p50 <= 25 ms, p95 <= 50 ms on 2 CPU cores;
- the same for long messages (the team's shape cases over 300 characters: stories and
  several questions at once, up to the 2,000-character limit), reported separately;
- model calls per message (target: one) and the load average while measuring (the machine
  is shared: compare figures with the floor, not across runs);
- a batch of 100 questions through ``pht ask --batch`` including model load (target <= 15 s);
- cold ``pht ask`` to first answer next to the bare "import + load model" time;
- the side-by-side retrieval comparison of ``benchmarks/retrieval.py``.

Usage: ``.venv/bin/python benchmarks/answer.py [--no-heads] [--torch]`` (builds a throw-away
index in a temp dir; its sentence head vectors are stored with it as ``ingest.heads`` does at
ingest, unless ``--no-heads`` measures a build without them). Questions are embedded as the
product does (``PHT_EMBEDDING_RUNTIME``, ONNX Runtime by default); ``--torch`` measures torch.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# The floor of a cold start: import the model and embed one text on the runtime answers use.
BARE_LOAD = ("from core.settings import Settings; from ingest.embed import SentenceTransformerEmbedder"
             " as E; E(onnx_cache=Settings(_env_file=None).onnx_cache_dir).embed(['x'])")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
PHT = str(Path(sys.executable).parent / "pht")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, input=stdin, text=True, capture_output=True, check=True, cwd=ROOT)
    return time.perf_counter() - t


def store_heads(settings: Any, embedder: Any) -> None:
    """Store the active build's filler-scorer vectors (``ingest.heads``), as ingest does."""
    from ingest.heads import has_filler_vectors, write_build_heads
    from ingest.store import IndexStore, make_client
    from ingest.tables import folder_for

    store = IndexStore(make_client(settings), settings.collection_prefix)
    build = store.active_build()
    assert build is not None and store.tables_dir is not None
    folder = folder_for(store.tables_dir, store.prefix, build)
    if not has_filler_vectors(folder):
        write_build_heads(folder, embedder)


class CountingEmbed:
    """Wraps an ``embed`` method to count model calls."""

    def __init__(self, embed: Callable[[Sequence[str]], Any]):
        self.inner, self.calls = embed, 0

    def __call__(self, texts: Sequence[str]) -> Any:
        self.calls += 1
        return self.inner(texts)


def main() -> None:
    heads = "--no-heads" not in sys.argv[1:]
    runtime = "torch" if "--torch" in sys.argv[1:] else "onnx"
    from assistant.service import build_assistant
    from core.settings import Settings
    from evals.dataset import load_cases
    from ingest.embed import SentenceTransformerEmbedder
    from ingest.pipeline import ingest

    questions = [c.question for c in load_cases() if c.question.strip()]
    from evals.dataset import DATASETS
    from evals.realq import load_labelled

    long_messages = [c.q for c in load_labelled(DATASETS / "shapes.yaml").cases if len(c.q) > 300]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus_dir=ROOT / "corpus", data_dir=Path(tmp),  # type: ignore[call-arg]
                            embedding_runtime=runtime, _env_file=None)
        embedder = SentenceTransformerEmbedder(onnx_cache=settings.onnx_cache_dir)
        ingest(settings, embedder)
        if heads:
            store_heads(settings, embedder)
        service = build_assistant(settings, embedder=embedder, backend="extractive")
        for q in questions[:5]:
            service.ask(q)  # warm-up
        counter = CountingEmbed(embedder.embed)
        embedder.embed = counter  # type: ignore[method-assign]
        answer_ms, embed_ms, calls = [], [], []
        load = [os.getloadavg()[0]]
        for _ in range(3):
            for q in questions:
                t = time.perf_counter()
                embedder.embed([q])
                embed_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                before = counter.calls
                service.ask(q)
                answer_ms.append((time.perf_counter() - t) * 1000)
                calls.append(counter.calls - before)

        long_ms, long_calls = [], []
        for _ in range(3):
            for q in long_messages:
                t = time.perf_counter()
                before = counter.calls
                service.ask(q)
                long_ms.append((time.perf_counter() - t) * 1000)
                long_calls.append(counter.calls - before)
        load.append(os.getloadavg()[0])
        embedder.embed = counter.inner  # type: ignore[assignment]

        env = {**os.environ, "PHT_DATA_DIR": tmp, "PHT_CORPUS_DIR": str(ROOT / "corpus"),
               "PHT_EMBEDDING_RUNTIME": runtime}
        batch = "\n".join(json.dumps({"id": f"q{i}", "question": questions[i % len(questions)]})
                          for i in range(100))
        batch_file = Path(tmp) / "batch.jsonl"
        batch_file.write_text(batch, encoding="utf-8")
        batch_s = timed([PHT, "ask", "--batch", str(batch_file)], env)
        cold_s = timed([PHT, "ask", "What is proximal hamstring tendinopathy?", "--json"], env)
        load_s = timed([sys.executable, "-c", BARE_LOAD], env)

    print(f"questions: {len(questions)} x 3 runs, extractive backend, embedding on {runtime}, "
          f"{os.cpu_count()} CPU cores, "
          f"1-min load average {load[0]:.2f} -> {load[1]:.2f}, "
          f"sentence head vectors {'stored with the build' if heads else 'not stored'}")
    print(f"warm answer        p50 {statistics.median(answer_ms):6.1f} ms   p95 {pct(answer_ms, 0.95):6.1f} ms"
          "   (targets 25 / 50 ms)")
    print(f"long messages      p50 {statistics.median(long_ms):6.1f} ms   p95 {pct(long_ms, 0.95):6.1f} ms"
          f"   ({len(long_messages)} messages of 300-{max(map(len, long_messages))} characters;"
          " target p95 50 ms)")
    print(f"model calls        {statistics.mean(calls):6.2f} per question (max {max(calls)}), "
          f"{statistics.mean(long_calls):.2f} per long message (max {max(long_calls)})   (target 1)")
    print(f"bare query embed   p50 {statistics.median(embed_ms):6.1f} ms   p95 {pct(embed_ms, 0.95):6.1f} ms"
          "   (the floor)")
    print(f"batch of 100       {batch_s:6.2f} s incl. model load   (target <= 15 s)")
    print(f"cold `pht ask`     {cold_s:6.2f} s   vs bare import + load model {load_s:6.2f} s")
    print()
    from benchmarks.retrieval import run

    run()


if __name__ == "__main__":
    main()
