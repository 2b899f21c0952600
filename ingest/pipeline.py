"""Ingestion, end to end: load -> segment -> classify -> split -> dedupe -> embed -> store.

``prepare`` is pure given the loaded documents and a token counter: it returns the
chunk and sentence records. ``ingest`` adds the IO: a corpus whose files hash as
the active build's did (same model and pipeline) is recognised from the build's
pointer alone and writes nothing; otherwise it reuses every embedding the active
build already has (looked up by the hash of the embedding input in the build's
tables), embeds only new texts, and writes a new build and its tables atomically.
Progress goes to an optional callback; the CLI draws the bar. It does not answer
questions or know about retrieval.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import CorpusError
from core.settings import Settings
from core.text import content_hash
from ingest.classify import classify_blocks, sentence_kind
from ingest.dedupe import mark_chunk_duplicates, mark_sentence_duplicates
from ingest.embed import Embedder
from ingest.heads import has_filler_vectors, write_build_heads
from ingest.load import load_corpus
from ingest.models import BlockKind, Chunk, IngestSummary, Sentence, SourceDoc, Unit
from ingest.segment import segment_blocks, split_sentences
from ingest.split import PIPELINE_VERSION, split_document
from ingest.store import Fingerprint, IndexStore, Records, make_client
from ingest.tables import BuildTables, folder_for, write_tables

Progress = Callable[[int, int], None]


@dataclass
class Prepared:
    chunks: list[Chunk] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    blocks: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)


def prepare(docs: Sequence[SourceDoc], embedder: Embedder) -> Prepared:
    """Segment, classify, split and deduplicate the documents (no IO)."""
    out = Prepared()
    for doc in docs:
        blocks = classify_blocks(
            segment_blocks(doc.raw, doc.source), author=doc.author, embedder=embedder
        )
        out.blocks.update(b.kind.value for b in blocks)
        if not any(b.kind == BlockKind.CONTENT for b in blocks):
            out.warnings.append(
                f"{doc.source} has no clinical content (only {', '.join(sorted({b.kind.value for b in blocks}))}):"
                " it stays searchable but never answers as advice."
            )
        chunks, sentences = split_document(
            doc, blocks, split_sentences=split_sentences, sentence_kind=sentence_kind,
            count_tokens=embedder.count_tokens, max_tokens=embedder.max_tokens,
        )
        out.chunks.extend(chunks)
        out.sentences.extend(sentences)
    out.sentences = mark_sentence_duplicates(out.sentences)
    out.chunks = mark_chunk_duplicates(out.chunks, out.sentences)
    return out


def fingerprint_of(embedder: Embedder) -> Fingerprint:
    return Fingerprint(embedder.name, embedder.dimension, embedder.fingerprint(), PIPELINE_VERSION)


def corpus_hash(docs: Sequence[SourceDoc], fingerprint: Fingerprint, max_tokens: int) -> str:
    """Hash of everything a build is made from: each file's text and metadata, the model
    and the pipeline version (so an unchanged corpus needs no preparation at all)."""
    h = hashlib.sha256(json.dumps([fingerprint.as_metadata(), max_tokens]).encode())
    for d in sorted(docs, key=lambda d: d.source):
        raw = hashlib.sha256(d.raw.encode("utf-8", "surrogatepass")).hexdigest()
        h.update(json.dumps([d.source, d.title, d.author, d.edition, d.edition_rank, d.url,
                             raw]).encode())
    return h.hexdigest()[:32]


def _meta(x: Unit) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "source": x.source, "start": x.start, "end": x.end, "kind": x.kind.value,
        "section": x.section, "title": x.title, "edition": x.edition,
        "edition_rank": x.edition_rank, "position": x.position, "dup_key": x.dup_key,
        "dup_group": x.dup_group, "embed_key": content_hash(x.embed_text),
    }
    if isinstance(x, Chunk):
        meta["n_tokens"] = x.n_tokens
        meta["sentence_ids"] = ",".join(x.sentence_ids)
        meta["heading_start"], meta["heading_end"] = x.heading_start, x.heading_end
    elif isinstance(x, Sentence):
        meta["chunk_id"] = x.chunk_id
    return meta


def _embed_reusing(
    items: Sequence[Unit], old: dict[str, np.ndarray], embedder: Embedder,
    progress: Progress | None, batch: int,
) -> tuple[np.ndarray, int]:
    """Vectors for ``items``: reused by embedding-input hash where possible, else embedded.

    New texts are embedded in batches of similar length (less padding), then put back in order.
    """
    vectors: list[np.ndarray | None] = [old.get(content_hash(x.embed_text)) for x in items]
    todo = sorted((i for i, v in enumerate(vectors) if v is None),
                  key=lambda i: len(items[i].embed_text))
    for start in range(0, len(todo), batch):
        idx = todo[start : start + batch]
        embedded = embedder.embed([items[i].embed_text for i in idx])
        for i, v in zip(idx, embedded, strict=True):
            vectors[i] = v
        if progress:
            progress(start + len(idx), len(todo))
    arr = np.stack([v for v in vectors if v is not None]) if items else np.zeros((0, embedder.dimension))
    return arr.astype(np.float32), len(todo)


def ingest(
    settings: Settings, embedder: Embedder, *, rebuild: bool = False,
    progress: Progress | None = None, store: IndexStore | None = None, pause: float = 0.0,
) -> IngestSummary:
    """Bring the index in line with the corpus folder; returns what was done."""
    t0 = time.perf_counter()
    loaded = load_corpus(settings.corpus_dir, max_file_bytes=settings.max_file_bytes)
    if not loaded.docs:
        raise CorpusError(
            f"No readable article in {settings.corpus_dir}: " + " ".join(loaded.warnings),
            "Fix or replace the files listed; the existing index was left as it was.",
        )
    store = store or IndexStore(make_client(settings, write=True), settings.collection_prefix)
    fp = fingerprint_of(embedder)
    digest = corpus_hash(loaded.docs, fp, embedder.max_tokens)
    pointer = store.pointer()
    if not rebuild and pointer.get("corpus") == digest and store.fingerprint() == fp:
        _complete_filler_vectors(store, embedder)
        return _unchanged(store, loaded.warnings, pointer, t0)
    prepared = prepare(loaded.docs, embedder)
    summary = IngestSummary(
        files=len(loaded.docs), chunks=len(prepared.chunks), sentences=len(prepared.sentences),
        blocks=dict(prepared.blocks), warnings=loaded.warnings + prepared.warnings,
    )
    summary.dropped = {k: v for k, v in prepared.blocks.items() if k != BlockKind.CONTENT.value}

    compatible = store.active_build() is not None and store.fingerprint() == fp
    old = _old_vectors(store, [*prepared.chunks, *prepared.sentences]) if (
        compatible and not rebuild) else {}
    total = len(prepared.chunks) + len(prepared.sentences)
    items: list[Unit] = [*prepared.chunks, *prepared.sentences]
    vectors, n_embedded = _embed_reusing(items, old, embedder, progress,
                                         settings.embedding_batch_size)
    chunk_vecs, sent_vecs = vectors[: len(prepared.chunks)], vectors[len(prepared.chunks) :]
    records = {
        "chunks": Records([c.id for c in prepared.chunks], [c.text for c in prepared.chunks],
                          [_meta(c) for c in prepared.chunks], chunk_vecs),
        "sentences": Records([s.id for s in prepared.sentences], [s.text for s in prepared.sentences],
                             [_meta(s) for s in prepared.sentences], sent_vecs),
    }
    old_ids = _old_ids(store)
    root = store.tables_dir
    prev = store.active_build()

    def tables(build: str) -> None:
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)
            folder = folder_for(root, store.prefix, build)
            write_tables(folder, records["chunks"], records["sentences"])
            # the filler scorer's vectors (heads, sentences alone), embedded once per build
            # (earlier builds' reused, only from a build of the same embedding model: they are
            # keyed by text alone)
            reuse = [folder_for(root, store.prefix, prev)] if prev and compatible and not rebuild else []
            write_build_heads(folder, embedder, reuse=reuse)

    info = {"files": summary.files, "chunks": summary.chunks, "sentences": summary.sentences,
            "blocks": summary.blocks, "warnings": prepared.warnings}
    summary.collection = store.write_build(
        fp, records, pause=pause, before_switch=tables,
        pointer={"corpus": digest, "summary": json.dumps(info)},
    )
    summary.embedded = n_embedded
    summary.skipped = total - summary.embedded
    summary.deleted = len(old_ids - {*records["chunks"].ids, *records["sentences"].ids})
    summary.seconds = time.perf_counter() - t0
    return summary


def _active_tables(store: IndexStore) -> BuildTables | None:
    build = store.active_build()
    if build is None or store.tables_dir is None:
        return None
    folder = folder_for(store.tables_dir, store.prefix, build)
    try:
        return BuildTables(folder) if (folder / "bm25_vocab.json").is_file() else None
    except (OSError, ValueError, sqlite3.Error):
        return None


def _old_vectors(store: IndexStore, items: Sequence[Unit]) -> dict[str, np.ndarray]:
    """Vectors of the active build whose embedding input reappears in ``items``: from the
    build's tables, else (tables missing) from the collections, page by page."""
    keys = {content_hash(x.embed_text) for x in items}
    tables = _active_tables(store)
    if tables is not None:
        try:
            return tables.vectors_by_key(keys)
        finally:
            tables.close()
    out: dict[str, np.ndarray] = {}
    for kind in ("chunks", "sentences"):
        for recs in store.pages(kind):
            for i, m in enumerate(recs.metadatas):
                if m.get("embed_key") in keys:
                    out.setdefault(str(m["embed_key"]), recs.embeddings[i])
    return out


