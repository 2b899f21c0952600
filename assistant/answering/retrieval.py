"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused by reciprocal rank.

``Retriever`` opens the active index build (its Chroma collections and the tables
stored with it: records, sentence vectors, a BM25 table over content chunks; rows
are read when a question needs them) and answers ``search(query)`` with ranked
``Passage`` values. Near-duplicates across editions collapse into one passage,
shown from the newest edition unless the older one holds sentences the newer
lacks. Only ``content`` chunks are retrieved as content; ``promotions(query)``
searches the sponsorship blocks separately so the assistant can name a paid
promotion as such. ``as_langchain()`` wraps it as a LangChain ``BaseRetriever``.
It does not choose sentences or write answers.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Mapping, Sequence, ValuesView
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from assistant.answering.lexical import LexicalIndex
from assistant.models import Passage, QuoteSpan
from core.errors import IndexMissingError
from core.text import normalize
from ingest.embed import Embedder
from ingest.heads import read_bare_vectors, read_head_vectors
from ingest.leases import hold, release
from ingest.store import CONTENT, IndexStore
from ingest.tables import BuildTables, ChunkRow, open_or_build

SENTENCE_HITS = 60  # sentences the sentence search asks Chroma for


def rrf(
    rankings: Sequence[Sequence[str]], k: int = 60, weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Weighted reciprocal rank fusion of ranked id lists.

    >>> sorted(rrf([["a", "b"], ["b", "c"]], k=1).items())
    [('a', 0.5), ('b', 0.8333333333333333), ('c', 0.3333333333333333)]
    >>> rrf([["a"], ["b"]], k=1, weights=[1.0, 0.5])
    {'a': 0.5, 'b': 0.25}
    """
    scores: dict[str, float] = defaultdict(float)
    for n, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[n]
        for rank, doc_id in enumerate(ranking, start=1):
            scores[doc_id] += w / (k + rank)
    return dict(scores)


@dataclass(frozen=True)
class Fusion:
    """How the three rankings are weighed, measured with ``benchmarks/retrieval.py``.

    A chunk's best sentence is the sharpest dense signal (a question is usually answered by
    one sentence); whole-chunk similarity is a weak extra signal; BM25 brings exact terms.
    Chunks of an article's introduction (before its first section heading) are teasers that
    mention every topic without answering one, so they are scored down.
    """

    chunk: float = 0.25
    sentence: float = 1.0
    lexical: float = 0.75
    intro_prior: float = 0.8


class SentenceTable:
    """Sentences of the index build: vectors and duplicate keys, looked up by id.

    Rows are read from the build's tables when asked for (recent ones cached); the
    vectors stay in a memory-mapped array, so no per-sentence object is held.
    """

    def __init__(self, tables: BuildTables, cache: int = 8192):
        self.tables = tables
        self.vectors = tables.sentence_vectors
        self.meta = _SentenceMeta(self)
        self.lookup = lru_cache(maxsize=cache)(tables.sentence)

    def __len__(self) -> int:
        return self.tables.n_sentences

    def vector(self, sentence_id: str) -> np.ndarray:
        hit = self.lookup(sentence_id)
        if hit is None:
            raise KeyError(sentence_id)
        return np.asarray(self.vectors[hit[0]], dtype=np.float32)


class _SentenceMeta(Mapping[str, dict[str, Any]]):
    """``table.meta[sentence_id]["dup_key"]``, as the in-memory table offered."""

    def __init__(self, table: SentenceTable):
        self._table = table

    def __getitem__(self, sentence_id: str) -> dict[str, Any]:
        hit = self._table.lookup(sentence_id)
        if hit is None:
            raise KeyError(sentence_id)
        return {"dup_key": hit[1]}

    def __iter__(self) -> Iterator[str]:
        raise TypeError("sentence metadata is looked up by id, not iterated")

    def __len__(self) -> int:
        return len(self._table)


class PassageMap(Mapping[str, Passage]):
    """Every chunk of the build as a ``Passage``, by id: built from the tables on access,
    recent ones cached. ``of_source`` is the cheap way to the passages of one file."""

    def __init__(self, tables: BuildTables, cache: int = 4096):
        self.tables = tables
        self._cache: OrderedDict[str, Passage] = OrderedDict()
        self._size = cache
        self._lock = threading.Lock()
        self._anchors: dict[tuple[str, str], tuple[Passage, QuoteSpan] | None] = {}

    def anchor_span(self, source: str, anchor: str) -> tuple[Passage, QuoteSpan] | None:
        """The passage of ``source`` holding the text ``anchor`` and the sentence it starts in
        (None when no passage holds it); remembered, as the build never changes."""
        key = (source, anchor)
        if key not in self._anchors:  # a race only computes the same answer twice
            self._anchors[key] = next(
                ((p, s) for p in self.of_source(source) if (at := p.text.find(anchor)) >= 0
                 for s in p.sentences if s.start <= p.start + at < s.end), None)
        return self._anchors[key]

    def __getitem__(self, cid: str) -> Passage:
        with self._lock:
            hit = self._cache.get(cid)
            if hit is not None:
                self._cache.move_to_end(cid)
                return hit
        row = self.tables.chunk(cid)
        if row is None:
            raise KeyError(cid)
        p = _passage(row)
        with self._lock:
            self._cache[cid] = p
            if len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return p

    def __iter__(self) -> Iterator[str]:
        return self.tables.chunk_ids()

    def __len__(self) -> int:
        return self.tables.n_chunks

    def of_source(self, source: str) -> list[Passage]:
        return [_passage(r) for r in self.tables.chunks_of(source)]

    def values(self) -> ValuesView[Passage]:
        return _Values(self)


class _Values(ValuesView[Passage]):
    """All passages, file by file (one query per file, not one per chunk)."""

    def __init__(self, passages: PassageMap):
        super().__init__(passages)
        self._passages = passages

    def __iter__(self) -> Iterator[Passage]:
        for source in self._passages.tables.sources():
            yield from self._passages.of_source(source)


def _passage(row: ChunkRow) -> Passage:
    sentences = tuple(
        QuoteSpan(sid, int(s), int(e), row.text[s - row.start : e - row.start], str(kind))
        for sid, s, e, kind in row.sentences
    )
    meta = {"heading_start": row.heading_start, "heading_end": row.heading_end,
            "section": row.section}
    return Passage(
        id=row.id, source=row.source, start=int(row.start), end=int(row.end), text=row.text,
        score=0.0, kind=row.kind, section=row.section, title=row.title, edition=row.edition,
        edition_rank=int(row.edition_rank), dup_group=row.dup_group, sentences=sentences,
        heading=_heading(row.id, meta),
    )


class Retriever:
    """Hybrid search over one index build."""

    def __init__(
        self, store: IndexStore, embedder: Embedder, *, candidates: int = 20, rrf_k: int = 60,
        fusion: Fusion = Fusion(),
    ):
        self.embedder = embedder
        self.fusion = fusion
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.build = store.active_build()
        if self.build is None:
            raise IndexMissingError("No index has been built yet.", "Run `pht ingest`.")
        build = self.build
        self._chunks = store.collection("chunks", build)
        self._sentences = store.collection("sentences", build)
        self.tables = open_or_build(store.tables_dir, store.prefix, build,
                                    lambda kind: store.read(kind, build))
        # While this object lives, an ingest keeps its build (see IndexStore.drop_stale).
        weakref.finalize(self, release, hold(store.tables_dir, store.prefix, build))
        self.passages = PassageMap(self.tables)
        self.sentences = SentenceTable(self.tables)
        self.content_ids = self.tables.content_ids()
        self._kinds = self.tables.kind_counts()
        self._n_content_sentences = int(self._sentences.count())
        # the model's own words are not typos (an embedder may not list them: then none are)
        whole_words = getattr(embedder, "whole_words", None)
        self.lexical = LexicalIndex.from_table(
            self.tables.bm25, known=whole_words() if whole_words else frozenset())
        # the filler scorer's vectors stored with the build (ingest.heads), if it has them
        self._heads = read_head_vectors(self.tables.folder, self.tables.n_sentences)
        self._bare = read_bare_vectors(self.tables.folder, self.tables.n_sentences)
        # the content query's hits for the last few vectors (a message's asks are each asked
        # by the scope gate and by the search)
        self._dense_memo: OrderedDict[bytes, list[tuple[str, float]]] = OrderedDict()
        self._sentence_memo: OrderedDict[bytes, list[str]] = OrderedDict()  # sentence-search ids
        self._memo_lock = threading.Lock()
        # vectors the assistant embedded with a message's batch, so embed_query reuses them
        self._known: OrderedDict[str, np.ndarray] = OrderedDict()
        self._known_lock = threading.Lock()

    def filler_vectors(self, sentence_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """The stored vectors of these sentences alone and of their heads (see
        ``ingest.heads``), or None when the build has none (or lacks one of them)."""
        if self._heads is None or self._bare is None:
            return None
        rows = [self.sentences.lookup(sid) for sid in sentence_ids]
        if any(r is None for r in rows):
            return None
        at = [r[0] for r in rows if r is not None]
        return (np.asarray(self._bare[at], dtype=np.float32),
                np.asarray(self._heads[at], dtype=np.float32))

    # --- ranking -------------------------------------------------------------
    def remember(self, texts: Sequence[str], vectors: np.ndarray, keep: int = 64) -> None:
        """Vectors already embedded (a message's batch): ``embed_query`` of one of these
        texts returns its vector instead of calling the model again."""
        with self._known_lock:
            for t, v in zip(texts, vectors, strict=True):
                self._known[t] = v
                self._known.move_to_end(t)
            while len(self._known) > keep:
                self._known.popitem(last=False)

    def embed_query(self, query: str) -> np.ndarray:
        with self._known_lock:
            known = self._known.get(query)
        return known if known is not None else self.embedder.embed([query])[0]

    def prefetch(self, vectors: Sequence[np.ndarray], *, sentences: bool = False) -> None:
        """Ask Chroma once for several vectors (a message's asks) what ``dense`` and, with
        ``sentences``, ``best_sentence_chunks`` will ask one at a time next: three vectors in
        one query cost about half of three queries (10k chunks: 2.9 against 5.5 ms)."""
        if len(vectors) < 2 or not self.content_ids:
            return
        n = min(self.candidates, len(self.content_ids))
        for v, ids, dists in self._query_many(self._chunks, self._dense_memo, vectors, n):
            self._remember(self._dense_memo, v, [(i, 1.0 - d) for i, d in zip(ids, dists, strict=True)])
        if sentences and self._n_content_sentences:
            n = min(SENTENCE_HITS, self._n_content_sentences)
            for v, ids, _d in self._query_many(self._sentences, self._sentence_memo, vectors, n):
                self._remember(self._sentence_memo, v, ids)

    def _query_many(self, collection: Any, memo: Mapping[bytes, Any],
                    vectors: Sequence[np.ndarray], n: int,
                    ) -> list[tuple[np.ndarray, list[str], list[float]]]:
        """One query for the distinct vectors not in ``memo`` (none when fewer than two:
        the search's own query costs the same): (vector, ids, distances) per vector."""
        with self._memo_lock:
            missing = list({v.tobytes(): v for v in vectors if v.tobytes() not in memo}.values())
        if len(missing) < 2:
            return []
        got = collection.query(query_embeddings=[v.tolist() for v in missing], n_results=n,
                               include=["distances"])
        return [(v, list(ids), [float(d) for d in dists])
                for v, ids, dists in zip(missing, got["ids"], got["distances"], strict=True)]

    def _remember(self, memo: OrderedDict[bytes, Any], vector: np.ndarray, hits: Any) -> None:
        """Keep ``hits`` for ``vector`` among the last eight vectors' (a message's asks)."""
        with self._memo_lock:
            memo[vector.tobytes()] = hits
            memo.move_to_end(vector.tobytes())
            while len(memo) > 8:
                memo.popitem(last=False)

    def dense(self, vector: np.ndarray, n: int, kind: str = "content") -> list[tuple[str, float]]:
        """Ids and cosine similarities of the ``n`` nearest chunks of ``kind``."""
        if n <= 0:
            return []
        if kind == CONTENT:  # content has its own collection: no metadata filter
            # The scope gate's best similarity and the search ask with the same vector: one
            # query of ``candidates`` serves both (the last few vectors' hits are kept).
            key = vector.tobytes()
            with self._memo_lock:
                hits = self._dense_memo.get(key)
            if hits is None or len(hits) < n:
                want = max(n, min(self.candidates, len(self.content_ids)))
                got = self._chunks.query(query_embeddings=[vector.tolist()], n_results=want,
                                         include=["distances"])
                hits = [(i, 1.0 - float(d)) for i, d in
                        zip(got["ids"][0], got["distances"][0], strict=True)]
                self._remember(self._dense_memo, vector, hits)
            return hits[:n]
        # another kind (a promotion): an exact scan of that kind's stored vectors, not a
        # Chroma query filtered by kind, which reads the whole collection
        return self.tables.nearest_of_kind(vector, kind, n)

    def search(
        self, query: str, k: int = 4, *, vector: np.ndarray | None = None
    ) -> list[Passage]:
        """The ``k`` best content passages for ``query``, duplicates collapsed."""
        repaired = self.lexical.repaired_query(query) or query
        vec = vector if vector is not None else self.embed_query(repaired)
        dense_ids = [i for i, _ in self.dense(vec, min(self.candidates, len(self.content_ids)))]
        sentence_ids = self.best_sentence_chunks(vec)[: self.candidates]
        lex_scores = self.lexical.score_array(query)
        hits = np.flatnonzero(lex_scores > 0)  # ascending, so the stable sort keeps id order
        top = lex_scores[hits]
        if len(top) > self.candidates:  # a common word hits every chunk: sort only the best
            cut = np.partition(top, len(top) - self.candidates)[len(top) - self.candidates]
            hits = hits[top >= cut]  # ties at the cut stay; the stable sort orders them as before
        order = hits[np.argsort(-lex_scores[hits], kind="stable")][: self.candidates]
        lex_ids = [self.content_ids[i] for i in order]
        f = self.fusion
        fused = rrf([dense_ids, sentence_ids, lex_ids], k=self.rrf_k,
                    weights=[f.chunk, f.sentence, f.lexical])
        for cid in fused:
            if self._is_intro(cid):
                fused[cid] *= f.intro_prior
        ranked = sorted(fused, key=lambda cid: (-fused[cid], self.passages[cid].source, self.passages[cid].start))
        return self._collapse(ranked, fused, k)

    def best_sentence_chunks(self, vec: np.ndarray, n: int = SENTENCE_HITS) -> list[str]:
        """Content chunks ranked by their best-matching sentence (Chroma sentence search)."""
        if not self.content_ids:
            return []
        if not self._n_content_sentences:
            return []
        with self._memo_lock:
            ids = self._sentence_memo.get(vec.tobytes()) if n == SENTENCE_HITS else None
        if ids is None:
            got = self._sentences.query(  # content sentences only: no metadata filter
                query_embeddings=[vec.tolist()], n_results=min(n, self._n_content_sentences),
                include=["distances"],  # ids only: their chunks come from the build's tables
            )
            ids = list(got["ids"][0])
        return list(dict.fromkeys(self.tables.chunk_ids_of(ids)))

    def _is_intro(self, cid: str) -> bool:
        p = self.passages[cid]
        return p.section == "" or _same_heading(p.section, p.title)

    def _collapse(self, ranked: Sequence[str], fused: dict[str, float], k: int) -> list[Passage]:
        out: list[Passage] = []
        seen: set[str] = set()
        for cid in ranked:
            if len(out) >= k:
                break
            p = self.passages[cid]
            group = p.dup_group or cid
            if group in seen:
                continue
            seen.add(group)
            shown = p
            rep = self.passages.get(group)
            if rep is not None and rep.id != p.id and not self._has_extra(p, rep):
                shown = rep
            out.append(_with_score(shown, fused[cid]))
        return out

    def _has_extra(self, p: Passage, rep: Passage) -> bool:
        """True when ``p`` has sentences that ``rep`` (the newer duplicate) does not."""
        rep_keys = {self.sentences.meta[s.id]["dup_key"] for s in rep.sentences}
        return any(self.sentences.meta[s.id]["dup_key"] not in rep_keys for s in p.sentences)

    def promotions(
        self, query: str, k: int = 2, kinds: Sequence[str] = ("sponsorship", "call_to_action")
    ) -> list[Passage]:
        """Promotional blocks (paid sponsorships, sales pitches) closest to ``query``, to be
        named as such, never used as advice."""
        vec = self.embed_query(query)
        hits: list[tuple[str, float]] = []
        for kind in kinds:
            hits += self.dense(vec, min(k, self._kinds.get(kind, 0)), kind=kind)
        hits.sort(key=lambda h: -h[1])
        return [_with_score(self.passages[i], s) for i, s in hits[:k]]

    def max_similarity(self, vector: np.ndarray) -> float:
        """Best cosine between a query vector and any content chunk (a scope feature)."""
        hits = self.dense(vector, 1) if self.content_ids else []
        return hits[0][1] if hits else 0.0

    def as_langchain(self, k: int = 4) -> Any:
        from assistant.answering.lc_retriever import PHTRetriever

        return PHTRetriever(engine=self, k=k)


@lru_cache(maxsize=4096)
def _same_heading(section: str, title: str) -> bool:
    """True when a chunk's section heading is its article's title (the untitled opening)."""
    return normalize(section) == normalize(title)


def _heading(cid: str, meta: dict[str, Any]) -> QuoteSpan | None:
    """The chunk's section heading as a quotable span (``None`` for indexes built without it)."""
    start, end = int(meta.get("heading_start", -1)), int(meta.get("heading_end", -1))
    section = str(meta.get("section", ""))
    if start < 0 or end - start != len(section):
        return None
    return QuoteSpan(f"{cid}:heading", start, end, section, "heading")


def _with_score(p: Passage, score: float) -> Passage:
    from dataclasses import replace

    return replace(p, score=float(score))
