"""Head vectors of a build's sentences, embedded once at ingest and stored with its tables.

The filler scorer (``assistant.answering.informative``) reads a sentence's vector and the
vector of its first ``HEAD_WORDS`` words, where a sentence says what it is doing ("Below, I
will outline..."). Embedding those heads while answering costs a model call per new candidate
sentence; this module embeds them with the build instead and writes them beside its tables
(``head_vectors.npy``, row-aligned with ``sentence_vectors.npy``, and ``head_keys.json``, the
content hash of each head, so the next build re-embeds only heads it has not seen). It does not
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


def head(text: str, n: int = HEAD_WORDS) -> str:
    """The first ``n`` words of a sentence.

    >>> head("Below, I will outline the general treatment plan that has helped", 4)
    'Below, I will outline'
    """
    return " ".join(text.split()[:n])


def _stored(folder: Path) -> dict[str, np.ndarray]:
    """Head vectors of an earlier build by head hash (empty when it has none)."""
    try:
        keys = json.loads((folder / KEYS).read_text(encoding="utf-8"))
        vectors = np.load(folder / VECTORS, mmap_mode="r")
    except (OSError, ValueError):
        return {}
    if len(keys) != len(vectors):
        return {}
    return {k: vectors[i] for i, k in enumerate(keys)}


def write_head_vectors(
    folder: Path, texts: Sequence[str], embedder: Embedder, reuse: Sequence[Path] = (),
    batch: int = 64,
) -> int:
    """Store the head vectors of ``texts`` (a build's sentences, in the row order of its
    tables) in ``folder``; heads found in the folders of ``reuse`` (earlier builds) are not
    embedded again. Returns how many heads were embedded."""
    heads = [head(t) for t in texts]
    keys = [content_hash(h) for h in heads]
    old: dict[str, np.ndarray] = {}
    for earlier in reuse:
        old.update(_stored(earlier))
    todo = sorted({k: h for k, h in zip(keys, heads, strict=True) if k not in old}.items(),
                  key=lambda kv: len(kv[1]))
    for start in range(0, len(todo), batch):
        part = todo[start : start + batch]
        for (k, _h), v in zip(part, embedder.embed([h for _k, h in part]), strict=True):
            old[k] = v
    out = (np.stack([np.asarray(old[k], dtype=np.float32) for k in keys]) if keys
           else np.zeros((0, embedder.dimension), dtype=np.float32))
    folder.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    tmp_vectors, tmp_keys = folder / f".{tag}.{VECTORS}", folder / f".{tag}.{KEYS}"
    np.save(tmp_vectors, out)
    tmp_keys.write_text(json.dumps(keys), encoding="utf-8")
    tmp_vectors.replace(folder / VECTORS)  # the keys last: a reader checks both lengths
    tmp_keys.replace(folder / KEYS)
    return len(todo)


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
    (``ingest.tables.write_tables``), reusing the heads of earlier builds' folders."""
    return write_head_vectors(folder, sentence_texts(folder), embedder, reuse)


def read_head_vectors(folder: Path, rows: int) -> np.ndarray | None:
    """The stored head vectors (memory-mapped), or None when the build has none that match
    its ``rows`` sentences."""
    try:
        vectors = np.load(folder / VECTORS, mmap_mode="r")
        n_keys = len(json.loads((folder / KEYS).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
    if vectors.ndim != 2 or len(vectors) != rows or n_keys != rows:
        return None
    return vectors
