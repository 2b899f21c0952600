"""The same ingestion and retrieval code against a real Chroma server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from ingest.store import IndexStore, make_client
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        exe = Path(shutil.which("chroma") or "")
    # The `chroma` command is chromadb's CLI: run it with this interpreter when not on PATH.
    cli = [str(exe)] if exe.is_file() else [sys.executable, "-c", "from chromadb.cli.cli import app; app()"]
    port = free_port()
    proc = subprocess.Popen(
        [*cli, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("chroma server exited at start-up")
                time.sleep(0.3)
        else:
            pytest.fail("chroma server did not answer within 60 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_ingest_and_query_through_chroma_server(tmp_path: Path, chroma_server: int) -> None:
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=chroma_server)
    assert settings.uses_chroma_server
    first = ingest(settings, FakeEmbedder())
    assert first.embedded > 0
    again = ingest(settings, FakeEmbedder())
    assert again.embedded == 0
    store = IndexStore(make_client(settings), settings.collection_prefix)
    recs = store.read("chunks", embeddings=False)
    assert len(recs) == first.chunks
    assert not (tmp_path / "data" / "index").exists()  # nothing was written locally
    # Answers come from the server's collections plus the build's tables, kept in a local cache.
    from assistant.answering.retrieval import Retriever

    hits = Retriever(store, FakeEmbedder()).search("when can I run again?", k=2)
    assert len(hits) == 2 and all(h.kind == "content" for h in hits)
    assert store.tables_dir == tmp_path / "data" / "cache" / "index-tables"
    assert (store.tables_dir / f"pht_{store.active_build()}" / "records.sqlite").is_file()
