"""The Chroma index: two collections per build (chunks, sentences) and an atomic pointer.

Layout, all under ``<prefix>``:
- ``<prefix>_chunks_<build>`` and ``<prefix>_sentences_<build>``: records with
  embeddings, the raw text as document, offsets/kind/section/edition as metadata;
  collection metadata holds the fingerprint (model name, dimension, model hash,
  pipeline version).
- ``<prefix>_manifest``: one record ``active`` naming the build queries use.

Writes are copy-on-write: a new build is filled completely, then the pointer is
switched in one upsert; the build before it stays until the next write (so a running
app can finish with it and reload), older ones are dropped. A crash at any point
leaves the previous build active; leftovers are removed by the next ingest. The same code
runs on a local ``PersistentClient`` or a Chroma server (``HttpClient``). This
module does not embed or decide what to store.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError, IndexMismatchError, IndexMissingError, IndexStateError
from core.settings import Settings

log = logging.getLogger(__name__)

KINDS = ("chunks", "sentences")


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


def make_client(settings: Settings) -> Any:
    """A Chroma client from settings: HttpClient when a server is configured, else persistent."""
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError as exc:  # pragma: no cover
        from core.errors import MissingDependencyError

        raise MissingDependencyError("chromadb is not installed.", "pip install chromadb") from exc
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.uses_chroma_server:
        try:
            return chromadb.HttpClient(
                host=str(settings.chroma_host), port=int(settings.chroma_port or 8000),
                settings=chroma_settings,
            )
        except Exception as exc:
            raise ConfigError(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                f"({exc.__class__.__name__}).",
                "Start it (`chroma run --path DIR --port N`) or unset PHT_CHROMA_HOST/PHT_CHROMA_PORT.",
            ) from exc
    path = Path(settings.resolved_index_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise IndexStateError(
            f"Index folder {path} is not writable ({exc.strerror or exc}).",
            "Set PHT_INDEX_DIR (or PHT_DATA_DIR) to a writable folder.",
        ) from exc
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class IndexStore:
    """Read and write builds of the index through one Chroma client."""

    def __init__(self, client: Any, prefix: str = "pht"):
        self.client = client
        self.prefix = prefix
        self._manifest = client.get_or_create_collection(
            f"{prefix}_manifest", embedding_function=None
        )

    # --- pointer ---------------------------------------------------------
    def active_build(self) -> str | None:
        got = self._manifest.get(ids=["active"], include=["metadatas"])
        if not got["ids"]:
            return None
        return str(got["metadatas"][0]["build"])

    def _name(self, kind: str, build: str) -> str:
        return f"{self.prefix}_{kind}_{build}"

    def collection(self, kind: str, build: str | None = None) -> Any:
        build = build or self.active_build()
        if build is None:
            raise IndexMissingError("No index has been built yet.", "Run `pht ingest`.")
        return self.client.get_collection(self._name(kind, build), embedding_function=None)

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
    def read(self, kind: str, build: str | None = None, *, embeddings: bool = True) -> Records:
        col = self.collection(kind, build)
        include = ["documents", "metadatas"] + (["embeddings"] if embeddings else [])
        got = col.get(include=include)
        emb = got.get("embeddings") if embeddings else None
        arr = np.asarray(emb, dtype=np.float32) if emb is not None and len(emb) else np.zeros((0, 0))
        return Records(list(got["ids"]), list(got["documents"]), list(got["metadatas"]), arr)

    # --- writing -----------------------------------------------------------
    def write_build(
        self, fingerprint: Fingerprint, records: dict[str, Records], *, pause: float = 0.0
    ) -> str:
        """Write a complete new build, switch the pointer to it, drop the previous one."""
        build = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:8]
        meta = {**fingerprint.as_metadata(), "build": build}
        for kind in KINDS:
            col = self.client.create_collection(
                self._name(kind, build), embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}}, metadata=meta,
            )
            recs = records[kind]
            for i in _batches(len(recs), self._max_batch()):
                col.add(
                    ids=recs.ids[i.start : i.stop],
                    embeddings=recs.embeddings[i.start : i.stop],
                    documents=recs.documents[i.start : i.stop],
                    metadatas=recs.metadatas[i.start : i.stop],
                )
                if pause:
                    time.sleep(pause)  # lets tests interrupt a build half-way
        previous = self.active_build()
        self._manifest.upsert(
            ids=["active"], embeddings=[[0.0]], documents=["active index build"],
            metadatas=[{"build": build, "previous": previous or "", "switched_at": time.time()}],
        )
        self.drop_stale()
        return build

    def previous_build(self) -> str | None:
        got = self._manifest.get(ids=["active"], include=["metadatas"])
        if not got["ids"]:
            return None
        return str(got["metadatas"][0].get("previous") or "") or None

    def drop_stale(self) -> list[str]:
        """Delete the collections of builds other than the active one and the one before it.

        The previous build is kept so that a running app, which opened it before the switch,
        can finish its questions and then reload; older and interrupted builds go.
        """
        dropped = []
        keep = [b for b in (self.active_build(), self.previous_build()) if b]
        keep_names = {self._name(k, b) for k in KINDS for b in keep}
        for col in self.client.list_collections():
            name = col if isinstance(col, str) else col.name
            if name.startswith(f"{self.prefix}_") and name != f"{self.prefix}_manifest" and (
                name not in keep_names
            ):
                self.client.delete_collection(name)
                dropped.append(name)
        return dropped

    def _max_batch(self) -> int:
        try:
            return max(1, int(self.client.get_max_batch_size()))
        except Exception:  # pragma: no cover - older servers
            return 1000


def _batches(n: int, size: int) -> Iterable[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))

