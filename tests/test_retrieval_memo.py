"""The content query's hits are kept for a message's few vectors: a message with several asks
asks Chroma once per vector (scope gate and search share it), and the hits are the fresh ones."""

from __future__ import annotations

from pathlib import Path

from tests.test_scale_hotpath import _CountingCollection, _retriever


def test_each_ask_vector_is_queried_once_and_answers_as_a_fresh_query(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path)
    counting = _CountingCollection(retriever._chunks)
    retriever._chunks = counting
    asks = ["how long should I rest from running?", "is sitting on a hard chair a problem?",
            "should I stretch my hamstrings?"]
    vecs = [retriever.embed_query(a) for a in asks]
    first = [retriever.dense(v, 10) for v in vecs]
    for v, a, hits in zip(vecs, asks, first, strict=True):  # the search after the scope gate
        assert retriever.max_similarity(v) == hits[0][1]
        retriever.search(a, k=4, vector=v)
    assert len(counting.queries) == len(asks)
    for v, hits in zip(vecs, first, strict=True):
        fresh = counting.inner.query(query_embeddings=[v.tolist()], n_results=10,
                                     include=["distances"])
        assert hits == [(i, 1.0 - float(d)) for i, d in
                        zip(fresh["ids"][0], fresh["distances"][0], strict=True)]
    for n in range(12):  # older vectors make way for new ones
        retriever.dense(retriever.embed_query(f"question number {n} about tendons"), 3)
    retriever.dense(vecs[0], 3)
    assert len(counting.queries) == len(asks) + 12 + 1


def test_prefetched_asks_cost_one_query_per_collection_and_search_as_fresh(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path)
    asks = ["how long should I rest from running?", "is sitting on a hard chair a problem?",
            "should I stretch my hamstrings?"]
    vecs = [retriever.embed_query(a) for a in asks]
    fresh = [retriever.search(a, k=4, vector=v) for a, v in zip(asks, vecs, strict=True)]
    fresh_best = [retriever.max_similarity(v) for v in vecs]

    retriever = _retriever(tmp_path)  # a fresh retriever on the same index: nothing memoised
    chunks = retriever._chunks = _CountingCollection(retriever._chunks)
    sentences = retriever._sentences = _CountingCollection(retriever._sentences)
    retriever.prefetch([*vecs, vecs[0]], sentences=True)  # a repeat is asked once
    assert (len(chunks.queries), len(sentences.queries)) == (1, 1)
    assert [retriever.max_similarity(v) for v in vecs] == fresh_best
    assert [retriever.search(a, k=4, vector=v) for a, v in zip(asks, vecs, strict=True)] == fresh
    assert (len(chunks.queries), len(sentences.queries)) == (1, 1)  # all served from the batch
    retriever.prefetch(vecs[:1], sentences=True)  # one vector: its own search asks, as before
    assert (len(chunks.queries), len(sentences.queries)) == (1, 1)
