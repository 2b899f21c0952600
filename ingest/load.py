"""Load the corpus folder: every ``*.txt`` / ``*.md`` file plus ``metadata.yaml``.

This is the only ingestion step that reads articles. Bad files never stop the run:
each one is skipped with a warning that names it and says why: empty, binary, non-UTF-8
or oversized files; files and folders that cannot be read (permissions, I/O errors) and
things that are not regular files (FIFOs, sockets, devices); symlinks whose target leaves
the corpus folder (e.g. to ``/etc/passwd``), broken symlinks and symlink loops. A symlink
to a file inside the folder is read under the link's name (unless that file is read
already); symlinked folders are never followed, so a walk always ends. Hidden entries
(``.name``) are ignored quietly. A missing, unreadable or empty corpus folder is a
``CorpusError`` raised before anything touches the index. All reads go through ``Disk``,
which tests replace with a faulty one. It does not clean or split text, and it does not
check the YAML files itself: it calls ``ingest.corpus_config`` (first the files, then the
notes' anchors against the loaded text), whose errors stop the run.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import CorpusError
from ingest.corpus_config import (
    METADATA_FILE,
    ArticleMeta,
    check_note_anchors,
    validate_corpus_config,
)
from ingest.models import SourceDoc

SUFFIXES = (".txt", ".md")
__all__ = ["METADATA_FILE", "SUFFIXES", "Disk", "LoadedCorpus", "load_corpus", "source_name"]


@dataclass
class LoadedCorpus:
    docs: list[SourceDoc] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Disk:
    """The two reads the loader makes. Tests subclass it to make chosen paths fail the way
    a real disk does (``PermissionError``, ``OSError``), which works even when run as root."""

    def list_dir(self, path: Path) -> list[str]:
        return sorted(os.listdir(path))

    def read(self, path: Path, limit: int) -> bytes:
        """At most ``limit`` bytes of the regular file ``path`` (never blocks on a FIFO)."""
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            return fh.read(limit)


def source_name(corpus_dir: Path, path: Path) -> str:
    """Path shown to users: relative to the corpus folder's parent, e.g. ``corpus/a.txt``.

    >>> source_name(Path("/repo/corpus"), Path("/repo/corpus/sub/a.txt"))
    'corpus/sub/a.txt'
    """
    return (Path(corpus_dir.name) / path.relative_to(corpus_dir)).as_posix()


def _why(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


@dataclass
class _Walk:
    """Files found under the root (shown path, real path) and the warnings of the walk."""

    root: Path
    disk: Disk
    files: list[tuple[Path, Path]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    links: list[Path] = field(default_factory=list)  # read after every real file is known

    def run(self) -> None:
        self.folder(self.root)
        for path in self.links:
            self.link(path)

    def skip(self, path: Path, why: str, folder: bool = False) -> None:
        rel = path.relative_to(self.root).as_posix()
        self.warnings.append(f"Skipped {'folder ' if folder else ''}{rel}: {why}.")

    def folder(self, shown: Path) -> None:
        try:
            names = self.disk.list_dir(shown)
        except OSError as exc:
            if shown == self.root:
                raise CorpusError(f"Corpus folder {self.root} cannot be read ({_why(exc)}).",
                                  "Give the user running `pht ingest` read access to it.") from exc
            self.skip(shown, f"it cannot be read ({_why(exc)})", folder=True)
            return
        for name in names:
            if name.startswith("."):
                continue
            path = shown / name
            if path.is_symlink():
                self.links.append(path)  # a file linked to is read under its own name
                continue
            self.entry(path, path)

    def entry(self, shown: Path, real: Path) -> None:
        try:
            mode = real.stat().st_mode
        except OSError as exc:
            self.skip(shown, f"it cannot be read ({_why(exc)})")
            return
        if stat.S_ISDIR(mode):
            self.folder(shown)
        elif shown.suffix.lower() not in SUFFIXES:
            return
        elif not stat.S_ISREG(mode):
            self.skip(shown, "it is not a regular file (a FIFO, socket or device)")
        else:
            self.files.append((shown, real))

    def link(self, path: Path) -> None:
        try:
            target = path.resolve(strict=True)
        except RuntimeError:  # Python 3.11-3.12 report a loop this way
            self.skip(path, "it is a symlink loop")
            return
        except OSError as exc:
            why = ("it is a symlink loop" if exc.errno == errno.ELOOP else
                   "it is a broken symlink (its target does not exist)"
                   if exc.errno == errno.ENOENT else f"it cannot be read ({_why(exc)})")
            self.skip(path, why)
            return
        if not target.is_dir() and path.suffix.lower() not in SUFFIXES:
            return  # not an article (e.g. a linked PDF): nothing would read it anyway
        if not target.is_relative_to(self.root):
            self.skip(path, f"it is a symlink to {target}, outside the corpus folder")
        elif target.is_dir():
            loop = path.parent.is_relative_to(target)
            self.skip(path, "it is a symlink to a folder that contains it (a loop)" if loop else
                      "it is a symlink to a folder (symlinked folders are not followed)")
        elif any(real == target for _, real in self.files):
            same = next(s for s, real in self.files if real == target)
            self.skip(path, f"it is a symlink to {same.relative_to(self.root).as_posix()}, "
                      "which is read already")
        else:
            self.entry(path, target)


def _decode(path: Path, size: int, max_bytes: int, disk: Disk) -> tuple[str | None, str]:
    if size == 0:
        return None, "it is empty"
    if size > max_bytes:
        return None, f"it is {size:,} bytes, over the {max_bytes:,}-byte limit (PHT_MAX_FILE_BYTES)"
    try:
        data = disk.read(path, max_bytes + 1)
    except OSError as exc:
        return None, f"it cannot be read ({_why(exc)})"
    if len(data) > max_bytes:  # it grew since it was listed
        return None, f"it is over the {max_bytes:,}-byte limit (PHT_MAX_FILE_BYTES)"
    if b"\x00" in data[:8192]:
        return None, "it looks binary (NUL bytes)"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"it is not UTF-8 (byte {exc.start})"
    if not text.strip():
        return None, "it has only whitespace"
    return text, ""


def load_corpus(
    corpus_dir: Path, *, max_file_bytes: int = 5_000_000, disk: Disk | None = None
) -> LoadedCorpus:
    """Read every article under ``corpus_dir`` (recursively), sorted by path."""
    if not corpus_dir.exists():
        raise CorpusError(
            f"Corpus folder {corpus_dir} does not exist.",
            "Set PHT_CORPUS_DIR to the folder holding the articles (*.txt, *.md).",
        )
    if not corpus_dir.is_dir():
        raise CorpusError(f"Corpus path {corpus_dir} is not a folder.")
    config = validate_corpus_config(corpus_dir)  # bad YAML stops here, before the index
    corpus_dir = corpus_dir.resolve()
    meta = config.metadata.articles
    walk = _Walk(corpus_dir, disk or Disk())
    walk.run()
    found = sorted(walk.files)
    out = LoadedCorpus(warnings=list(walk.warnings))
    if not found:
        raise CorpusError(
            f"Corpus folder {corpus_dir} has no .txt or .md files"
            + (f" that can be read ({' '.join(walk.warnings)})" if walk.warnings else "") + ".",
            "Add the articles (and their entries in metadata.yaml) and run `pht ingest` again.",
        )
    names = {shown.relative_to(corpus_dir).as_posix() for shown, _ in found}
    names |= {shown.name for shown, _ in found}
    for name in sorted(set(meta) - names):
        out.warnings.append(f"{METADATA_FILE} has an entry for {name}, but no such file is read.")
    for path, real in found:
        rel = path.relative_to(corpus_dir).as_posix()
        try:
            size = real.stat().st_size
        except OSError as exc:
            out.warnings.append(f"Skipped {rel}: it cannot be read ({_why(exc)}).")
            continue
        text, why = _decode(real, size, max_file_bytes, walk.disk)
        if text is None:
            out.warnings.append(f"Skipped {rel}: {why}.")
            continue
        info = meta.get(rel) if rel in meta else meta.get(path.name)
        if rel not in meta and path.name not in meta:
            out.warnings.append(
                f"{rel} has no entry in {METADATA_FILE}: using its first line as title, edition unknown."
            )
        info = info or ArticleMeta()
        first_line = next((ln.strip() for ln in text.splitlines() if ln.strip()), path.stem)
        first_line = first_line.lstrip("#").strip() or path.stem  # a Markdown heading
        out.docs.append(
            SourceDoc(
                source=source_name(corpus_dir, path),
                title=info.title or first_line[:120],
                author=info.author or "",
                edition=info.edition or "unknown edition",
                edition_rank=info.edition_rank,
                raw=text,
                url=info.url or "",
            )
        )
    out.warnings += check_note_anchors(config, {d.source: d.raw for d in out.docs})
    return out
