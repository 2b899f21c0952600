"""Ingestion, end to end: load -> segment -> classify -> split -> dedupe -> embed -> store.

``prepare`` is pure given the loaded documents and a token counter: it returns the
chunk and sentence records. ``ingest`` adds the IO: it reuses every embedding the
active build already has (records are keyed by content hashes), embeds only new
texts, and writes a new build atomically. An unchanged corpus writes nothing.
Progress goes to an optional callback; the CLI draws the bar. It does not answer
questions or know about retrieval.
"""

from __future__ import annotations

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
from ingest.load import load_corpus
from ingest.models import BlockKind, Chunk, IngestSummary, Sentence, SourceDoc, Unit
from ingest.segment import segment_blocks, split_sentences
from ingest.split import PIPELINE_VERSION, split_document
from ingest.store import Fingerprint, IndexStore, Records, make_client

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
        blocks = classify_blocks(segment_blocks(doc.raw, doc.source), author=doc.author)
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
    prepared = prepare(loaded.docs, embedder)
    store = store or IndexStore(make_client(settings), settings.collection_prefix)
    fp = fingerprint_of(embedder)
    summary = IngestSummary(
        files=len(loaded.docs), chunks=len(prepared.chunks), sentences=len(prepared.sentences),
        blocks=dict(prepared.blocks), warnings=loaded.warnings + prepared.warnings,
    )
    summary.dropped = {k: v for k, v in prepared.blocks.items() if k != BlockKind.CONTENT.value}

    old: dict[str, dict[str, np.ndarray]] = {"chunks": {}, "sentences": {}}
    old_records: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {"chunks": {}, "sentences": {}}
    compatible = False
    if store.active_build() is not None:
        compatible = store.fingerprint() == fp
        reuse = compatible and not rebuild
        for kind in old:
            recs = store.read(kind, embeddings=reuse)
            old_records[kind] = dict(zip(recs.ids, zip(recs.documents, recs.metadatas, strict=True),
                                         strict=True))
            if reuse:
                old[kind] = {m["embed_key"]: recs.embeddings[i] for i, m in enumerate(recs.metadatas)}
    new_records = {
        "chunks": {c.id: (c.text, _meta(c)) for c in prepared.chunks},
        "sentences": {s.id: (s.text, _meta(s)) for s in prepared.sentences},
    }
    total = len(prepared.chunks) + len(prepared.sentences)
    # Unchanged means every record, text and metadata (kinds, sections, duplicate groups), is equal.
    if compatible and not rebuild and new_records == old_records:
        summary.skipped = total
        summary.collection = str(store.active_build())
        store.drop_stale()  # leftovers of an interrupted run
        summary.seconds = time.perf_counter() - t0
        return summary

    items: list[Unit] = [*prepared.chunks, *prepared.sentences]
    vectors, n_embedded = _embed_reusing(
        items, {**old["chunks"], **old["sentences"]}, embedder, progress,
        settings.embedding_batch_size,
    )
    chunk_vecs, sent_vecs = vectors[: len(prepared.chunks)], vectors[len(prepared.chunks) :]
    records = {
        "chunks": Records([c.id for c in prepared.chunks], [c.text for c in prepared.chunks],
                          [_meta(c) for c in prepared.chunks], chunk_vecs),
        "sentences": Records([s.id for s in prepared.sentences], [s.text for s in prepared.sentences],
                             [_meta(s) for s in prepared.sentences], sent_vecs),
    }
    summary.collection = store.write_build(fp, records, pause=pause)
    summary.embedded = n_embedded
    summary.skipped = total - summary.embedded
    summary.deleted = sum(len(set(old_records[k]) - set(new_records[k])) for k in old_records)
    summary.seconds = time.perf_counter() - t0
    return summary
