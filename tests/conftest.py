"""Shared fixtures: hermetic network, per-test state in tmp dirs, fakes and the real model.

- Every test runs with sockets limited to loopback: a connection anywhere else raises, and
  a name lookup of anything but a loopback name fails as DNS would.
- ``PHT_*`` variables from the developer's shell are removed, and the working
  directory's ``.env`` is never read (tests build ``Settings`` explicitly).
- ``real_embedder`` loads all-MiniLM-L6-v2 from the wheel once per session.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import FakeEmbedder

pytest_plugins = ["tests.fake_openai_server"]  # the `openai_server` fixture: a loopback LLM

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # ONNX Runtime's event store under ~/.cache stays shut


class NetworkBlocked(RuntimeError):
    """Raised when a test tries to reach a non-loopback address."""


def _is_loopback(address: object) -> bool:
    if isinstance(address, str | bytes):
        return True  # AF_UNIX path
    if not (isinstance(address, tuple) and address):
        return False
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NetworkBlocked(f"tests may only connect to loopback, not {address!r}")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise NetworkBlocked(f"tests may only connect to loopback, not {address!r}")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


_real_getaddrinfo = socket.getaddrinfo


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
    """Name lookups leave the machine too: only loopback names resolve in tests."""
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and not _is_loopback((str(name), 0)):
        raise socket.gaierror(socket.EAI_NONAME, f"tests may not resolve {name!r}")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the embedding model's exported ONNX graph, shared by the whole session
    (exporting it costs ~4 s; every test's own data dir would pay that again)."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                  embedding_cache: Path) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("PHT_"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PHT_DATA_DIR", str(tmp_path / "pht-data"))
    monkeypatch.setenv("PHT_EMBEDDING_CACHE_DIR", str(embedding_cache))
    yield


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder(embedding_cache: Path):  # type: ignore[no-untyped-def]
    """The default model as the product runs it: batches on torch, questions on ONNX Runtime."""
    from ingest.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(onnx_cache=embedding_cache)


def make_settings(tmp: Path, **overrides: object):  # type: ignore[no-untyped-def]
    """Settings for a test: corpus and state in ``tmp`` unless overridden; no .env is read."""
    from core.settings import Settings

    values: dict[str, object] = {
        "corpus_dir": CORPUS,
        "data_dir": tmp / "data",
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory, real_embedder):  # type: ignore[no-untyped-def]
    """The shipped corpus ingested once per session with the real model; returns its Settings."""
    from ingest.pipeline import ingest

    settings = make_settings(tmp_path_factory.mktemp("real-index"))
    ingest(settings, real_embedder)
    return settings