def _old_ids(store: IndexStore) -> set[str]:
    if store.active_build() is None:
        return set()
    tables = _active_tables(store)
    if tables is not None:
        try:
            return set(tables.record_ids())
        finally:
            tables.close()
    return {i for kind in ("chunks", "sentences")
            for recs in store.pages(kind, embeddings=False) for i in recs.ids}


def _complete_filler_vectors(store: IndexStore, embedder: Embedder) -> None:
    """An unchanged build made before the filler scorer's vectors of the sentences alone were
    stored gets them now (its heads are reused), so answers need not embed them."""
    build = store.active_build()
    if build is None or store.tables_dir is None:
        return
    folder = folder_for(store.tables_dir, store.prefix, build)
    if (folder / "records.sqlite").is_file() and not has_filler_vectors(folder):
        # a read-only index: answers embed these when they first need them
        with contextlib.suppress(OSError, sqlite3.Error):
            write_build_heads(folder, embedder)


def _unchanged(
    store: IndexStore, warnings: list[str], pointer: dict[str, Any], t0: float
) -> IngestSummary:
    """The summary of a run that found the corpus as the active build was made from."""
    info = json.loads(str(pointer.get("summary") or "{}"))
    blocks = {str(k): int(v) for k, v in dict(info.get("blocks", {})).items()}
    summary = IngestSummary(
        files=int(info.get("files", 0)), chunks=int(info.get("chunks", 0)),
        sentences=int(info.get("sentences", 0)), blocks=blocks,
        warnings=[*warnings, *info.get("warnings", [])],
    )
    summary.dropped = {k: v for k, v in blocks.items() if k != BlockKind.CONTENT.value}
    summary.skipped = summary.chunks + summary.sentences
    summary.collection = str(store.active_build())
    store.drop_stale()  # leftovers of an interrupted run
    summary.seconds = time.perf_counter() - t0
    return summary
