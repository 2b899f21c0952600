"""The index at scale: paged past SQLite's bound-variable limit, build tables, unchanged
re-ingests that prepare nothing, disk use across rebuilds, and a read-only index folder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.answering.retrieval import Retriever
from ingest.pipeline import fingerprint_of, ingest
from ingest.store import IndexStore, Records, make_client
from ingest.tables import folder_for
from tests.conftest import CORPUS, make_settings
from tests.fakes import FakeEmbedder

SQLITE_LIMIT = 32_766  # bound variables per statement in Chroma 1.5's SQLite


class CountingEmbedder(FakeEmbedder):
    """A fake that counts token counts too: preparing a corpus counts tokens."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.counted = 0

    def count_tokens(self, text: str) -> int:
        self.counted += 1
        return super().count_tokens(text)


def _synthetic(n_chunks: int, per_chunk: int, dim: int) -> dict[str, Records]:
    """``n_chunks`` content chunks of ``per_chunk`` sentences, unit vectors of ``dim``."""
    rng = np.random.default_rng(7)
    c_ids, c_docs, c_meta, s_ids, s_docs, s_meta = [], [], [], [], [], []
    for c in range(n_chunks):
        words = [f"w{c % 997}x{k}" for k in range(per_chunk)]
        sents = [f"{w} tendon." for w in words]
        text = " ".join(sents)
        cid = f"c{c:07d}"
        sids = [f"s{c:07d}-{k}" for k in range(per_chunk)]
        base = {"source": f"corpus/f{c // 50}.txt", "kind": "content", "section": f"S{c % 13}",
                "title": "T", "edition": "e", "edition_rank": 1, "position": c,
                "dup_key": cid, "dup_group": cid, "embed_key": cid}
        c_ids.append(cid)
        c_docs.append(text)
        c_meta.append({**base, "start": 0, "end": len(text), "n_tokens": 10,
                       "sentence_ids": ",".join(sids), "heading_start": -1, "heading_end": -1})
        at = 0
        for k, (sid, s) in enumerate(zip(sids, sents, strict=True)):
            s_ids.append(sid)
            s_docs.append(s)
            s_meta.append({**base, "start": at, "end": at + len(s), "chunk_id": cid,
                           "position": k, "dup_key": sid, "dup_group": sid, "embed_key": sid})
            at += len(s) + 1

    def unit(n: int) -> np.ndarray:
        v = rng.normal(size=(n, dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    return {"chunks": Records(c_ids, c_docs, c_meta, unit(len(c_ids))),
            "sentences": Records(s_ids, s_docs, s_meta, unit(len(s_ids)))}


def test_reads_and_writes_are_paged_past_the_sqlite_limit(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    records = _synthetic(n_chunks=1_100, per_chunk=30, dim=4)
    assert len(records["sentences"]) > SQLITE_LIMIT
    store = IndexStore(make_client(settings, write=True), settings.collection_prefix)
    embedder = FakeEmbedder(dimension=4)
    build = store.write_build(fingerprint_of(embedder), records)
    store = IndexStore(make_client(settings), settings.collection_prefix)
    back = store.read("sentences", embeddings=False)
    assert len(back) == len(records["sentences"])
    assert set(back.ids) == set(records["sentences"].ids)
    # No tables were written beside this build: the retriever rebuilds them, page by page.
    assert not folder_for(store.tables_dir, store.prefix, build).exists()  # type: ignore[arg-type]
    retriever = Retriever(store, embedder)
    assert folder_for(store.tables_dir, store.prefix, build).is_dir()  # type: ignore[arg-type]
    hit = retriever.search("w5x2 tendon", k=1, vector=records["sentences"].embeddings[17])
    assert hit and hit[0].text.count("tendon.") == 30
    assert retriever.sentences.vector(records["sentences"].ids[-1]).shape == (4,)


def test_unchanged_reingest_prepares_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = make_settings(tmp_path, corpus_dir=corpus)
    first = ingest(settings, CountingEmbedder())
    embedder = CountingEmbedder()
    again = ingest(settings, embedder)
    assert embedder.counted == 0 and embedder.embedded == 0  # not split, not embedded
    assert (again.chunks, again.sentences, again.collection) == (
        first.chunks, first.sentences, first.collection)
    assert again.blocks == first.blocks and again.skipped == first.chunks + first.sentences
    # A changed file is noticed by its hash and only its new texts are embedded.
    path = next(corpus.glob("*.txt"))
    path.write_text(path.read_text(encoding="utf-8") + "\n\nHill sprints load the tendon.\n",
                    encoding="utf-8")
    embedder = CountingEmbedder()
    changed = ingest(settings, embedder)
    assert changed.collection != first.collection
    assert 0 < embedder.embedded <= 4 and embedder.counted > 0


def test_retriever_reads_the_build_tables_not_the_collections(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    summary = ingest(settings, FakeEmbedder())
    store = IndexStore(make_client(settings), settings.collection_prefix)
    folder = folder_for(store.tables_dir, store.prefix, summary.collection)  # type: ignore[arg-type]
    assert (folder / "records.sqlite").is_file()
    from_tables = Retriever(store, FakeEmbedder())
    first = [p.id for p in from_tables.search("how long should I rest from running?", k=4)]
    shutil.rmtree(folder)  # the same answers when rebuilt from the collections
    rebuilt = Retriever(store, FakeEmbedder())
    assert [p.id for p in rebuilt.search("how long should I rest from running?", k=4)] == first
    assert len(rebuilt.passages) == summary.chunks
    p = rebuilt.passages[first[0]]
    assert all(p.text[s.start - p.start : s.end - p.start] == s.text for s in p.sentences)
    by_source = {q.id for q in rebuilt.passages.values() if q.source == p.source}
    assert {q.id for q in rebuilt.passages.of_source(p.source)} == by_source


def _disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def test_ten_rebuilds_use_at_most_twice_the_disk_of_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    ingest(settings, FakeEmbedder())
    one = _disk(settings.resolved_index_dir)
    for _ in range(10):
        ingest(settings, FakeEmbedder(), rebuild=True)
    after = _disk(settings.resolved_index_dir)
    assert after <= 2 * one, (one, after)
    store = IndexStore(make_client(settings), settings.collection_prefix)
    assert len(store.builds()) == 1  # no running app holds the previous build: it went too
    assert [p.name for p in store.tables_dir.iterdir()] == [f"pht_{store.active_build()}"]  # type: ignore[union-attr]


def _read_only_mount(src: Path, dest: Path) -> bool:
    dest.mkdir()
    if os.geteuid() != 0:
        os.chmod(src, 0o555)  # enough for a normal user
        dest.rmdir()
        dest.symlink_to(src)
        return True
    done = subprocess.run(["mount", "--bind", "-o", "ro", str(src), str(dest)],
                          capture_output=True, check=False)
    return done.returncode == 0


def test_a_read_only_index_folder_answers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    ingest(settings, FakeEmbedder())
    ro = tmp_path / "ro-index"
    if not _read_only_mount(settings.resolved_index_dir, ro):
        pytest.skip("cannot make a read-only folder here (not root and no mount)")
    try:
        ro_settings = make_settings(tmp_path, index_dir=ro)
        store = IndexStore(make_client(ro_settings), ro_settings.collection_prefix)
        assert store.tables_dir == ro / "tables"
        hits = Retriever(store, FakeEmbedder()).search("when can I run again?", k=2)
        assert len(hits) == 2
    finally:
        if not ro.is_symlink():  # a bind mount (Path.is_mount is False on the same device)
            # lazily: the read-only client may still hold its files open
            subprocess.run(["umount", "-l", str(ro)], capture_output=True, check=False)
        os.chmod(settings.resolved_index_dir, 0o755)
