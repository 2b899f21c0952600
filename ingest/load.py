"""Load the corpus folder: every ``*.txt`` / ``*.md`` file plus ``metadata.yaml``.

This is the only ingestion step that reads files. Bad files never stop the run:
an empty, binary, non-UTF-8 or oversized file is skipped with a warning that
names it and says why. A missing or empty corpus folder is a ``CorpusError``
(raised before anything touches the index). It does not clean or split text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import CorpusError
from ingest.models import SourceDoc

SUFFIXES = (".txt", ".md")
METADATA_FILE = "metadata.yaml"


@dataclass
class LoadedCorpus:
    docs: list[SourceDoc] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def source_name(corpus_dir: Path, path: Path) -> str:
    """Path shown to users: relative to the corpus folder's parent, e.g. ``corpus/a.txt``.

    >>> source_name(Path("/repo/corpus"), Path("/repo/corpus/sub/a.txt"))
    'corpus/sub/a.txt'
    """
    return (Path(corpus_dir.name) / path.relative_to(corpus_dir)).as_posix()


def read_metadata(corpus_dir: Path) -> dict[str, dict[str, Any]]:
    path = corpus_dir / METADATA_FILE
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise CorpusError(
            f"{path} is not valid YAML ({exc}).", "Fix the file or remove it."
        ) from exc
    articles = data.get("articles", {}) if isinstance(data, dict) else {}
    if not isinstance(articles, dict):
        raise CorpusError(f"{path}: 'articles' must be a mapping of file name to metadata.")
    return {str(k): dict(v or {}) for k, v in articles.items()}


def _decode(path: Path, max_bytes: int) -> tuple[str | None, str]:
    size = path.stat().st_size
    if size == 0:
        return None, "it is empty"
    if size > max_bytes:
        return None, f"it is {size:,} bytes, over the {max_bytes:,}-byte limit (PHT_MAX_FILE_BYTES)"
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        return None, "it looks binary (NUL bytes)"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"it is not UTF-8 (byte {exc.start})"
    if not text.strip():
        return None, "it has only whitespace"
    return text, ""


def load_corpus(corpus_dir: Path, *, max_file_bytes: int = 5_000_000) -> LoadedCorpus:
    """Read every article under ``corpus_dir`` (recursively), sorted by path."""
    if not corpus_dir.exists():
        raise CorpusError(
            f"Corpus folder {corpus_dir} does not exist.",
            "Set PHT_CORPUS_DIR to the folder holding the articles (*.txt, *.md).",
        )
    if not corpus_dir.is_dir():
        raise CorpusError(f"Corpus path {corpus_dir} is not a folder.")
    corpus_dir = corpus_dir.resolve()
    meta = read_metadata(corpus_dir)
    paths = sorted(p for p in corpus_dir.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    paths = [p for p in paths if not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)]
    if not paths:
        raise CorpusError(
            f"Corpus folder {corpus_dir} has no .txt or .md files.",
            "Add the articles (and their entries in metadata.yaml) and run `pht ingest` again.",
        )
    out = LoadedCorpus()
    for path in paths:
        rel = path.relative_to(corpus_dir).as_posix()
        text, why = _decode(path, max_file_bytes)
        if text is None:
            out.warnings.append(f"Skipped {rel}: {why}.")
            continue
        info = meta.get(rel) or meta.get(path.name)
        if info is None:
            out.warnings.append(
                f"{rel} has no entry in {METADATA_FILE}: using its first line as title, edition unknown."
            )
            info = {}
        first_line = next((ln.strip() for ln in text.splitlines() if ln.strip()), path.stem)
        first_line = first_line.lstrip("#").strip() or path.stem  # a Markdown heading
        out.docs.append(
            SourceDoc(
                source=source_name(corpus_dir, path),
                title=str(info.get("title") or first_line[:120]),
                author=str(info.get("author") or ""),
                edition=str(info.get("edition") or "unknown edition"),
                edition_rank=int(info.get("edition_rank") or 0),
                raw=text,
                url=str(info.get("url") or ""),
            )
        )
    return out
