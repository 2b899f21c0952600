"""Hermetic integration tests of ingestion: offsets, bounds, idempotence, atomicity, errors."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from core.errors import CorpusError, IndexMismatchError, IndexMissingError, IndexStateError
from ingest.load import load_corpus
from ingest.pipeline import fingerprint_of, ingest, prepare
from ingest.store import IndexStore, make_client
from tests.conftest import CORPUS, REPO, make_settings
from tests.fakes import FakeEmbedder

OLD = "is-it-ok-to-run-with-hamstring-pain.txt"
NEW = "understanding-pht-with-running.txt"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


def store_for(settings) -> IndexStore:  # type: ignore[no-untyped-def]
    return IndexStore(make_client(settings), settings.collection_prefix)


def raw_text(corpus_dir: Path, source: str) -> str:
    return (corpus_dir.parent / source).read_bytes().decode("utf-8-sig")


def test_every_stored_span_is_exact(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    ingest(settings, FakeEmbedder())
    store = store_for(settings)
    for kind in ("chunks", "sentences"):
        recs = store.read(kind, embeddings=False)
        assert len(recs) > 20
        for doc, meta in zip(recs.documents, recs.metadatas, strict=True):
            raw = raw_text(corpus, meta["source"])
            assert raw[meta["start"] : meta["end"]] == doc
            if meta.get("heading_start", -1) >= 0:  # chunks quote their section heading exactly
                assert raw[meta["heading_start"] : meta["heading_end"]] == meta["section"]
    chunks = store.read("chunks", embeddings=False).metadatas
    assert sum(m["heading_start"] >= 0 for m in chunks) > 20


def test_chunks_respect_a_small_token_limit(tmp_path: Path) -> None:
    embedder = FakeEmbedder(max_tokens=40)
    prepared = prepare(load_corpus(CORPUS).docs, embedder)
    assert prepared.chunks and prepared.sentences
    assert max(c.n_tokens for c in prepared.chunks) <= 40
    assert all(embedder.count_tokens(s.embed_text) <= 40 for s in prepared.sentences)


def test_second_ingest_embeds_nothing(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    first = ingest(settings, FakeEmbedder())
    assert first.embedded == first.chunks + first.sentences > 0
    second = ingest(settings, FakeEmbedder())
    assert second.embedded == 0
    assert second.skipped == first.chunks + first.sentences
    assert second.collection == first.collection  # nothing was rewritten


def test_changed_file_replaces_only_its_entries(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    ingest(settings, FakeEmbedder())
    before = store_for(settings).read("chunks", embeddings=False)
    old_ids = {i for i, m in zip(before.ids, before.metadatas, strict=True) if m["source"].endswith(OLD)}
    path = corpus / NEW
    path.write_text(
        path.read_text(encoding="utf-8") + "\n\nEccentric loading twice a week helps tendons adapt.\n",
        encoding="utf-8",
    )
    embedder = FakeEmbedder()
    summary = ingest(settings, embedder)
    assert 0 < summary.embedded <= 4  # the new sentence and its chunk (and a neighbour at most)
    after = store_for(settings).read("chunks", embeddings=False)
    assert old_ids <= set(after.ids)  # the untouched file kept its records
    assert any("Eccentric loading twice a week" in d for d in after.documents)


def test_removed_file_entries_are_deleted(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    ingest(settings, FakeEmbedder())
    (corpus / OLD).unlink()
    summary = ingest(settings, FakeEmbedder())
    assert summary.deleted > 0 and summary.embedded == 0
    recs = store_for(settings).read("sentences", embeddings=False)
    assert all(not m["source"].endswith(OLD) for m in recs.metadatas)


def test_rebuild_reembeds_everything_into_a_new_build(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    first = ingest(settings, FakeEmbedder())
    from assistant.answering.retrieval import Retriever

    reader = Retriever(store_for(settings), FakeEmbedder())  # a running app reads the first build
    again = ingest(settings, FakeEmbedder(), rebuild=True)
    assert again.embedded == first.embedded
    assert again.collection != first.collection
    names = {c.name for c in store_for(settings).client.list_collections()}
    assert any(first.collection in n for n in names)  # kept while a running app reads it
    assert reader.search("tendon loading")
    del reader
    third = ingest(settings, FakeEmbedder(), rebuild=True)
    names = {c.name for c in store_for(settings).client.list_collections()}
    assert not any(first.collection in n for n in names)  # then dropped
    assert sum(third.collection in n for n in names) == 4  # chunks, sentences: content + other


def test_model_mismatch_says_to_rebuild(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    ingest(settings, FakeEmbedder(name="model-a"))
    with pytest.raises(IndexMismatchError, match=r"pht ingest --rebuild"):
        store_for(settings).check_compatible(fingerprint_of(FakeEmbedder(name="model-b")))
    with pytest.raises(IndexMissingError, match="pht ingest"):
        store_for(make_settings(tmp_path / "other")).check_compatible(fingerprint_of(FakeEmbedder()))


def test_interrupted_rebuild_leaves_the_old_index_queryable(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    first = ingest(settings, FakeEmbedder())
    marker = tmp_path / "embedding-done"
    child = textwrap.dedent(
        f"""
        import sys; sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from tests.conftest import make_settings
        from tests.fakes import FakeEmbedder
        from ingest.pipeline import ingest
        s = make_settings(Path({str(tmp_path)!r}), corpus_dir=Path({str(corpus)!r}))
        ingest(s, FakeEmbedder(), rebuild=True, pause=60,
               progress=lambda d, t: Path({str(marker)!r}).touch())
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=REPO)
    try:
        deadline = time.time() + 60
        while not marker.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), "the child never started embedding"
        time.sleep(2.0)  # it is now inside write_build, pausing after its first batch
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    store = store_for(settings)
    assert store.active_build() == first.collection
    assert len(store.read("chunks", embeddings=False)) == first.chunks
    store.check_compatible(fingerprint_of(FakeEmbedder()))
    # The next run cleans up the half-written build and embeds nothing new.
    again = ingest(settings, FakeEmbedder())
    assert again.embedded == 0
    names = {c.name for c in store_for(settings).client.list_collections()}
    assert len(names) == 5  # manifest + chunks + sentences (content and other) of one build


