"""Ingestion benchmark: cold ingest vs bare ``model.encode`` of the same texts, and re-ingest.

Prints figures (it asserts nothing):
- cold ingest seconds (model already loaded) and the bare encode seconds of exactly the
  texts ingestion embedded, measured in the same run, and their ratio (target <= 1.3);
- unchanged re-ingest seconds after model load (target <= 1 s).

Usage: ``.venv/bin/python benchmarks/ingest.py [--corpus corpus]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    from core.settings import Settings
    from ingest.embed import SentenceTransformerEmbedder
    from ingest.load import load_corpus
    from ingest.pipeline import ingest, prepare

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default="corpus")
    args = parser.parse_args()

    t = time.perf_counter()
    embedder = SentenceTransformerEmbedder()
    load_s = time.perf_counter() - t
    embedder.embed(["warm-up"])  # first call pays one-off kernel set-up; both paths get it warm

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus_dir=Path(args.corpus), data_dir=Path(tmp), _env_file=None)  # type: ignore[call-arg]
        prepared = prepare(load_corpus(settings.corpus_dir).docs, embedder)
        texts = [c.embed_text for c in prepared.chunks] + [s.embed_text for s in prepared.sentences]

        t = time.perf_counter()
        embedder.embed(texts)
        bare_s = time.perf_counter() - t

        t = time.perf_counter()
        cold = ingest(settings, embedder)
        cold_s = time.perf_counter() - t

        t = time.perf_counter()
        warm = ingest(settings, embedder)
        warm_s = time.perf_counter() - t

    print(f"model load:             {load_s:7.2f} s")
    print(f"texts embedded:         {cold.embedded:7d} ({cold.chunks} chunks, {cold.sentences} sentences)")
    print(f"bare model.encode:      {bare_s:7.2f} s")
    print(f"cold ingest:            {cold_s:7.2f} s")
    print(f"overhead ratio:         {cold_s / bare_s:7.2f}   (target <= 1.3)")
    print(f"unchanged re-ingest:    {warm_s:7.2f} s   (target <= 1.0; embedded {warm.embedded})")


if __name__ == "__main__":
    main()
