"""Scale benchmark: synthetic corpora of growing size, the table of issue #16 with its targets.

It builds each corpus itself: the two shipped articles plus copies whose paragraphs are
shuffled and whose sentences are tagged per copy (so nothing dedupes), ``--sizes`` files
with the real model and ``--fake-sizes`` files with a hashing fake embedder of the same
dimension (384) where only index behaviour is measured (said so in the table). Per size:

- cold ingest (model loaded) next to the time spent inside ``embedder.embed`` during that
  same ingest (the bare encode of exactly those texts, in the same batches); target <= 1.1x;
- cold ``pht ask`` (a fresh process) next to bare ``import + model load`` (real model only;
  target <= 1.3x), and the answering process's start-up after model load;
- an unchanged re-ingest after model load (target <= 2 s);
- peak RSS of an answering process (targets 1 GB at 10k chunks, 2 GB at 100k) and warm
  p50 / p95 over the eval questions (targets 50 ms at 10k, 100 ms at 100k);
- with ``--server``, the largest size again against a ``chroma run`` server.

Usage: ``.venv/bin/python benchmarks/scale.py --sizes 2,10,40,120 --fake-sizes 1170 --server``
(it prints figures and asserts nothing; the big sizes take long on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
PHT = str(Path(sys.executable).parent / "pht")
_SENTENCE_END = re.compile(r"([.!?])(\s|$)")


def build_corpus(dest: Path, files: int) -> None:
    """The shipped corpus plus ``files - 2`` varied copies of its articles."""
    src = ROOT / "corpus"
    shutil.copytree(src, dest)
    articles = sorted(src.glob("*.txt"))
    meta = (src / "metadata.yaml").read_text(encoding="utf-8")
    for i in range(max(0, files - len(articles))):
        base = articles[i % len(articles)]
        lines = base.read_text(encoding="utf-8").split("\n")
        head, body = lines[:1], lines[1:]
        random.Random(i).shuffle(body)
        varied = [_vary(ln, f"c{i}l{n}") for n, ln in enumerate(body)]
        name = f"synthetic-{i:05d}.txt"
        (dest / name).write_text("\n".join(head + varied), encoding="utf-8")
        meta += f"\n{name}:\n  title: Synthetic article {i}\n  edition: copy {i}\n  edition_rank: 0\n"
    (dest / "metadata.yaml").write_text(meta, encoding="utf-8")


def _vary(line: str, tag: str) -> str:
    """Tag every sentence end of ``line`` so that no sentence repeats across copies."""
    counter = iter(range(10**6))
    return _SENTENCE_END.sub(lambda m: f" ({tag}s{next(counter)}){m.group(1)}{m.group(2)}", line)


class TimedEmbedder:
    """Wraps an embedder and adds up the seconds spent in ``embed``."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.seconds = 0.0
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens

    def embed(self, texts: Any) -> Any:
        t = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - t

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def fingerprint(self) -> str:
        return str(self.inner.fingerprint())