def test_missing_and_empty_corpus_folders_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        ingest(make_settings(tmp_path, corpus_dir=tmp_path / "nope"), FakeEmbedder())
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match=r"no \.txt or \.md files"):
        ingest(make_settings(tmp_path, corpus_dir=tmp_path / "empty"), FakeEmbedder())


def test_bad_files_are_skipped_with_warnings(tmp_path: Path, corpus: Path) -> None:
    (corpus / "empty.txt").write_text("")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02PNG")
    (corpus / "latin1.md").write_bytes("caf\xe9 tendon".encode("latin-1"))
    with open(corpus / "huge.txt", "wb") as fh:
        fh.write(b"tendon load " * (50 * 1024 * 1024 // 12))
    (corpus / "promo.txt").write_text(
        "Use code SAVE20 for 20% off your order!\n\nBook a call with our coaching team today!\n"
    )
    settings = make_settings(tmp_path, corpus_dir=corpus)
    summary = ingest(settings, FakeEmbedder())
    text = " ".join(summary.warnings)
    for name, why in [("empty.txt", "empty"), ("binary.txt", "binary"), ("latin1.md", "not UTF-8"),
                      ("huge.txt", "limit"), ("promo.txt", "no clinical content")]:
        assert name in text and why in text, (name, text)
    assert summary.files == 3  # the two articles and the promotional file


def test_only_unreadable_files_stop_before_touching_the_index(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    first = ingest(settings, FakeEmbedder())
    for f in corpus.glob("*.txt"):
        f.write_bytes(b"\x00\x00")
    with pytest.raises(CorpusError, match="No readable article"):
        ingest(settings, FakeEmbedder())
    assert store_for(settings).active_build() == first.collection


def test_unwritable_index_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = make_settings(tmp_path, index_dir=blocker / "index")
    with pytest.raises(IndexStateError, match="not writable"):
        ingest(settings, FakeEmbedder())


def test_metadata_only_changes_are_written_without_reembedding(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    first = ingest(settings, FakeEmbedder())
    meta = corpus / "metadata.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("newer edition", "newest edition"),
                    encoding="utf-8")
    again = ingest(settings, FakeEmbedder())
    assert again.collection != first.collection  # the change was written ...
    recs = store_for(settings).read("chunks", embeddings=False)
    assert any(m["edition"] == "newest edition" for m in recs.metadatas)
    # ... and only texts whose embedding input changed (chunks carry the title; sentences don't)
    assert again.embedded == 0


def test_a_running_assistant_survives_and_follows_a_new_ingest(tmp_path: Path, corpus: Path) -> None:
    from assistant.service import build_assistant

    settings = make_settings(tmp_path, corpus_dir=corpus)
    embedder = FakeEmbedder()
    ingest(settings, embedder)
    service = build_assistant(settings, embedder=embedder, backend="extractive")
    service.refresh_every = 0.0  # look for a new build on every question
    old_retriever = service.retriever
    assert service.ask("Does stretching fix hamstring tendinopathy?").status == "answered"
    path = corpus / NEW
    path.write_text(path.read_text(encoding="utf-8") + "\n\nNew paragraph on tendon loading.\n",
                    encoding="utf-8")
    summary = ingest(settings, embedder)
    assert old_retriever.search("tendon loading")  # the previous build is still there
    answer = service.ask("Does stretching fix hamstring tendinopathy?")
    assert answer.status == "answered" and answer.citations
    assert service.retriever.build == summary.collection  # it switched to the new build
    ingest(settings, embedder, rebuild=True)  # two writes later the first build is gone
    names = {c.name for c in store_for(settings).client.list_collections()}
    assert not any(str(old_retriever.build) in n for n in names)
