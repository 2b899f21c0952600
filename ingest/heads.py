"""The filler scorer's per-sentence inputs, embedded once at ingest and stored with a build.

The filler scorer (``assistant.answering.informative``) reads two vectors of a sentence: the
sentence alone, and its first ``HEAD_WORDS`` words, where a sentence says what it is doing
("Below, I will outline..."). It was trained on sentences alone, so it must not read the
index's sentence vectors, which are embedded with their section heading ("Be patient: It could
take up to a year."). Embedding either while answering costs a model call per new candidate
sentence; this module embeds them with the build instead and writes them beside its tables,
row-aligned with ``sentence_vectors.npy``: ``head_vectors.npy`` and ``bare_vectors.npy``, each
with a JSON list of the content hash of each row's text (``head_keys.json``,
``bare_keys.json``), so the next build re-embeds only texts it has not seen. It does not
score anything and knows nothing of the filler model.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.text import content_hash
from ingest.embed import Embedder

HEAD_WORDS = 8
VECTORS, KEYS = "head_vectors.npy", "head_keys.json"
BARE_VECTORS, BARE_KEYS = "bare_vectors.npy", "bare_keys.json"
_FILES = ((VECTORS, KEYS), (BARE_VECTORS, BARE_KEYS))  # heads, then sentences alone


def head(text: str, n: int = HEAD_WORDS) -> str:
    """The first ``n`` words of a sentence.

    >>> head("Below, I will outline the general treatment plan that has helped", 4)
    'Below, I will outline'
    """
    return " ".join(text.split()[:n])


def _stored(folder: Path) -> dict[str, np.ndarray]:
    """Vectors an earlier build stored (heads and sentences alone) by text hash (empty when
    it has none)."""
    out: dict[str, np.ndarray] = {}
    for vectors_name, keys_name in _FILES:
        try:
            keys = json.loads((folder / keys_name).read_text(encoding="utf-8"))
            vectors = np.load(folder / vectors_name, mmap_mode="r")
        except (OSError, ValueError):
            continue
        if len(keys) == len(vectors):
            out.update({k: vectors[i] for i, k in enumerate(keys)})
    return out


def write_head_vectors(
    folder: Path, texts: Sequence[str], embedder: Embedder, reuse: Sequence[Path] = (),
    batch: int = 64,
) -> int:
    """Store the head vectors and the vectors of the sentences alone of ``texts`` (a build's
    sentences, in the row order of its tables) in ``folder``; texts found in the folders of
    ``reuse`` (earlier builds) or already stored in ``folder`` are not embedded again.
    Returns how many texts were embedded."""
    rows = ([head(t) for t in texts], list(texts))
    keys = tuple([content_hash(t) for t in r] for r in rows)
    old: dict[str, np.ndarray] = {}
    for earlier in [*reuse, folder]:
        old.update(_stored(earlier))
    wanted = {k: t for r, ks in zip(rows, keys, strict=True) for k, t in zip(ks, r, strict=True)}
    todo = sorted(((k, t) for k, t in wanted.items() if k not in old), key=lambda kv: len(kv[1]))
    for start in range(0, len(todo), batch):
        part = todo[start : start + batch]
        for (k, _t), v in zip(part, embedder.embed([t for _k, t in part]), strict=True):
            old[k] = v
    folder.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    for (vectors_name, keys_name), ks in zip(_FILES, keys, strict=True):
        out = (np.stack([np.asarray(old[k], dtype=np.float32) for k in ks]) if ks
               else np.zeros((0, embedder.dimension), dtype=np.float32))
        tmp_vectors, tmp_keys = folder / f".{tag}.{vectors_name}", folder / f".{tag}.{keys_name}"
        np.save(tmp_vectors, out)
        tmp_keys.write_text(json.dumps(ks), encoding="utf-8")
        tmp_vectors.replace(folder / vectors_name)  # the keys last: a reader checks both lengths
        tmp_keys.replace(folder / keys_name)
    return len(todo)


def has_filler_vectors(folder: Path) -> bool:
    """Whether ``folder`` holds both kinds of vectors (a build made before the sentences alone
    were stored has only its heads)."""
    return all((folder / name).is_file() for pair in _FILES for name in pair)


def sentence_texts(folder: Path) -> list[str]:
    """The sentences of the build whose tables are in ``folder``, in row order, as answers
    quote them (the slice of their chunk's text; empty for a sentence without a chunk)."""
    con = sqlite3.connect(f"{(folder / 'records.sqlite').resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = con.execute(
            'SELECT c.text, c.start, s.start, s."end" FROM sentences s '
            "LEFT JOIN chunks c ON c.row = s.chunk_row ORDER BY s.row"
        ).fetchall()
    finally:
        con.close()
    return [text[s - c:e - c] if text is not None else "" for text, c, s, e in rows]


def write_build_heads(folder: Path, embedder: Embedder, reuse: Sequence[Path] = ()) -> int:
    """``write_head_vectors`` for the build whose tables were just written to ``folder``
    (``ingest.tables.write_tables``), reusing the vectors of earlier builds' folders."""
    return write_head_vectors(folder, sentence_texts(folder), embedder, reuse)


def read_head_vectors(folder: Path, rows: int) -> np.ndarray | None:
    """The stored head vectors (memory-mapped), or None when the build has none that match
    its ``rows`` sentences."""
    return _read(folder, VECTORS, KEYS, rows)


def read_bare_vectors(folder: Path, rows: int) -> np.ndarray | None:
    """The stored vectors of the sentences alone (memory-mapped), or None when the build has
    none that match its ``rows`` sentences."""
    return _read(folder, BARE_VECTORS, BARE_KEYS, rows)


def _read(folder: Path, vectors_name: str, keys_name: str, rows: int) -> np.ndarray | None:
    try:
        vectors = np.load(folder / vectors_name, mmap_mode="r")
        n_keys = len(json.loads((folder / keys_name).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
    if vectors.ndim != 2 or len(vectors) != rows or n_keys != rows:
        return None
    return vectors
