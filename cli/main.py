"""The ``pht`` command line: ingest, ask, chat, eval, feedback, calibrate-scope, serve.

Thin on purpose: it parses arguments, builds the settings once, calls the library
and prints. Domain errors (``PHTError``) are turned into one clear line on stderr
and exit code 2 here, and only here; any other exception is reported as a bug
without a traceback unless ``PHT_DEBUG``-style ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from core.errors import PHTError
from core.settings import Settings

log = logging.getLogger("pht")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "corpus", None):
        overrides["corpus_dir"] = args.corpus
    if getattr(args, "index", None):
        overrides["index_dir"] = args.index
    return Settings(**overrides)


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest.embed import SentenceTransformerEmbedder
    from ingest.pipeline import ingest

    settings = _settings(args)
    embedder = SentenceTransformerEmbedder(
        settings.embedding_model, device=settings.embedding_device,
        batch_size=settings.embedding_batch_size, onnx_cache=settings.onnx_cache_dir,
    )
    bar = _progress_bar(disable=args.json or args.quiet)
    summary = ingest(settings, embedder, rebuild=args.rebuild, progress=bar.update)
    bar.close()
    if not embedder.prepare():  # the question runtime, so the first question does not export it
        print(f"note: questions are embedded with torch: the ONNX graph could not be written to "
              f"or loaded from {settings.onnx_cache_dir} (set PHT_EMBEDDING_RUNTIME=torch to "
              "silence this)", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict()))
        return 0
    for w in summary.warnings:
        print(f"warning: {w}", file=sys.stderr)
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(summary.blocks.items()))
    print(
        f"Ingested {summary.files} files: {summary.chunks} chunks, {summary.sentences} sentences; "
        f"embedded {summary.embedded}, reused {summary.skipped}, deleted {summary.deleted} "
        f"in {summary.seconds:.1f}s.\nBlocks by kind: {kinds}.\nIndex build: {summary.collection}"
    )
    return 0


class _progress_bar:
    """A tqdm bar fed by (done, total) callbacks; silent when disabled or tqdm is missing."""

    def __init__(self, disable: bool):
        self._bar: Any = None
        self._disable = disable

    def update(self, done: int, total: int) -> None:
        if self._disable:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="Embedding", unit="text", file=sys.stderr)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pht",
        description="Cited answers about proximal hamstring tendinopathy (PHT) in runners, "
        "only from the source articles in the corpus folder.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="build or update the index from the corpus folder")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything into a new index")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--corpus", help="corpus folder (default: PHT_CORPUS_DIR or ./corpus)")
    p.add_argument("--index", help="index folder (default: PHT_INDEX_DIR or .pht/index)")
    p.set_defaults(func=cmd_ingest)

    from cli import ask, llm, tools, train
    from evals import cli as eval_cli

    ask.register(sub)
    eval_cli.register(sub)
    tools.register(sub)
    train.register(sub)
    llm.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PHTError as err:
        print(f"pht: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        note = " The index was left as it was before this run." if args.command == "ingest" else ""
        print(f"pht: interrupted.{note}", file=sys.stderr)
        return 130
    except Exception as err:  # the one place unexpected errors are caught
        if args.debug:
            raise
        print(
            f"pht: unexpected error ({err.__class__.__name__}: {err}). "
            "Run again with --debug for details and report it.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
