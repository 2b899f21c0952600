"""A BM25 table as flat numpy arrays (a term-major sparse matrix), built once per index build.

``build_bm25`` turns the term lists of the documents into arrays: the vocabulary in
order of first appearance, each term's idf, and per term the documents that hold it
with their BM25 weight. ``Bm25Table.scores`` sums the rows of the query's terms, so a
query costs the length of its terms' postings, not a loop over every document. Scores
equal ``rank_bm25.BM25Okapi`` (k1=1.5, b=0.75, epsilon=0.25) exactly, in floating
point too: the same expressions are evaluated in the same order. Pure: saving and
loading the arrays is ``ingest.tables``'s job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K1, B, EPSILON = 1.5, 0.75, 0.25


@dataclass
class Bm25Table:
    """``vocab[i]``'s postings are ``docs[indptr[i]:indptr[i+1]]`` with ``weights`` alike."""

    vocab: list[str]
    idf: np.ndarray  # float64, one per term
    indptr: np.ndarray  # int64, len(vocab) + 1
    docs: np.ndarray  # int32 document numbers
    weights: np.ndarray  # float64 tf-saturation weights (idf not applied)
    n_docs: int

    def __post_init__(self) -> None:
        self.term_id = {t: i for i, t in enumerate(self.vocab)}

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document; a repeated query term counts again (as rank_bm25).

        >>> table = build_bm25([["load", "tendon"], ["run"], ["run", "run", "hill"]])
        >>> [round(float(x), 4) for x in table.scores(["load", "run"])]
        [0.5108, 0.0824, 0.0786]
        """
        out = np.zeros(self.n_docs)
        for t in query_terms:
            i = self.term_id.get(t)
            if i is None:
                continue
            lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
            idf = float(self.idf[i]) or 0
            out[self.docs[lo:hi]] += idf * self.weights[lo:hi]
        return out


def build_bm25(doc_terms: Sequence[Sequence[str]]) -> Bm25Table:
    """The BM25 table of the documents' terms (an empty corpus gives an empty table)."""
    vocab: dict[str, int] = {}
    rows: list[list[tuple[int, int]]] = []  # per term: (doc, tf)
    doc_len = np.zeros(len(doc_terms), dtype=np.int64)
    for d, doc in enumerate(doc_terms):
        doc_len[d] = len(doc)
        freqs: dict[str, int] = {}
        for w in doc:
            freqs[w] = freqs.get(w, 0) + 1
        for w, f in freqs.items():
            i = vocab.setdefault(w, len(vocab))
            if i == len(rows):
                rows.append([])
            rows[i].append((d, f))
    n = len(doc_terms)
    idf = np.zeros(len(vocab))
    if vocab:
        idf_sum = 0.0
        negative = []
        for i, postings in enumerate(rows):  # dict order of rank_bm25: first appearance
            value = math.log(n - len(postings) + 0.5) - math.log(len(postings) + 0.5)
            idf[i] = value
            idf_sum += value
            if value < 0:
                negative.append(i)
        eps = EPSILON * (idf_sum / len(vocab))
        idf[negative] = eps
    indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows]) if rows else []
    docs = np.fromiter((d for r in rows for d, _ in r), dtype=np.int32, count=int(indptr[-1]))
    tf = np.fromiter((f for r in rows for _, f in r), dtype=np.int64, count=int(indptr[-1]))
    avgdl = int(doc_len.sum()) / n if n else 1.0
    lens = doc_len[docs]
    weights = tf * (K1 + 1) / (tf + K1 * (1 - B + B * lens / avgdl)) if len(tf) else np.zeros(0)
    return Bm25Table(list(vocab), idf, indptr, docs, np.asarray(weights, dtype=np.float64), n)
