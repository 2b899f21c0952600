"""The warm path and ingest at scale keep their answers while doing less: the comparison form
of text, the sentence search's chunk ids, one content query for scope gate and search, cached
typo repairs, and promotions found by a scan of their kind instead of a filtered Chroma query,
each checked against the slow way it replaced."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answering.lexical import LexicalIndex, correct_typos
from assistant.answering.retrieval import Retriever
from core.text import _TRANSLATE, _WS, normalize
from ingest.pipeline import ingest
from ingest.store import IndexStore, make_client
from ingest.tables import BuildTables, write_tables
from ingest.terms import terms
from tests.conftest import CORPUS, make_settings
from tests.fakes import FakeEmbedder
from tests.test_index_scale import _synthetic


def _normalize_char_by_char(text: str, lower: bool = False) -> str:
    """The definition: every character looked at (the oracle for the fast path)."""
    out = text.translate(_TRANSLATE)
    out = "".join(
        " " if unicodedata.category(c) in ("So", "Cf", "Co", "Cs") or 0xFE00 <= ord(c) <= 0xFE0F
        else c for c in out
    )
    out = _WS.sub(" ", out).strip()
    return out.lower() if lower else out


def test_normalize_equals_looking_at_every_character() -> None:
    rng = random.Random(3)
    pool = [chr(i) for i in range(0x20000) if not 0xD800 <= i < 0xE000] + ["\ud83d"]
    samples = [p.read_text(encoding="utf-8") for p in CORPUS.glob("*.txt")]
    for _ in range(3000):
        samples.append("".join(rng.choice(pool) if rng.random() < 0.3 else rng.choice("ab .\n'")
                               for _ in range(rng.randint(0, 30))))
    samples += ["plain ascii only", "emoji \U0001f539 and\u2800braille", "\ufe0fselector", ""]
    for text in samples:
        assert normalize(text) == _normalize_char_by_char(text)
        assert normalize(text, lower=True) == _normalize_char_by_char(text, lower=True)


class _CountingCollection:
    """A Chroma collection that counts its queries (the real one answers them)."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.queries: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> Any:
        self.queries.append(kwargs)
        return self.inner.query(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _retriever(tmp_path: Path) -> Retriever:
    settings = make_settings(tmp_path)
    ingest(settings, FakeEmbedder())
    return Retriever(IndexStore(make_client(settings), settings.collection_prefix), FakeEmbedder())


def test_sentence_search_maps_ids_to_the_chunks_its_metadata_names(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path)
    for question in ("how long should I rest from running?", "are hill sprints ok?",
                     "what stretches help the sit bone?"):
        vec = retriever.embed_query(question)
        got = retriever._sentences.query(query_embeddings=[vec.tolist()], n_results=60,
                                         include=["metadatas"])
        by_metadata = list(dict.fromkeys(str(m["chunk_id"]) for m in got["metadatas"][0]))
        assert retriever.best_sentence_chunks(vec) == by_metadata
        assert len(by_metadata) > 3


def test_chunk_ids_of_keeps_order_pages_long_lists_and_drops_unknown_ids(tmp_path: Path) -> None:
    records = _synthetic(n_chunks=40, per_chunk=30, dim=4)
    write_tables(tmp_path / "t", records["chunks"], records["sentences"])
    tables = BuildTables(tmp_path / "t")
    sentences = records["sentences"]
    want = [str(m["chunk_id"]) for m in sentences.metadatas]
    ids = list(sentences.ids)
    assert len(ids) > 500  # more than one SQL query's worth
    assert tables.chunk_ids_of(ids) == want
    assert tables.chunk_ids_of(list(reversed(ids))) == list(reversed(want))
    assert tables.chunk_ids_of([ids[3], "s-not-there", ids[-1]]) == [want[3], want[-1]]
    assert tables.chunk_ids_of([]) == []
    tables.close()


def test_scope_gate_and_search_share_one_content_query(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path)
    counting = _CountingCollection(retriever._chunks)
    retriever._chunks = counting
    vec = retriever.embed_query("how long should I rest from running?")
    best = retriever.max_similarity(vec)
    fresh = retriever._chunks.inner.query(query_embeddings=[vec.tolist()], n_results=20,
                                          include=["distances"])
    top = [(i, 1.0 - float(d)) for i, d in zip(fresh["ids"][0], fresh["distances"][0], strict=True)]
    assert best == top[0][1]
    assert retriever.dense(vec, 20) == top
    retriever.search("how long should I rest from running?", k=4, vector=vec)
    assert len(counting.queries) == 1
    other = retriever.embed_query("is sitting on a hard chair a problem?")
    assert retriever.dense(other, 5) != top[:5]  # a new vector asks again
    assert len(counting.queries) == 2
    many = len(retriever.content_ids)
    assert len(retriever.dense(other, many)) == many  # more than was kept: asks again
    assert len(counting.queries) == 3


def test_cached_typo_repair_answers_as_comparing_again() -> None:
    docs = [terms(p.read_text(encoding="utf-8")) for p in CORPUS.glob("*.txt")]
    index = LexicalIndex(docs)
    rng = random.Random(5)
    words = sorted({t for d in docs for t in d if len(t) >= 6})
    typos = []
    for w in rng.sample(words, 60):
        i = rng.randrange(1, len(w) - 1)
        typos.append(w[:i] + w[i + 1 :])
    for query in (" ".join(typos[i : i + 3]) for i in range(0, len(typos), 3)):
        fresh = correct_typos(terms(query), index.vocabulary, index=index.typos)
        assert [index.repair(t) for t in terms(query)] == fresh
        assert index.own_terms(query) == index.own_terms(query)
    assert index.repair.cache_info().hits > 0
    assert np.array_equal(index.score_array(" ".join(typos[:3])),
                          index.score_array(" ".join(typos[:3])))


def test_promotions_scan_their_kind_as_a_filtered_chroma_query_finds_it(tmp_path: Path) -> None:
    retriever = _retriever(tmp_path)
    settings = make_settings(tmp_path)
    other = IndexStore(make_client(settings), settings.collection_prefix).collection(
        "chunks", retriever.build, content=False)
    kinds = [k for k in ("sponsorship", "call_to_action") if retriever._kinds.get(k)]
    assert kinds, "the shipped corpus has promotional blocks"
    for question in ("is the HEAL supplement worth buying?", "can I book a call with you?",
                     "how long until I can run hills?"):
        vec = retriever.embed_query(question)
        for kind in kinds:
            every = retriever._kinds[kind]
            got = other.query(query_embeddings=[vec.tolist()], n_results=every, where={"kind": kind},
                              include=["distances"])
            filtered = {i: 1.0 - d for i, d in zip(got["ids"][0], got["distances"][0], strict=True)}
            scanned = retriever.dense(vec, every, kind=kind)
            # each chunk at its own similarity, most similar first (equal texts tie)
            assert {i for i, _s in scanned} == set(filtered)
            assert all(abs(s - filtered[i]) < 1e-5 for i, s in scanned)
            assert [s for _i, s in scanned] == sorted((s for _i, s in scanned), reverse=True)
            few = retriever.dense(vec, 2, kind=kind)
            assert len(few) == min(2, every) and few == scanned[: len(few)]
    assert retriever.dense(vec, 3, kind="no-such-kind") == []
    promo = retriever.promotions("is the HEAL supplement worth buying?", k=1)
    assert promo and promo[0].kind in kinds


def test_nearest_of_kind_is_cosine_over_that_kind_only(tmp_path: Path) -> None:
    from ingest.store import Records

    vectors = [[3.0, 0.0], [0.0, 2.0], [1.0, 1.0], [5.0, 5.0]]  # not unit length
    kinds = ["sponsorship", "sponsorship", "sponsorship", "content"]
    meta = [{"kind": k, "source": "a.txt", "start": 0, "end": 1, "section": "", "title": "t",
             "edition": "", "edition_rank": 0, "dup_group": str(n)} for n, k in enumerate(kinds)]
    chunks = Records([f"c{n}" for n in range(4)], [f"text {n}" for n in range(4)], meta,
                     np.array(vectors))
    sentence = {"chunk_id": "c0", "start": 0, "end": 1, "kind": "sponsorship", "dup_key": "k"}
    write_tables(tmp_path / "t", chunks, Records(["s0"], ["text 0"], [sentence], np.ones((1, 2))))
    tables = BuildTables(tmp_path / "t")
    got = tables.nearest_of_kind(np.array([2.0, 0.2]), "sponsorship", 3)
    assert [i for i, _s in got] == ["c0", "c2", "c1"]  # the content chunk c3 is never a candidate
    expected = [2 / np.hypot(2, 0.2), np.dot([1, 1], [2, 0.2]) / (np.sqrt(2) * np.hypot(2, 0.2)), 0.2 / np.hypot(2, 0.2)]
    assert np.allclose([s for _i, s in got], expected)
    assert tables.nearest_of_kind(np.array([2.0, 0.2]), "sponsorship", 1) == got[:1]
    assert tables.nearest_of_kind(np.array([1.0, 0.0]), "testimonial", 3) == []  # no such chunks
    assert tables.nearest_of_kind(np.array([1.0, 0.0, 0.0]), "sponsorship", 3) == []  # other model
    assert tables.nearest_of_kind(np.array([1.0, 0.0]), "sponsorship", 0) == []
