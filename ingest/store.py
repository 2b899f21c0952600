"""The Chroma index: four collections per build and an atomic pointer.

Layout, all under ``<prefix>``:
- ``<prefix>_chunks_<build>`` and ``<prefix>_sentences_<build>``: the *content*
  records (the only ones searched on the hot path, so queries need no metadata
  filter), with embeddings, the raw text as document, offsets/kind/section/edition
  as metadata; ``<prefix>_chunks-other_<build>`` and ``<prefix>_sentences-other_<build>``
  hold every other kind (promotions, biographies...). Collection metadata holds the
  fingerprint (model name, dimension, model hash, pipeline version).
- ``<prefix>_manifest``: one record ``active`` naming the build queries use, the
  build before it, and a hash of the corpus the build was made from (so an
  unchanged corpus is recognised without reading any record back).

Every read and write is paged (``PAGE`` records per call): Chroma on SQLite fails
beyond 32,766 bound variables in one call.

Writes are copy-on-write: a new build is filled completely, then the pointer is
switched in one upsert; the build before it stays until the next write (so a running
app can finish with it and reload), older ones are dropped. A crash at any point
leaves the previous build active; leftovers are removed by the next ingest. The same code
runs on a local ``PersistentClient`` or a Chroma server (``HttpClient``). This
module does not embed or decide what to store.
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import IndexMismatchError, IndexMissingError
from ingest.client import TABLES_ATTR, make_client
from ingest.leases import leased_builds

__all__ = ["CONTENT", "KINDS", "PAGE", "Fingerprint", "IndexStore", "Records", "make_client"]

log = logging.getLogger(__name__)

KINDS = ("chunks", "sentences")
PARTS = ("", "-other")  # content records, then every other kind
CONTENT = "content"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PAGE = 5000  # records per get/add call: far below SQLite's 32,766 bound variables


@dataclass(frozen=True)
class Fingerprint:
    model: str
    dimension: int
    model_hash: str
    pipeline_version: str

    def as_metadata(self) -> dict[str, Any]:
        return {
            "embedding_model": self.model,
            "embedding_dimension": self.dimension,
            "embedding_hash": self.model_hash,
            "pipeline_version": self.pipeline_version,
        }

    @classmethod
    def from_metadata(cls, meta: dict[str, Any] | None) -> Fingerprint | None:
        if not meta or "embedding_model" not in meta:
            return None
        return cls(
            str(meta["embedding_model"]),
            int(meta["embedding_dimension"]),
            str(meta["embedding_hash"]),
            str(meta["pipeline_version"]),
        )


@dataclass
class Records:
    """Column-oriented records of one collection."""

    ids: list[str]
    documents: list[str]
    metadatas: list[dict[str, Any]]
    embeddings: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


class IndexStore:
    """Read and write builds of the index through one Chroma client."""

    def __init__(self, client: Any, prefix: str = "pht", *, tables_dir: Path | None = None):
        self.client = client
        self.prefix = prefix
        local = self.local_path()
        # Where each build's tables go (``ingest.tables``): beside a local index, or the
        # local cache ``make_client`` names for a server; ``None``: rebuilt in a temp folder.
        self.tables_dir = tables_dir or getattr(client, TABLES_ATTR, None) or (
            local / "tables" if local is not None else None
        )
        name = f"{prefix}_manifest"
        try:
            self._manifest = client.get_collection(name, embedding_function=None)
        except Exception:  # missing: created on first use (a read-only index already has it)
            self._manifest = client.get_or_create_collection(name, embedding_function=None)

    # --- pointer ---------------------------------------------------------
    def pointer(self) -> dict[str, Any]:
        """The manifest record's metadata (empty before the first build)."""
        got = self._manifest.get(ids=["active"], include=["metadatas"])
        return dict(got["metadatas"][0] or {}) if got["ids"] else {}

    def active_build(self) -> str | None:
        build = self.pointer().get("build")
        return str(build) if build else None

    def _name(self, kind: str, build: str, part: str = "") -> str:
        return f"{self.prefix}_{kind}{part}_{build}"

    def collection(self, kind: str, build: str | None = None, *, content: bool = True) -> Any:
        """The collection of ``kind`` records of a build: the content ones, or all others."""
        build = build or self.active_build()
        if build is None:
            raise IndexMissingError("No index has been built yet.", "Run `pht ingest`.")
        return self.client.get_collection(
            self._name(kind, build, PARTS[0] if content else PARTS[1]), embedding_function=None
        )

    def fingerprint(self) -> Fingerprint | None:
        if self.active_build() is None:
            return None
        return Fingerprint.from_metadata(self.collection("chunks").metadata)

    def check_compatible(self, expected: Fingerprint) -> None:
        """Raise IndexMissingError / IndexMismatchError unless the active build matches."""
        found = self.fingerprint()
        if found is None:
            raise IndexMissingError("No index has been built yet.", "Run `pht ingest`.")
        if found != expected:
            what = []
            if found.model != expected.model or found.model_hash != expected.model_hash:
                what.append(f"embedding model {found.model!r} (hash {found.model_hash})")
            if found.dimension != expected.dimension:
                what.append(f"dimension {found.dimension}")
            if found.pipeline_version != expected.pipeline_version:
                what.append(f"pipeline version {found.pipeline_version}")
            raise IndexMismatchError(
                f"The index was built with {', '.join(what) or 'other settings'}, but this run uses "
                f"{expected.model!r} (hash {expected.model_hash}, dimension {expected.dimension}, "
                f"pipeline {expected.pipeline_version}).",
                "Run `pht ingest --rebuild`.",
            )

    # --- reading -----------------------------------------------------------
    def pages(
        self, kind: str, build: str | None = None, *, embeddings: bool = True, page: int = PAGE
    ) -> Iterator[Records]:
        """All records of ``kind`` (content first, then the other kinds), ``page`` at a time."""
        build = build or self.active_build()
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        for content in (True, False):
            try:
                col = self.collection(kind, build, content=content)
            except IndexMissingError:
                raise
            except Exception:  # a build of the older layout has no "-other" collections
                if content:
                    raise
                continue
            offset = 0
            while True:
                got = col.get(include=include, limit=page, offset=offset)
                if not got["ids"]:
                    break
                emb = got.get("embeddings") if embeddings else None
                arr = (np.asarray(emb, dtype=np.float32) if emb is not None and len(emb)
                       else np.zeros((0, 0), dtype=np.float32))
                yield Records(list(got["ids"]), list(got["documents"]), list(got["metadatas"]), arr)
                offset += len(got["ids"])
                if len(got["ids"]) < page:
                    break

    def read(self, kind: str, build: str | None = None, *, embeddings: bool = True) -> Records:
        """Every record of ``kind``, read page by page (for tests and tools; the answering
        process reads the build's tables instead)."""
        ids: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        vecs: list[np.ndarray] = []
        for recs in self.pages(kind, build, embeddings=embeddings):
            ids += recs.ids
            docs += recs.documents
            metas += recs.metadatas
            if embeddings and len(recs.embeddings):
                vecs.append(recs.embeddings)
        arr = np.concatenate(vecs) if vecs else np.zeros((0, 0), dtype=np.float32)
        return Records(ids, docs, metas, arr)

    def count(self, kind: str, build: str | None = None, *, content: bool = True) -> int:
        return int(self.collection(kind, build, content=content).count())

    # --- writing -----------------------------------------------------------
    @staticmethod
    def new_build_id() -> str:
        return time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:8]

    def write_build(
        self, fingerprint: Fingerprint, records: dict[str, Records], *, pause: float = 0.0,
        build: str | None = None, before_switch: Callable[[str], None] | None = None,
        pointer: dict[str, Any] | None = None,
    ) -> str:
        """Write a complete new build, switch the pointer to it, drop the one before the previous.

        ``before_switch(build)`` runs once every record is written (the pipeline writes the
        build's tables there); ``pointer`` adds fields to the manifest record.
        """
        build = build or self.new_build_id()
        meta = {**fingerprint.as_metadata(), "build": build}
        step = min(PAGE, self._max_batch())
        for kind in KINDS:
            recs = records[kind]
            is_content = [m.get("kind") == CONTENT for m in recs.metadatas]
            for part, wanted in zip(PARTS, (True, False), strict=True):
                col = self.client.create_collection(
                    self._name(kind, build, part), embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}}, metadata=meta,
                )
                rows = [i for i, c in enumerate(is_content) if c is wanted]
                for i in _batches(len(rows), step):
                    chosen = rows[i.start : i.stop]
                    col.add(
                        ids=[recs.ids[r] for r in chosen],
                        embeddings=recs.embeddings[chosen],
                        documents=[recs.documents[r] for r in chosen],
                        metadatas=[recs.metadatas[r] for r in chosen],
                    )
                    if pause:
                        time.sleep(pause)  # lets tests interrupt a build half-way
        if before_switch is not None:
            before_switch(build)
        previous = self.active_build()
        self._manifest.upsert(
            ids=["active"], embeddings=[[0.0]], documents=["active index build"],
            metadatas=[{**(pointer or {}), "build": build, "previous": previous or "",
                        "switched_at": time.time()}],
        )
        self.drop_stale()
        return build

    def previous_build(self) -> str | None:
        return str(self.pointer().get("previous") or "") or None

    def builds(self) -> set[str]:
        """Build ids that have at least one collection (complete or not)."""
        out = set()
        for col in self.client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(f"{self.prefix}_") and name != f"{self.prefix}_manifest":
                out.add(name.rsplit("_", 1)[-1])
        return out

    def drop_stale(self) -> list[str]:
        """Delete the collections of builds other than the active one and the one before it,
        and the folders Chroma leaves behind.

        The previous build is kept while a process on this machine reads it (a running app
        that opened it before the switch finishes its questions, then reloads): see
        ``ingest.tables.hold``. Against a Chroma server, whose readers cannot be seen, it is
        kept until the next write. Older and interrupted builds go.
        """
        previous = self.previous_build()
        if previous and self.local_path() is not None and previous not in leased_builds(
            self.tables_dir, self.prefix
        ):
            previous = None
        dropped = []
        keep = [b for b in (self.active_build(), previous) if b]
        keep_names = {self._name(k, b, p) for k in KINDS for p in PARTS for b in keep}
        for col in self.client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(f"{self.prefix}_") and name != f"{self.prefix}_manifest" and (
                name not in keep_names
            ):
                self.client.delete_collection(name)
                dropped.append(name)
        if dropped:
            self._remove_orphan_segments()
        self._remove_stale_tables(set(keep))
        return dropped

    def _remove_stale_tables(self, keep: set[str]) -> None:
        root = self.tables_dir
        if root is None or not root.is_dir():
            return
        for folder in root.iterdir():
            name = folder.name
            build = name[len(self.prefix) + 1 :] if name.startswith(f"{self.prefix}_") else None
            stale_tmp = name.startswith(f".{self.prefix}_") and name.endswith(".tmp")
            if (build is not None and build not in keep) or stale_tmp:
                shutil.rmtree(folder, ignore_errors=True)

    def local_path(self) -> Path | None:
        """The persistent client's folder (``None`` for a Chroma server)."""
        try:
            settings = self.client.get_settings()
        except Exception:  # pragma: no cover - clients without settings
            return None
        if not getattr(settings, "is_persistent", False) or not settings.persist_directory:
            return None
        return Path(settings.persist_directory)

    def _remove_orphan_segments(self) -> None:
        """Delete the vector-segment folders of dropped collections (Chroma leaves them on
        disk) and compact the full-text index of their documents."""
        root = self.local_path()
        if root is None or not (root / "chroma.sqlite3").is_file():
            return
        try:
            con = sqlite3.connect(root / "chroma.sqlite3", timeout=5)
            try:
                live = {str(r[0]) for r in con.execute("SELECT id FROM segments")}
                # Deleting records leaves markers in Chroma's full-text index; merge them away
                # so that the file stops growing with every build (freed pages are reused).
                with con:
                    con.execute("INSERT INTO embedding_fulltext_search(embedding_fulltext_search)"
                                " VALUES ('optimize')")
            finally:
                con.close()
        except sqlite3.Error as exc:  # locked by a reader, or another schema: try next time
            log.warning("Could not tidy the Chroma database (%s); old folders were kept.", exc)
            return
        for folder in root.iterdir():
            if folder.is_dir() and _UUID.fullmatch(folder.name) and folder.name not in live:
                shutil.rmtree(folder, ignore_errors=True)

    def _max_batch(self) -> int:
        try:
            return max(1, int(self.client.get_max_batch_size()))
        except Exception:  # pragma: no cover - older servers
            return 1000


def _batches(n: int, size: int) -> Iterable[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))

