"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused by reciprocal rank.

``Retriever`` loads the active index build once (records, sentence embeddings,
a BM25 table over content chunks) and answers ``search(query)`` with ranked
``Passage`` values. Near-duplicates across editions collapse into one passage,
shown from the newest edition unless the older one holds sentences the newer
lacks. Only ``content`` chunks are retrieved as content; ``promotions(query)``
searches the sponsorship blocks separately so the assistant can name a paid
promotion as such. ``as_langchain()`` wraps it as a LangChain ``BaseRetriever``.
It does not choose sentences or write answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.answering.lexical import LexicalIndex, terms
from assistant.models import Passage, QuoteSpan
from core.text import normalize
from ingest.embed import Embedder
from ingest.store import IndexStore


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


@dataclass
class SentenceTable:
    """All sentences of the index: quotable spans, kinds and precomputed embeddings."""

    spans: dict[str, QuoteSpan]
    meta: dict[str, dict[str, Any]]
    row: dict[str, int]
    vectors: np.ndarray

    def vector(self, sentence_id: str) -> np.ndarray:
        return self.vectors[self.row[sentence_id]]


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
        self._chunks = store.collection("chunks", self.build)
        self._sentences = store.collection("sentences", self.build)
        recs = store.read("chunks", self.build, embeddings=False)
        self.passages: dict[str, Passage] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        sents = store.read("sentences", self.build)
        self.sentences = SentenceTable(
            spans={
                sid: QuoteSpan(sid, int(m["start"]), int(m["end"]), doc, str(m["kind"]))
                for sid, doc, m in zip(sents.ids, sents.documents, sents.metadatas, strict=True)
            },
            meta=dict(zip(sents.ids, sents.metadatas, strict=True)),
            row={sid: i for i, sid in enumerate(sents.ids)},
            vectors=sents.embeddings,
        )
        for cid, doc, m in zip(recs.ids, recs.documents, recs.metadatas, strict=True):
            sids = [s for s in str(m.get("sentence_ids", "")).split(",") if s]
            self._meta[cid] = m
            self.passages[cid] = Passage(
                id=cid, source=str(m["source"]), start=int(m["start"]), end=int(m["end"]),
                text=doc, score=0.0, kind=str(m["kind"]), section=str(m["section"]),
                title=str(m["title"]), edition=str(m["edition"]),
                edition_rank=int(m["edition_rank"]), dup_group=str(m["dup_group"]),
                sentences=tuple(self.sentences.spans[s] for s in sids if s in self.sentences.spans),
                heading=_heading(cid, m),
            )
        self.content_ids = [cid for cid, p in self.passages.items() if p.kind == "content"]
        self._content = set(self.content_ids)
        self.lexical = LexicalIndex([terms(self._lexical_text(cid)) for cid in self.content_ids])

    def _lexical_text(self, cid: str) -> str:
        p = self.passages[cid]
        return f"{p.section} {p.text}"

    # --- ranking -------------------------------------------------------------
    def embed_query(self, query: str) -> np.ndarray:
        return self.embedder.embed([query])[0]

    def dense(self, vector: np.ndarray, n: int, kind: str = "content") -> list[tuple[str, float]]:
        """Ids and cosine similarities of the ``n`` nearest chunks of ``kind``."""
        if n <= 0:
            return []
        got = self._chunks.query(
            query_embeddings=[vector.tolist()], n_results=n, where={"kind": kind},
            include=["distances"],
        )
        return [(i, 1.0 - float(d)) for i, d in zip(got["ids"][0], got["distances"][0], strict=True)]

    def search(
        self, query: str, k: int = 4, *, vector: np.ndarray | None = None
    ) -> list[Passage]:
        """The ``k`` best content passages for ``query``, duplicates collapsed."""
        repaired = self.lexical.repaired_query(query) or query
        vec = vector if vector is not None else self.embed_query(repaired)
        dense_ids = [i for i, _ in self.dense(vec, min(self.candidates, len(self.content_ids)))]
        sentence_ids = self.best_sentence_chunks(vec)[: self.candidates]
        lex_scores = self.lexical.scores(query)
        order = np.argsort(-np.asarray(lex_scores), kind="stable")[: self.candidates]
        lex_ids = [self.content_ids[i] for i in order if lex_scores[i] > 0]
        f = self.fusion
        fused = rrf([dense_ids, sentence_ids, lex_ids], k=self.rrf_k,
                    weights=[f.chunk, f.sentence, f.lexical])
        for cid in fused:
            if self._is_intro(cid):
                fused[cid] *= f.intro_prior
        ranked = sorted(fused, key=lambda cid: (-fused[cid], self.passages[cid].source, self.passages[cid].start))
        return self._collapse(ranked, fused)[:k]

    def best_sentence_chunks(self, vec: np.ndarray, n: int = 60) -> list[str]:
        """Content chunks ranked by their best-matching sentence (Chroma sentence search)."""
        if not self.content_ids:
            return []
        got = self._sentences.query(
            query_embeddings=[vec.tolist()], n_results=min(n, max(1, len(self.sentences.row))),
            where={"kind": "content"}, include=["metadatas"],
        )
        ranked = (str(meta["chunk_id"]) for meta in got["metadatas"][0])
        return list(dict.fromkeys(cid for cid in ranked if cid in self._content))

    def _is_intro(self, cid: str) -> bool:
        p = self.passages[cid]
        return p.section == "" or normalize(p.section) == normalize(p.title)

    def _collapse(self, ranked: Sequence[str], fused: dict[str, float]) -> list[Passage]:
        out: list[Passage] = []
        seen: set[str] = set()
        for cid in ranked:
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
            n = sum(1 for p in self.passages.values() if p.kind == kind)
            hits += self.dense(vec, min(k, n), kind=kind)
        hits.sort(key=lambda h: -h[1])
        return [_with_score(self.passages[i], s) for i, s in hits[:k]]

    def max_similarity(self, vector: np.ndarray) -> float:
        """Best cosine between a query vector and any content chunk (a scope feature)."""
        hits = self.dense(vector, 1) if self.content_ids else []
        return hits[0][1] if hits else 0.0

    def as_langchain(self, k: int = 4) -> Any:
        from assistant.answering.lc_retriever import PHTRetriever

        return PHTRetriever(engine=self, k=k)


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
