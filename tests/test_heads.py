"""Sentence head vectors stored with an index build (``ingest.heads``) and the filler scorer
reading them: hermetic, with the fake embedder and a fake-embedded index of the corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.answering.informative import FillerFilter, InformativeModel, features
from assistant.answering.retrieval import Retriever
from ingest.heads import (
    KEYS,
    VECTORS,
    head,
    read_head_vectors,
    sentence_texts,
    write_build_heads,
    write_head_vectors,
)
from ingest.pipeline import ingest
from ingest.store import IndexStore, make_client
from ingest.tables import folder_for
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder


def _index(tmp_path: Path) -> tuple[IndexStore, Path]:
    settings = make_settings(tmp_path)
    ingest(settings, FakeEmbedder())
    store = IndexStore(make_client(settings), settings.collection_prefix)
    build = store.active_build()
    assert build is not None and store.tables_dir is not None
    return store, folder_for(store.tables_dir, store.prefix, build)


def test_heads_are_row_aligned_with_the_quoted_sentences_and_reused(tmp_path: Path) -> None:
    store, folder = _index(tmp_path)
    retriever = Retriever(store, FakeEmbedder())
    assert retriever.head_vectors(["no-such-sentence"]) is None  # unknown id: the scorer embeds
    embedder = FakeEmbedder()
    texts = sentence_texts(folder)
    assert len(texts) == retriever.tables.n_sentences
    embedded = write_build_heads(folder, embedder)
    distinct = len({head(t) for t in texts})
    assert embedded == distinct == embedder.embedded  # each distinct head once
    stored = read_head_vectors(folder, len(texts))
    assert stored is not None and stored.shape == (len(texts), embedder.dimension)

    retriever = Retriever(store, FakeEmbedder())
    spans = [s for p in list(retriever.passages.values())[:5] for s in p.sentences
             if s.kind == "content"]
    got = retriever.head_vectors([s.id for s in spans])
    assert got is not None
    # each row is the head of the sentence as answers quote it
    want = embedder.embed([head(s.text) for s in spans])
    assert np.allclose(got, want)
    assert retriever.head_vectors([spans[0].id, "no-such-sentence"]) is None

    again = FakeEmbedder()  # a next build with the same sentences embeds nothing
    other = tmp_path / "next-build"
    assert write_head_vectors(other, texts, again, reuse=[folder]) == 0 and again.embedded == 0
    assert np.array_equal(np.load(other / VECTORS), np.load(folder / VECTORS))
    changed = FakeEmbedder()
    assert write_head_vectors(other, [*texts, "A brand new sentence here."], changed,
                              reuse=[folder]) == 1


def test_heads_that_do_not_match_the_build_are_not_used(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    write_head_vectors(tmp_path, ["One sentence here.", "Another one there."], embedder)
    assert read_head_vectors(tmp_path, 2) is not None
    assert read_head_vectors(tmp_path, 3) is None  # another build's sentence count
    (tmp_path / KEYS).write_text("[1]", encoding="utf-8")
    assert read_head_vectors(tmp_path, 2) is None
    assert read_head_vectors(tmp_path / "missing", 2) is None


def test_filler_scorer_reads_stored_heads_without_embedding_and_decides_the_same() -> None:
    embedder = FakeEmbedder()
    texts = [f"Sentence {i} says {'below I will outline' if i % 3 else 'load the tendon slowly'}"
             f" and more words {i * 7}" for i in range(12)]
    ids = [f"s{i}" for i in range(12)]
    vectors = list(embedder.embed(texts))
    heads = embedder.embed([head(t) for t in texts])
    rng = np.random.default_rng(0)
    x = features(np.vstack(vectors), heads)
    weights = np.asarray(rng.normal(size=x.shape[1]), dtype=np.float64)
    model = InformativeModel(weights, 0.0, float(np.median(1 / (1 + np.exp(-(x @ weights))))),
                             embedder.fingerprint())
    by_id = dict(zip(ids, heads, strict=True))

    embedding = FakeEmbedder()
    reading = FakeEmbedder()
    lazy = FillerFilter(model, embedding.embed)
    stored = FillerFilter(model, reading.embed, lambda want: np.vstack([by_id[i] for i in want]))
    got = stored.filler(ids, texts, vectors)
    assert got == lazy.filler(ids, texts, vectors)
    assert 0 < len(got) < len(ids)  # the threshold splits them: the comparison means something
    assert reading.calls == [] and embedding.calls == [12]
    none = FillerFilter(model, reading.embed, lambda want: None)  # a build without heads
    assert none.filler(ids, texts, vectors) == got and reading.calls == [12]


class _OtherModel(FakeEmbedder):
    """Another embedding model of the same dimension: every vector differs from the fake's."""

    def _vector(self, text: str) -> np.ndarray:
        return -super()._vector(text)


def _content_spans(retriever: Retriever) -> list:  # type: ignore[type-arg]
    return [s for p in list(retriever.passages.values())[:5] for s in p.sentences
            if s.kind == "content"]


def test_ingest_stores_heads_and_never_reuses_another_models(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    ingest(settings, FakeEmbedder())
    store = IndexStore(make_client(settings), settings.collection_prefix)
    retriever = Retriever(store, FakeEmbedder())
    spans = _content_spans(retriever)
    stored = retriever.head_vectors([s.id for s in spans])
    assert stored is not None  # written by `ingest` itself, no second step
    assert np.allclose(stored, FakeEmbedder().embed([head(s.text) for s in spans]))

    # the same texts under another embedding model (same dimension): the heads are the new
    # model's, not the previous build's vectors reused by text
    other = _OtherModel(name="fake-other")
    ingest(settings, other, rebuild=True)
    store = IndexStore(make_client(settings), settings.collection_prefix)
    retriever = Retriever(store, other)
    spans = _content_spans(retriever)
    again = retriever.head_vectors([s.id for s in spans])
    want = other.embed([head(s.text) for s in spans])
    assert again is not None and np.allclose(again, want)
    assert not np.allclose(again, FakeEmbedder().embed([head(s.text) for s in spans]))
