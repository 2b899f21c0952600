"""The tables of one index build, saved beside it: records, duplicate groups, BM25, vectors.

What the answering process needs besides the vector search (chunk texts and spans,
sentence spans and duplicate keys, sentence vectors, the BM25 table of content
chunks) is written once per build into ``<root>/<prefix>_<build>/``: a read-only
SQLite file for the records, ``.npy`` arrays for the rest, memory-mapped on load.
So start-up costs opening files, not reading every record back from Chroma, and
memory holds only the rows a question touches. The folder appears complete or not
at all (written under a temporary name, then renamed). Keyed by the build id, it
is a cache: a reader whose folder is missing (another machine wrote the build to a
Chroma server) rebuilds it from the collections. It searches vectors only for the
small non-content kinds (``nearest_of_kind``: a promotion); content is searched by Chroma.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest.bm25 import Bm25Table, build_bm25
from ingest.store import CONTENT, Records
from ingest.terms import terms

FORMAT = "1"
CHUNK_COLUMNS = ("id", "text", "source", "start", "end", "kind", "section", "title", "edition",
                 "edition_rank", "dup_group", "heading_start", "heading_end")
_SCHEMA = """
CREATE TABLE info (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE chunks (row INTEGER PRIMARY KEY, id TEXT NOT NULL, text TEXT, source TEXT,
  start INT, "end" INT, kind TEXT, section TEXT, title TEXT, edition TEXT, edition_rank INT,
  dup_group TEXT, heading_start INT, heading_end INT, content_row INT, embed_key TEXT);
CREATE TABLE sentences (row INTEGER PRIMARY KEY, id TEXT NOT NULL, chunk_row INT, ord INT,
  start INT, "end" INT, kind TEXT, dup_key TEXT, embed_key TEXT);
"""
_INDEXES = """
CREATE UNIQUE INDEX chunks_id ON chunks(id);
CREATE INDEX chunks_source ON chunks(source);
CREATE UNIQUE INDEX sentences_id ON sentences(id);
CREATE INDEX sentences_chunk ON sentences(chunk_row, ord);
"""


def lexical_text(section: str, text: str) -> str:
    """What BM25 indexes for a chunk: its section heading, then its text."""
    return f"{section} {text}"


def folder_for(root: Path, prefix: str, build: str) -> Path:
    return root / f"{prefix}_{build}"


def write_tables(folder: Path, chunks: Records, sentences: Records) -> None:
    """Write the tables of a build (``sentences.embeddings`` row-aligned with its ids)."""
    tmp = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.mkdir(parents=True)
    try:
        con = sqlite3.connect(tmp / "records.sqlite")
        con.executescript(_SCHEMA)
        row_of: dict[str, int] = {}
        content_docs: list[list[str]] = []
        chunk_rows = []
        for row, (cid, text, m) in enumerate(
            zip(chunks.ids, chunks.documents, chunks.metadatas, strict=True)
        ):
            row_of[cid] = row
            content_row = -1
            if m["kind"] == CONTENT:
                content_row = len(content_docs)
                content_docs.append(terms(lexical_text(str(m["section"]), text)))
            chunk_rows.append((row, cid, text, m["source"], m["start"], m["end"], m["kind"],
                               m["section"], m["title"], m["edition"], m["edition_rank"],
                               m["dup_group"], m.get("heading_start", -1),
                               m.get("heading_end", -1), content_row, m.get("embed_key", "")))
        con.executemany(f"INSERT INTO chunks VALUES ({','.join('?' * 16)})", chunk_rows)
        order = {}
        for m in chunks.metadatas:
            for n, sid in enumerate(s for s in str(m.get("sentence_ids", "")).split(",") if s):
                order[sid] = n
        con.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?,?)",
            ((row, sid, row_of.get(str(m["chunk_id"]), -1), order.get(sid, -1), m["start"],
              m["end"], m["kind"], m["dup_key"], m.get("embed_key", ""))
             for row, (sid, m) in enumerate(zip(sentences.ids, sentences.metadatas, strict=True))),
        )
        con.executescript(_INDEXES)
        con.executemany("INSERT INTO info VALUES (?, ?)", [
            ("format", FORMAT), ("chunks", str(len(chunks))), ("sentences", str(len(sentences))),
            ("content", str(len(content_docs))),
        ])
        con.commit()
        con.close()
        for name, recs in (("chunk", chunks), ("sentence", sentences)):
            vectors = np.asarray(recs.embeddings, dtype=np.float32)
            np.save(tmp / f"{name}_vectors.npy", vectors.reshape(len(recs), -1))
        table = build_bm25(content_docs)
        for name in ("idf", "indptr", "docs", "weights"):
            np.save(tmp / f"bm25_{name}.npy", getattr(table, name))
        (tmp / "bm25_vocab.json").write_text(json.dumps(table.vocab), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class ChunkRow:
    """One chunk's record, with its sentences as (id, start, end, kind) in order."""

    id: str
    text: str
    source: str
    start: int
    end: int
    kind: str
    section: str
    title: str
    edition: str
    edition_rank: int
    dup_group: str
    heading_start: int
    heading_end: int
    sentences: tuple[tuple[str, int, int, str], ...]


class BuildTables:
    """Read side: lookups by id, memory-mapped arrays, one read-only SQLite connection."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._con = sqlite3.connect(
            f"{(folder / 'records.sqlite').resolve().as_uri()}?mode=ro&immutable=1", uri=True,
            check_same_thread=False,
        )
        self._lock = threading.Lock()
        info = dict(self._query("SELECT key, value FROM info"))
        if info.get("format") != FORMAT:
            raise ValueError(f"tables format {info.get('format')!r}, expected {FORMAT}")
        self.n_chunks, self.n_sentences = int(info["chunks"]), int(info["sentences"])
        self.n_content = int(info["content"])
        self.chunk_vectors = np.load(folder / "chunk_vectors.npy", mmap_mode="r")
        self.sentence_vectors = np.load(folder / "sentence_vectors.npy", mmap_mode="r")
        arrays = {n: np.load(folder / f"bm25_{n}.npy", mmap_mode="r")
                  for n in ("idf", "indptr", "docs", "weights")}
        vocab = json.loads((folder / "bm25_vocab.json").read_text(encoding="utf-8"))
        self.bm25 = Bm25Table(vocab, n_docs=self.n_content, **arrays)
        # per non-content kind: its chunk ids and unit vectors (``nearest_of_kind``)
        self._kind_vectors: dict[str, tuple[list[str], np.ndarray]] = {}

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._con.execute(sql, args).fetchall()

    def close(self) -> None:
        self._con.close()

    def content_ids(self) -> list[str]:
        """Content chunk ids in BM25 document order."""
        return [r[0] for r in self._query(
            "SELECT id FROM chunks WHERE content_row >= 0 ORDER BY content_row")]

    def kind_counts(self) -> dict[str, int]:
        return dict(self._query("SELECT kind, count(*) FROM chunks GROUP BY kind"))

    def chunk(self, cid: str) -> ChunkRow | None:
        rows = self._chunk_rows("WHERE id = ?", (cid,))
        return rows[0] if rows else None

    def chunks_of(self, source: str) -> list[ChunkRow]:
        return self._chunk_rows("WHERE source = ? ORDER BY row", (source,))

    def sources(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT source FROM chunks ORDER BY source")]

    def chunk_ids(self) -> Iterator[str]:
        for (cid,) in self._query("SELECT id FROM chunks ORDER BY row"):
            yield cid

    def _chunk_rows(self, where: str, args: tuple[Any, ...]) -> list[ChunkRow]:
        cols = ", ".join(f'"{c}"' for c in CHUNK_COLUMNS)
        out = []
        for row, *values in self._query(f"SELECT row, {cols} FROM chunks {where}", args):
            sents = self._query(
                'SELECT id, start, "end", kind FROM sentences WHERE chunk_row = ? ORDER BY ord',
                (row,))
            out.append(ChunkRow(**dict(zip(CHUNK_COLUMNS, values, strict=True)),
                                sentences=tuple(sents)))
        return out

    def nearest_of_kind(self, vector: np.ndarray, kind: str, n: int) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the ``n`` chunks of ``kind`` nearest ``vector``, most
        similar first, by an exact scan of that kind's stored vectors (gathered once per kind
        from the memory-mapped array). Chroma filtering a collection by kind reads the whole
        collection (10k chunks: 12-43 ms a kind); a scan of one kind's rows costs ~1 ms."""
        if n <= 0:
            return []
        with self._lock:
            known = self._kind_vectors.get(kind)
        if known is None:
            rows = self._query("SELECT row, id FROM chunks WHERE kind = ? ORDER BY row", (kind,))
            matrix = (np.array(self.chunk_vectors[[r for r, _i in rows]], dtype=np.float32)
                      if rows else None)
            if matrix is not None and matrix.ndim == 2 and matrix.shape[1]:
                matrix /= np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)
            else:
                matrix = np.zeros((0, 0), dtype=np.float32)
            known = ([i for _r, i in rows], matrix)
            with self._lock:
                self._kind_vectors[kind] = known
        ids, matrix = known
        if not matrix.size or matrix.shape[1] != len(vector):
            return []
        q = np.asarray(vector, dtype=np.float32)
        sims = matrix @ (q / max(float(np.linalg.norm(q)), 1e-12))
        top = np.argsort(-sims, kind="stable")[:n]
        return [(ids[i], float(sims[i])) for i in top]

    def vectors_by_key(self, keys: set[str]) -> dict[str, np.ndarray]:
        """Stored vectors (chunks' and sentences') whose embedding-input hash is in ``keys``."""
        out: dict[str, np.ndarray] = {}
        for table, vectors in (("chunks", self.chunk_vectors), ("sentences", self.sentence_vectors)):
            if not len(vectors) or not vectors.shape[1]:
                continue
            for row, key in self._query(f"SELECT row, embed_key FROM {table}"):
                if key in keys and key not in out:
                    out[key] = np.array(vectors[row])
        return out

    def record_ids(self) -> Iterator[str]:
        for (rid,) in self._query("SELECT id FROM chunks UNION ALL SELECT id FROM sentences"):
            yield rid

    def chunk_ids_of(self, sentence_ids: list[str]) -> list[str]:
        """The chunk id of each sentence id, in the same order (unknown ids left out).
        One query per call: a search maps its nearest sentences without reading their
        metadata back from Chroma."""
        found: dict[str, str] = {}
        for start in range(0, len(sentence_ids), 500):  # well below SQLite's variable limit
            part = sentence_ids[start : start + 500]
            found.update(self._query(
                "SELECT s.id, c.id FROM sentences s JOIN chunks c ON c.row = s.chunk_row "
                f"WHERE s.id IN ({','.join('?' * len(part))})", tuple(part)))
        return [found[sid] for sid in sentence_ids if sid in found]

    def sentence(self, sid: str) -> tuple[int, str] | None:
        """The sentence's vector row and duplicate key."""
        got = self._query("SELECT row, dup_key FROM sentences WHERE id = ?", (sid,))
        return (int(got[0][0]), str(got[0][1])) if got else None


def open_or_build(root: Path | None, prefix: str, build: str, read: Any) -> BuildTables:
    """The tables of ``build`` under ``root``; built first from ``read(kind)`` (the store's
    paged read) when missing. Without a writable ``root`` they go to a temporary folder."""
    if root is not None:
        folder = folder_for(root, prefix, build)
        if (folder / "bm25_vocab.json").is_file():
            try:
                return BuildTables(folder)
            except (OSError, ValueError, sqlite3.Error):
                pass  # unreadable or another format: rebuilt below
    chunks, sentences = read("chunks"), read("sentences")
    try:
        if root is None:
            raise OSError("no folder for the tables")
        root.mkdir(parents=True, exist_ok=True)
        write_tables(folder_for(root, prefix, build), chunks, sentences)
        return BuildTables(folder_for(root, prefix, build))
    except OSError:
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="pht-tables-"))
        write_tables(tmp / "t", chunks, sentences)
        return BuildTables(tmp / "t")

