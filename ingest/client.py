"""The Chroma client from settings: a server's ``HttpClient`` or a local ``PersistentClient``.

A local index folder that cannot be written (a read-only mount) is still answered from:
Chroma writes when it opens a database, so a private copy of it is opened instead, while
the build's tables are read where they are. The client also carries where its builds'
tables live (``TABLES_ATTR``): beside a local index, or a local cache for a server. It
does not read or write records (``ingest.store`` does).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from pathlib import Path
from typing import Any

from core.errors import ConfigError, IndexStateError
from core.settings import Settings

log = logging.getLogger(__name__)

TABLES_ATTR = "_pht_tables_dir"  # set by make_client: where this client's build tables live


def make_client(settings: Settings, *, write: bool = False) -> Any:
    """A Chroma client from settings: HttpClient when a server is configured, else persistent.

    A read-only local index is opened through a private copy unless ``write`` is asked for.
    """
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError as exc:  # pragma: no cover
        from core.errors import MissingDependencyError

        raise MissingDependencyError("chromadb is not installed.", "pip install chromadb") from exc
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.uses_chroma_server:
        try:
            client = chromadb.HttpClient(
                host=str(settings.chroma_host), port=int(settings.chroma_port or 8000),
                settings=chroma_settings,
            )
        except Exception as exc:
            raise ConfigError(
                f"Cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                f"({exc.__class__.__name__}).",
                "Start it (`chroma run --path DIR --port N`) or unset PHT_CHROMA_HOST/PHT_CHROMA_PORT.",
            ) from exc
        # The build's tables are a local cache keyed by build (``ingest.tables``).
        with contextlib.suppress(AttributeError):
            setattr(client, TABLES_ATTR, Path(settings.data_dir) / "cache" / "index-tables")
        return client
    path = Path(settings.resolved_index_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        if write or not (path / "chroma.sqlite3").is_file():
            raise IndexStateError(
                f"Index folder {path} is not writable ({exc.strerror or exc}).",
                "Set PHT_INDEX_DIR (or PHT_DATA_DIR) to a writable folder.",
            ) from exc
        return _read_only_client(chromadb, chroma_settings, path)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def _read_only_client(chromadb: Any, chroma_settings: Any, path: Path) -> Any:
    """Chroma cannot open a read-only folder (it writes on open): answer from a private copy
    of its database, and read the build's tables where they are (they are opened read-only)."""
    import tempfile

    copy = Path(tempfile.mkdtemp(prefix="pht-index-ro-"))
    shutil.copytree(path, copy, dirs_exist_ok=True, ignore=shutil.ignore_patterns("tables"))
    log.warning("Index folder %s is read-only: answering from a copy in %s.", path, copy)
    client = chromadb.PersistentClient(path=str(copy), settings=chroma_settings)
    with contextlib.suppress(AttributeError):
        setattr(client, TABLES_ATTR, path / "tables")
    return client