def make_embedder(fake: bool) -> Any:
    if fake:
        from tests.fakes import FakeEmbedder

        return FakeEmbedder(dimension=384, max_tokens=256, name="fake-hash-384")
    from ingest.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def child(args: argparse.Namespace) -> None:
    """An answering process: start-up after model load, warm latencies, peak RSS (JSON out)."""
    from assistant.service import build_assistant
    from core.settings import Settings
    from evals.dataset import load_cases

    embedder = make_embedder(args.fake)
    embedder.embed(["warm-up"])
    settings = Settings(_env_file=None)  # type: ignore[call-arg]  # PHT_* from the parent
    t = time.perf_counter()
    service = build_assistant(settings, embedder=embedder, backend="extractive")
    startup = time.perf_counter() - t
    questions = [c.question for c in load_cases() if c.question.strip()]
    for q in questions[:5]:
        service.ask(q)
    ms = []
    for _ in range(args.rounds):
        for q in questions:
            t = time.perf_counter()
            service.ask(q)
            ms.append((time.perf_counter() - t) * 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(json.dumps({"startup": startup, "p50": statistics.median(ms), "p95": pct(ms, 0.95),
                      "rss_gb": rss, "n": len(ms)}))


def run_child(env: dict[str, str], fake: bool, rounds: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", "--rounds", str(rounds)] + (["--fake"] if fake else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - t


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cli = [sys.executable, "-c", "from chromadb.cli.cli import app; app()"]  # the `chroma` command
    proc = subprocess.Popen([*cli, "run", "--path", str(folder), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return proc, port
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("chroma server did not start")


def measure(files: int, fake: bool, rounds: int, server: bool = False) -> dict[str, Any]:
    from core.settings import Settings
    from ingest.pipeline import ingest

    row: dict[str, Any] = {"files": files, "fake": fake, "server": server}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        build_corpus(corpus, files)
        env = {**os.environ, "PHT_DATA_DIR": str(Path(tmp) / "data"), "PHT_CORPUS_DIR": str(corpus)}
        proc = None
        if server:
            proc, port = start_server(Path(tmp) / "server")
            env.update(PHT_CHROMA_HOST="127.0.0.1", PHT_CHROMA_PORT=str(port))
        try:
            settings = Settings(corpus_dir=corpus, data_dir=Path(tmp) / "data", _env_file=None,  # type: ignore[call-arg]
                                chroma_host=env.get("PHT_CHROMA_HOST"),
                                chroma_port=int(env["PHT_CHROMA_PORT"]) if server else None)
            embedder = TimedEmbedder(make_embedder(fake))
            embedder.embed(["warm-up"])
            embedder.seconds = 0.0
            t = time.perf_counter()
            summary = ingest(settings, embedder)
            row["ingest"] = time.perf_counter() - t
            row["encode"] = embedder.seconds
            row.update(chunks=summary.chunks, sentences=summary.sentences)
            t = time.perf_counter()
            again = ingest(settings, embedder)
            row["reingest"] = time.perf_counter() - t
            assert again.embedded == 0
            if not fake:
                row["cold_ask"] = wall([PHT, "ask", "What is proximal hamstring tendinopathy?"], env)
                row["bare_load"] = wall([sys.executable, "-c", "from ingest.embed import "
                                         "SentenceTransformerEmbedder as E; E().embed(['x'])"], env)
            row.update(run_child(env, fake, rounds))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    print("| files | chunks | sentences | embedder | cold ingest / encode inside it (target <= 1.1x) "
          "| cold `pht ask` / bare import+load (<= 1.3x) | start-up after model load "
          "| unchanged re-ingest (<= 2 s) | RSS (<= 1 GB @10k, 2 GB @100k) "
          "| warm p50 / p95 (p95 <= 50 ms @10k, 100 ms @100k) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        kind = ("fake 384-d" if r["fake"] else "real") + (", Chroma server" if r["server"] else "")
        ratio = r["ingest"] / r["encode"] if r["encode"] else float("nan")
        cold = (f"{r['cold_ask']:.1f} s / {r['bare_load']:.1f} s ({r['cold_ask'] / r['bare_load']:.2f}x)"
                if "cold_ask" in r else "n/a (fake)")
        print(f"| {r['files']} | {r['chunks']:,} | {r['sentences']:,} | {kind} "
              f"| {r['ingest']:.1f} s / {r['encode']:.1f} s ({ratio:.2f}x) | {cold} "
              f"| {r['startup']:.2f} s | {r['reingest']:.2f} s | {r['rss_gb']:.2f} GB "
              f"| {r['p50']:.0f} / {r['p95']:.0f} ms |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2,10", help="files per corpus, real model")
    parser.add_argument("--fake-sizes", default="", help="files per corpus, fake embedder")
    parser.add_argument("--server", action="store_true", help="also the largest size on a Chroma server")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the eval questions")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    plan = [(int(n), False) for n in args.sizes.split(",") if n]
    plan += [(int(n), True) for n in args.fake_sizes.split(",") if n]
    rows = []
    for files, fake in plan:
        rows.append(measure(files, fake, args.rounds))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if args.server and plan:
        files, fake = plan[-1]
        rows.append(measure(files, fake, args.rounds, server=True))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"{os.cpu_count()} CPU cores; warm figures over {args.rounds} passes of the eval questions.")
    print_table(rows)


if __name__ == "__main__":
    main()
