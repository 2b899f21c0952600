"""Retrieval metrics (gold passage rank, recall@k, MRR) and the LangChain-tutorial baseline.

``gold_rank`` is pure: a retrieved passage counts as gold when it contains the
start of a gold anchor (compared in normalised form, so the same sentence in the
other edition counts too) or lies wholly inside the anchor. ``TutorialRetriever``
is the reference the issue names: ``RecursiveCharacterTextSplitter(1000, 200)``
over the raw files, the same embedding model, Chroma top-k, nothing else. It
is for comparison only and never answers users.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.text import normalize

PREFIX = 80


@dataclass(frozen=True)
class Retrieved:
    source: str
    text: str


def is_gold(text: str, anchors: Sequence[str]) -> bool:
    """True when ``text`` holds the start of an anchor, or lies inside one.

    >>> is_gold("Intro. Load the tendon\\u00a0slowly. More.", ["Load the tendon slowly."])
    True
    >>> is_gold("Something else.", ["Load the tendon slowly."])
    False
    """
    hay = normalize(text, lower=True)
    for anchor in anchors:
        a = normalize(anchor, lower=True)
        if a[:PREFIX] in hay or (len(hay) >= 20 and hay in a):
            return True
    return False


def gold_rank(retrieved: Sequence[Retrieved | Any], anchors: Sequence[str]) -> int | None:
    """1-based rank of the first gold passage, ``None`` when none was retrieved.

    A passage's section heading counts as part of it (readers see it with the passage).
    """
    for i, r in enumerate(retrieved, start=1):
        section = getattr(r, "section", "")
        if is_gold(f"{section}\n{r.text}" if section else r.text, anchors):
            return i
    return None


@dataclass(frozen=True)
class RetrievalScores:
    n: int
    recall_at_1: float
    recall_at_4: float
    mrr: float

    def as_dict(self) -> dict[str, float | int]:
        return {"n": self.n, "recall@1": round(self.recall_at_1, 4),
                "recall@4": round(self.recall_at_4, 4), "mrr": round(self.mrr, 4)}


def score_ranks(ranks: Sequence[int | None]) -> RetrievalScores:
    """Aggregate gold ranks; an empty list scores 0 (never NaN).

    >>> score_ranks([1, 3, None, 2]).as_dict()
    {'n': 4, 'recall@1': 0.25, 'recall@4': 0.75, 'mrr': 0.4583}
    """
    n = len(ranks)
    if n == 0:
        return RetrievalScores(0, 0.0, 0.0, 0.0)
    at1 = sum(1 for r in ranks if r == 1) / n
    at4 = sum(1 for r in ranks if r is not None and r <= 4) / n
    mrr = sum(1.0 / r for r in ranks if r is not None) / n
    return RetrievalScores(n, at1, at4, mrr)


class TutorialRetriever:
    """The LangChain RAG-tutorial retriever, built in memory for a side-by-side comparison."""

    def __init__(self, corpus_dir: Path, embedder: Any, k: int = 4):
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        self.k = k
        self.embedder = embedder
        self.texts: list[str] = []
        self.sources: list[str] = []
        for path in sorted(corpus_dir.glob("*.txt")):
            for chunk in splitter.split_text(path.read_text(encoding="utf-8")):
                self.texts.append(chunk)
                self.sources.append(f"{corpus_dir.name}/{path.name}")
        client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        name = f"tutorial-{id(self)}"
        self._col = client.create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        vectors = embedder.embed(self.texts)
        self._col.add(ids=[str(i) for i in range(len(self.texts))], embeddings=vectors,
                      documents=self.texts)

    def search(self, query: str) -> list[Retrieved]:
        got = self._col.query(query_embeddings=[self.embedder.embed([query])[0].tolist()],
                              n_results=self.k, include=["documents"])
        documents = got["documents"] or [[]]
        return [Retrieved(self.sources[int(i)], d)
                for i, d in zip(got["ids"][0], documents[0], strict=True)]
