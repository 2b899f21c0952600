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
- with ``--server``, the largest size again against a ``chroma run`` server that serves the
  local row's index folder (its tables become the server client's local cache), so the
  corpus is not ingested twice; start-up, re-ingest, RSS and latencies go through HTTP.

``--workdir DIR`` keeps each size's corpus and index: a later run reuses them (the ingest
figures saved the first time, the answering ones measured again). The load average of the
machine at ingest and after the answering figures is printed with each row, and the bare
query-embedding time (the floor of any warm answer).

Usage: ``.venv/bin/python benchmarks/scale.py --sizes 2,10,40,120 --fake-sizes 1170 --server``
(it prints figures and asserts nothing; the big sizes take long on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
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

import numpy as np

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
    meta = (src / "metadata.yaml").read_text(encoding="utf-8").rstrip("\n") + "\n"  # entries under `articles:`
    for i in range(max(0, files - len(articles))):
        base = articles[i % len(articles)]
        lines = base.read_text(encoding="utf-8").split("\n")
        head, body = lines[:1], lines[1:]
        random.Random(i).shuffle(body)
        varied = [_vary(ln, f"c{i}l{n}") for n, ln in enumerate(body)]
        name = f"synthetic-{i:05d}.txt"
        (dest / name).write_text("\n".join(head + varied), encoding="utf-8")
        meta += f"  {name}:\n    title: Synthetic article {i}\n    edition: copy {i}\n    edition_rank: 0\n"
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


def make_embedder(fake: bool, onnx_cache: Path | None = None) -> Any:
    """The fake, or the real model as the product runs it (questions on ONNX Runtime when
    ``onnx_cache`` is given: ``Settings.onnx_cache_dir``)."""
    if fake:
        return _cached_fake_class()()
    from ingest.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(onnx_cache=onnx_cache)


def _cached_fake_class() -> Any:
    from tests.fakes import _WORD, FakeEmbedder

    class CachedFake(FakeEmbedder):
        """``tests.fakes.FakeEmbedder`` (same vectors), each token hashed once: at 400k texts
        the fake must not be what the ingest row measures."""

        def __init__(self) -> None:
            super().__init__(dimension=384, max_tokens=256, name="fake-hash-384")
            self._slots: dict[str, tuple[int, float]] = {}

        def _vector(self, text: str) -> np.ndarray:
            words = _WORD.findall(text.lower())
            slots = [self._slot(t) for t in words + [a + "_" + b for a, b in itertools.pairwise(words)]]
            v = np.zeros(self.dimension, dtype=np.float32)
            if slots:
                idx, sign = zip(*slots, strict=True)
                v = np.bincount(idx, weights=sign, minlength=self.dimension).astype(np.float32)
            n = float(np.linalg.norm(v))
            if n == 0:
                v[0] = 1.0
                return v
            return v / n

        def _slot(self, token: str) -> tuple[int, float]:
            hit = self._slots.get(token)
            if hit is None:
                h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")
                hit = self._slots[token] = (h % self.dimension, 1.0 if (h >> 32) & 1 else -1.0)
            return hit

    return CachedFake


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


_WARM_UP = ("What helps a sore hamstring?", "How should I warm up before a run?",
            "Is sitting on a hard chair a problem?")


def child(args: argparse.Namespace) -> None:
    """An answering process: start-up after model load, warm latencies, peak RSS (JSON out)."""
    from assistant.service import build_assistant
    from core.settings import Settings
    from evals.dataset import load_cases

    settings = Settings(_env_file=None)  # PHT_* from the parent
    embedder = make_embedder(args.fake, settings.onnx_cache_dir)
    embedder.embed(["warm-up"])
    t = time.perf_counter()
    service = build_assistant(settings, embedder=embedder, backend="extractive")
    startup = time.perf_counter() - t
    questions = [c.question for c in load_cases() if c.question.strip()]
    for q in _WARM_UP:  # not the measured questions: their caches stay cold for the first pass
        service.ask(q)
    ms = []
    for _ in range(args.rounds):
        for q in questions:
            t = time.perf_counter()
            service.ask(q)
            ms.append((time.perf_counter() - t) * 1000)
    bare = []  # the floor: embedding the question alone
    for q in questions:
        t = time.perf_counter()
        embedder.embed([q])
        bare.append((time.perf_counter() - t) * 1000)
    rss = peak_rss_gb()
    print(json.dumps({"startup": startup, "p50": statistics.median(ms), "p95": pct(ms, 0.95),
                      "rss_gb": rss, "n": len(ms), "embed_p50": statistics.median(bare),
                      "embed_p95": pct(bare, 0.95)}))


def peak_rss_gb() -> float:
    """This process's peak resident memory. Linux's ``VmHWM`` belongs to the process's own
    memory map; ``ru_maxrss`` would not do here: it survives ``exec``, so a child started by a
    parent that has just ingested a big corpus reports the parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


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


def measure(files: int, fake: bool, rounds: int, server: bool = False,
            workdir: Path | None = None) -> dict[str, Any]:
    """One row. With ``workdir``, the corpus and index are kept in it, and a later run with
    the same size reuses them: the ingest figures saved then, the answering ones measured anew."""
    if workdir is None:
        with tempfile.TemporaryDirectory() as tmp:
            return _measure(Path(tmp), files, fake, rounds, server)
    local = workdir / f"{files}{'-fake' if fake else ''}"
    folder = local.with_name(local.name + "-server") if server else local
    folder.mkdir(parents=True, exist_ok=True)
    if server and (local / "ingest.json").is_file() and not (folder / "ingest.json").is_file():
        _serve_local_build(local, folder)
    return _measure(folder, files, fake, rounds, server)


def _serve_local_build(local: Path, folder: Path) -> None:
    """Seed the server row with the local row's index (not a second ingest of the same corpus):
    its Chroma folder becomes the server's, its tables the server client's local cache."""
    for part in ("corpus", "data", "server"):
        shutil.rmtree(folder / part, ignore_errors=True)
    shutil.copytree(local / "corpus", folder / "corpus")
    index = local / "data" / "index"
    shutil.copytree(index, folder / "server", ignore=shutil.ignore_patterns("tables"))
    shutil.copytree(index / "tables", folder / "data" / "cache" / "index-tables")
    saved = json.loads((local / "ingest.json").read_text(encoding="utf-8"))
    (folder / "ingest.json").write_text(json.dumps({**saved, "served_local": True}), encoding="utf-8")


def _measure(tmp: Path, files: int, fake: bool, rounds: int, server: bool) -> dict[str, Any]:
    from core.settings import Settings
    from ingest.pipeline import ingest

    row: dict[str, Any] = {"files": files, "fake": fake, "server": server}
    saved = tmp / "ingest.json"
    corpus = tmp / "corpus"
    if not saved.is_file():
        for part in ("corpus", "data", "server"):  # leftovers of an interrupted run
            shutil.rmtree(tmp / part, ignore_errors=True)
        build_corpus(corpus, files)
    env = {**os.environ, "PHT_DATA_DIR": str(tmp / "data"), "PHT_CORPUS_DIR": str(corpus)}
    proc = None
    if server:
        proc, port = start_server(tmp / "server")
        env.update(PHT_CHROMA_HOST="127.0.0.1", PHT_CHROMA_PORT=str(port))
    try:
        settings = Settings(corpus_dir=corpus, data_dir=tmp / "data", _env_file=None,
                            chroma_host=env.get("PHT_CHROMA_HOST"),
                            chroma_port=int(env["PHT_CHROMA_PORT"]) if server else None)
        embedder = TimedEmbedder(make_embedder(fake, settings.onnx_cache_dir))
        embedder.embed(["warm-up"])
        embedder.seconds = 0.0
        if saved.is_file():
            row.update(json.loads(saved.read_text(encoding="utf-8")), reused=True)
        else:
            t = time.perf_counter()
            summary = ingest(settings, embedder)
            row["ingest"] = time.perf_counter() - t
            row["encode"] = embedder.seconds
            row.update(chunks=summary.chunks, sentences=summary.sentences, load=os.getloadavg()[0])
        t = time.perf_counter()
        again = ingest(settings, embedder)
        row["reingest"] = time.perf_counter() - t
        assert again.embedded == 0
        getattr(embedder.inner, "prepare", lambda: None)()  # as `pht ingest` does
        keep = ("ingest", "encode", "chunks", "sentences", "load", "served_local")
        saved.write_text(json.dumps({k: row[k] for k in keep if k in row}), encoding="utf-8")
        if not fake:
            row["cold_ask"] = wall([PHT, "ask", "What is proximal hamstring tendinopathy?"], env)
            from benchmarks.answer import BARE_LOAD

            row["bare_load"] = wall([sys.executable, "-c", BARE_LOAD], env)
        row.update(run_child(env, fake, rounds))
        row["load_after"] = os.getloadavg()[0]
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    print("| files | chunks | sentences | embedder | cold ingest / encode inside it (target <= 1.1x) "
          "| cold `pht ask` / bare import+load (<= 1.3x) | start-up after model load "
          "| unchanged re-ingest (<= 2 s) | RSS (<= 1 GB @10k, 2 GB @100k) "
          "| warm p50 / p95 (p95 <= 50 ms @10k, 100 ms @100k) | bare query embed p50 / p95 | load avg at ingest / answers |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        kind = ("fake 384-d" if r["fake"] else "real") + (", Chroma server" if r["server"] else "")
        ratio = r["ingest"] / r["encode"] if r["encode"] else float("nan")
        if r.get("served_local"):
            kind += " (serving the local row's index: ingest figures are the local row's)"
        cold = (f"{r['cold_ask']:.1f} s / {r['bare_load']:.1f} s ({r['cold_ask'] / r['bare_load']:.2f}x)"
                if "cold_ask" in r else "n/a (fake)")
        print(f"| {r['files']} | {r['chunks']:,} | {r['sentences']:,} | {kind} "
              f"| {r['ingest']:.1f} s / {r['encode']:.1f} s ({ratio:.2f}x) | {cold} "
              f"| {r['startup']:.2f} s | {r['reingest']:.2f} s | {r['rss_gb']:.2f} GB "
              f"| {r['p50']:.0f} / {r['p95']:.0f} ms | {r['embed_p50']:.0f} / {r['embed_p95']:.0f} ms "
              f"| {r.get('load', float('nan')):.1f} / {r.get('load_after', float('nan')):.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2,10", help="files per corpus, real model")
    parser.add_argument("--fake-sizes", default="", help="files per corpus, fake embedder")
    parser.add_argument("--server", action="store_true", help="also the largest size on a Chroma server")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the eval questions")
    parser.add_argument("--workdir", type=Path, help="keep corpora and indexes here; a later run "
                        "reuses them (ingest figures saved, answering figures measured again)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    plan = [(int(n), False) for n in args.sizes.split(",") if n]
    plan += [(int(n), True) for n in args.fake_sizes.split(",") if n]
    rows = []
    temp = None
    if args.server and args.workdir is None:  # the server row serves the local row's index
        temp = tempfile.TemporaryDirectory()
        args.workdir = Path(temp.name)
    for files, fake in plan:
        rows.append(measure(files, fake, args.rounds, workdir=args.workdir))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if args.server and plan:
        files, fake = plan[-1]
        rows.append(measure(files, fake, args.rounds, server=True, workdir=args.workdir))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if temp is not None:
        temp.cleanup()
    print(f"{os.cpu_count()} CPU cores; warm figures over {args.rounds} passes of the eval questions.")
    print_table(rows)


if __name__ == "__main__":
    main()
