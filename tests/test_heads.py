"""The filler scorer's vectors (sentences alone, and their heads) stored with an index build
(``ingest.heads``) and the scorer reading them: hermetic, with the fake embedder and a
fake-embedded index of the corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assistant.answering.informative import FillerFilter, InformativeModel, features
from assistant.answering.retrieval import Retriever
from ingest.heads import (
    BARE_KEYS,
    BARE_VECTORS,
    KEYS,
    VECTORS,
    has_filler_vectors,
    head,
    read_bare_vectors,
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
    assert retriever.filler_vectors(["no-such-sentence"]) is None  # unknown id: the scorer embeds
    texts = sentence_texts(folder)
    assert len(texts) == retriever.tables.n_sentences
    for name in (VECTORS, KEYS, BARE_VECTORS, BARE_KEYS):  # a build from before: nothing stored
        (folder / name).unlink()
    assert not has_filler_vectors(folder)
    embedder = FakeEmbedder()
    embedded = write_build_heads(folder, embedder)
    distinct = len({*(head(t) for t in texts), *texts})  # a short sentence is its own head
    assert embedded == distinct == embedder.embedded  # each distinct text once
    assert has_filler_vectors(folder)
    for read in (read_head_vectors, read_bare_vectors):
        stored = read(folder, len(texts))
        assert stored is not None and stored.shape == (len(texts), embedder.dimension)
    assert write_build_heads(folder, FakeEmbedder()) == 0  # what the folder holds is kept

    retriever = Retriever(store, FakeEmbedder())
    spans = [s for p in list(retriever.passages.values())[:5] for s in p.sentences
             if s.kind == "content"]
    got = retriever.filler_vectors([s.id for s in spans])
    assert got is not None
    # each row is the sentence as answers quote it, alone (not with its section heading, as
    # the index embeds it), and its head
    assert np.allclose(got[0], embedder.embed([s.text for s in spans]))
    assert np.allclose(got[1], embedder.embed([head(s.text) for s in spans]))
    assert not np.allclose(got[0], np.vstack([retriever.sentences.vector(s.id) for s in spans]))
    assert retriever.filler_vectors([spans[0].id, "no-such-sentence"]) is None

    again = FakeEmbedder()  # a next build with the same sentences embeds nothing
    other = tmp_path / "next-build"
    assert write_head_vectors(other, texts, again, reuse=[folder]) == 0 and again.embedded == 0
    assert np.array_equal(np.load(other / VECTORS), np.load(folder / VECTORS))
    assert np.array_equal(np.load(other / BARE_VECTORS), np.load(folder / BARE_VECTORS))
    changed = FakeEmbedder()
    # a new sentence of over HEAD_WORDS words: itself and its head
    assert write_head_vectors(other, [*texts, "A brand new sentence here with many more words."],
                              changed, reuse=[folder]) == 2


def test_heads_that_do_not_match_the_build_are_not_used(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    write_head_vectors(tmp_path, ["One sentence here.", "Another one there."], embedder)
    assert read_head_vectors(tmp_path, 2) is not None
    assert read_bare_vectors(tmp_path, 2) is not None
    assert read_head_vectors(tmp_path, 3) is None  # another build's sentence count
    (tmp_path / KEYS).write_text("[1]", encoding="utf-8")
    assert read_head_vectors(tmp_path, 2) is None
    (tmp_path / BARE_KEYS).write_text("[1]", encoding="utf-8")
    assert read_bare_vectors(tmp_path, 2) is None
    assert read_head_vectors(tmp_path / "missing", 2) is None


def test_filler_scorer_reads_stored_vectors_without_embedding_and_decides_the_same() -> None:
    embedder = FakeEmbedder()
    texts = [f"Sentence {i} says {'below I will outline' if i % 3 else 'load the tendon slowly'}"
             f" and more words {i * 7}" for i in range(12)]
    ids = [f"s{i}" for i in range(12)]
    bare = embedder.embed(texts)
    heads = embedder.embed([head(t) for t in texts])
    rng = np.random.default_rng(0)
    x = features(bare, heads)
    weights = np.asarray(rng.normal(size=x.shape[1]), dtype=np.float64)
    model = InformativeModel(weights, 0.0, float(np.median(1 / (1 + np.exp(-(x @ weights))))),
                             embedder.fingerprint())
    by_id = {i: (b, h) for i, b, h in zip(ids, bare, heads, strict=True)}

    def stored(want: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return (np.vstack([by_id[i][0] for i in want]), np.vstack([by_id[i][1] for i in want]))

    embedding = FakeEmbedder()
    reading = FakeEmbedder()
    lazy = FillerFilter(model, embedding.embed)
    from_build = FillerFilter(model, reading.embed, stored)
    got = from_build.filler(ids, texts)
    assert got == lazy.filler(ids, texts)
    assert 0 < len(got) < len(ids)  # the threshold splits them: the comparison means something
    assert reading.calls == [] and embedding.calls == [24]  # sentences and heads, one call
    none = FillerFilter(model, reading.embed, lambda want: None)  # a build without them
    assert none.filler(ids, texts) == got and reading.calls == [24]


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
    stored = retriever.filler_vectors([s.id for s in spans])
    assert stored is not None  # written by `ingest` itself, no second step
    assert np.allclose(stored[1], FakeEmbedder().embed([head(s.text) for s in spans]))

    # the same texts under another embedding model (same dimension): the heads are the new
    # model's, not the previous build's vectors reused by text
    other = _OtherModel(name="fake-other")
    ingest(settings, other, rebuild=True)
    store = IndexStore(make_client(settings), settings.collection_prefix)
    retriever = Retriever(store, other)
    spans = _content_spans(retriever)
    again = retriever.filler_vectors([s.id for s in spans])
    want = other.embed([head(s.text) for s in spans])
    assert again is not None and np.allclose(again[1], want)
    assert not np.allclose(again[1], FakeEmbedder().embed([head(s.text) for s in spans]))
    assert np.allclose(again[0], other.embed([s.text for s in spans]))


def test_an_unchanged_ingest_completes_a_build_stored_before_the_sentences_alone(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    ingest(settings, FakeEmbedder())
    store, folder = _index_of(settings)
    heads_before = np.load(folder / VECTORS)
    (folder / BARE_VECTORS).unlink()
    (folder / BARE_KEYS).unlink()
    assert Retriever(store, FakeEmbedder()).filler_vectors(["any"]) is None
    embedder = FakeEmbedder()
    summary = ingest(settings, embedder)
    assert summary.embedded == 0 and has_filler_vectors(folder)
    texts = sentence_texts(folder)
    # only the sentences that are not their own head were embedded: the heads were kept
    assert embedder.embedded == len({t for t in texts if head(t) != t} - {head(t) for t in texts})
    assert np.array_equal(np.load(folder / VECTORS), heads_before)
    stored = read_bare_vectors(folder, len(texts))
    assert stored is not None and np.allclose(stored, FakeEmbedder().embed(texts))


def _index_of(settings) -> tuple[IndexStore, Path]:  # type: ignore[no-untyped-def]
    store = IndexStore(make_client(settings), settings.collection_prefix)
    build = store.active_build()
    assert build is not None and store.tables_dir is not None
    return store, folder_for(store.tables_dir, store.prefix, build)
