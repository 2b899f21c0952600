"""Bad corpus files never stop ingestion: unreadable files and folders, special files,
symlinks leaving the corpus, broken links and loops are each skipped with a warning naming
them, and the rest is ingested.

Unreadable files: the tests run as root, for whom ``chmod 000`` changes nothing, so the
faults are injected through the loader's one IO seam, ``ingest.load.Disk``: ``FaultyDisk``
below is a real ``Disk`` that raises ``PermissionError`` / ``OSError`` for chosen paths,
exactly as the OS would. ``test_cli.py`` also runs ``pht ingest`` on a really unreadable
file, as the unprivileged user ``nobody`` when the suite runs as root.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

import ingest.load as load_module
from core.errors import CorpusError
from ingest.load import Disk, load_corpus
from ingest.pipeline import ingest
from ingest.store import IndexStore, make_client
from tests.conftest import CORPUS, make_settings
from tests.fakes import FakeEmbedder

ARTICLE = "Loading the hamstring tendon with isometric bridges helps runners recover.\n"


class FaultyDisk(Disk):
    """The real disk, except that the named paths fail with the given OS error."""

    def __init__(self, unreadable: dict[Path, OSError]):
        self.unreadable = {p.resolve(): e for p, e in unreadable.items()}

    def _check(self, path: Path) -> None:
        if (err := self.unreadable.get(path.resolve())) is not None:
            raise err

    def list_dir(self, path: Path) -> list[str]:
        self._check(path)
        return super().list_dir(path)

    def read(self, path: Path, limit: int) -> bytes:
        self._check(path)
        return super().read(path, limit)


def denied(path: Path) -> PermissionError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


def skipped(warnings: list[str], name: str) -> str:
    hits = [w for w in warnings if w.startswith(f"Skipped {name}:") or
            w.startswith(f"Skipped folder {name}:")]
    assert len(hits) == 1, (name, warnings)
    return hits[0]


def test_unreadable_file_and_folder_are_skipped_with_warnings(corpus: Path) -> None:
    (corpus / "locked.txt").write_text(ARTICLE)
    (corpus / "private").mkdir()
    (corpus / "private" / "inside.md").write_text(ARTICLE)
    (corpus / "flaky.txt").write_text(ARTICLE)
    disk = FaultyDisk({corpus / "locked.txt": denied(corpus / "locked.txt"),
                       corpus / "private": denied(corpus / "private"),
                       corpus / "flaky.txt": OSError(errno.EIO, os.strerror(errno.EIO))})
    loaded = load_corpus(corpus, disk=disk)
    assert "permission denied" in skipped(loaded.warnings, "locked.txt")
    assert "permission denied" in skipped(loaded.warnings, "private")
    assert "input/output error" in skipped(loaded.warnings, "flaky.txt")
    sources = {d.source for d in loaded.docs}
    assert sources == {"corpus/is-it-ok-to-run-with-hamstring-pain.txt",
                       "corpus/understanding-pht-with-running.txt"}


def test_ingest_goes_on_past_an_unreadable_file(tmp_path: Path, corpus: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ``ingest()``: the pipeline builds the default ``Disk``, so the faulty one is
    put in its place for this test (the pipeline is not changed to take a disk)."""
    (corpus / "locked.txt").write_text(ARTICLE)
    monkeypatch.setattr(load_module, "Disk",
                        lambda: FaultyDisk({corpus / "locked.txt": denied(corpus / "locked.txt")}))
    summary = ingest(make_settings(tmp_path, corpus_dir=corpus), FakeEmbedder())
    assert summary.files == 2 and summary.chunks > 0
    assert "permission denied" in skipped(summary.warnings, "locked.txt")


def test_an_unreadable_corpus_folder_is_a_clear_error(corpus: Path) -> None:
    with pytest.raises(CorpusError, match=r"cannot be read \(permission denied\)"):
        load_corpus(corpus, disk=FaultyDisk({corpus: denied(corpus)}))


def test_symlinks_out_of_the_corpus_loops_and_broken_links_are_skipped(
    tmp_path: Path, corpus: Path
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("password: hunter2 tendon\n")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "secret.md").symlink_to(outside)
    (corpus / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    (corpus / "sub").mkdir()
    (corpus / "sub" / "up").symlink_to("..", target_is_directory=True)
    (corpus / "self.txt").symlink_to("self.txt")
    (corpus / "ping.txt").symlink_to("pong.txt")
    (corpus / "pong.txt").symlink_to("ping.txt")
    (corpus / "gone.txt").symlink_to("never-there.txt")
    (corpus / "alias.txt").symlink_to("understanding-pht-with-running.txt")
    (corpus / "sub" / "real.txt").write_text(ARTICLE)
    (corpus / "shortcut.txt").symlink_to("sub/real.txt")
    (corpus / "image.png").symlink_to("/etc/passwd")  # not an article: nothing would read it
    loaded = load_corpus(corpus)
    assert "/etc/passwd, outside the corpus folder" in skipped(loaded.warnings, "passwd.txt")
    assert "outside the corpus folder" in skipped(loaded.warnings, "secret.md")
    assert "outside the corpus folder" in skipped(loaded.warnings, "elsewhere")
    assert "a loop" in skipped(loaded.warnings, "sub/up")
    for name in ("self.txt", "ping.txt", "pong.txt"):
        assert "symlink loop" in skipped(loaded.warnings, name)
    assert "broken symlink" in skipped(loaded.warnings, "gone.txt")
    assert "read already" in skipped(loaded.warnings, "alias.txt")
    assert "read already" in skipped(loaded.warnings, "shortcut.txt")
    assert not any("image.png" in w for w in loaded.warnings)
    texts = " ".join(d.raw for d in loaded.docs)
    assert "hunter2" not in texts and "root:" not in texts
    assert sorted(d.source for d in loaded.docs) == [
        "corpus/is-it-ok-to-run-with-hamstring-pain.txt", "corpus/sub/real.txt",
        "corpus/understanding-pht-with-running.txt"]


def test_a_link_to_a_file_inside_the_corpus_is_read_under_its_name(corpus: Path) -> None:
    (corpus / ".drafts").mkdir()
    (corpus / ".drafts" / "draft.txt").write_text(ARTICLE)
    (corpus / "published.txt").symlink_to(".drafts/draft.txt")
    loaded = load_corpus(corpus)
    assert "corpus/published.txt" in {d.source for d in loaded.docs}
    assert not any("draft" in w for w in loaded.warnings if w.startswith("Skipped"))


def test_special_files_and_folders_named_like_articles(corpus: Path) -> None:
    os.mkfifo(corpus / "pipe.txt")  # reading it would block forever
    (corpus / "folder.txt").mkdir()  # a folder is walked into, whatever its name
    (corpus / "folder.txt" / "nested.md").write_text(ARTICLE)
    loaded = load_corpus(corpus)
    assert "not a regular file" in skipped(loaded.warnings, "pipe.txt")
    assert "corpus/folder.txt/nested.md" in {d.source for d in loaded.docs}


def test_a_file_swapped_for_a_fifo_after_listing_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "late.txt"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        Disk().read(fifo, 100)


def test_metadata_entries_without_a_file_are_reported(corpus: Path) -> None:
    meta = corpus / "metadata.yaml"
    meta.write_text(meta.read_text(encoding="utf-8") + "  removed.txt:\n    title: Old\n",
                    encoding="utf-8")
    loaded = load_corpus(corpus)
    assert any("entry for removed.txt" in w for w in loaded.warnings), loaded.warnings


def test_nothing_readable_stops_before_the_index(tmp_path: Path, corpus: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    first = ingest(settings, FakeEmbedder())
    articles = list(corpus.glob("*.txt"))
    monkeypatch.setattr(load_module, "Disk", lambda: FaultyDisk({p: denied(p) for p in articles}))
    with pytest.raises(CorpusError, match="No readable article"):
        ingest(settings, FakeEmbedder())
    assert IndexStore(make_client(settings), settings.collection_prefix).active_build() == \
        first.collection
