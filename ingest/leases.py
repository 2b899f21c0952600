"""Leases: which index builds a running process on this machine still reads.

An answering process ``hold``s its build (an empty file named by build and pid under
``<tables root>/.leases``) and ``release``s it when it lets go; ``IndexStore.drop_stale``
keeps the build before the active one only while ``leased_builds`` names it. Leases of
processes that died are removed when listed. It does not delete builds itself.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def hold(root: Path | None, prefix: str, build: str) -> Path | None:
    """Record that this process reads ``build`` (``None`` where nothing can be written)."""
    if root is None:
        return None
    lease = root / ".leases" / f"{prefix}_{build}.{os.getpid()}"
    try:
        lease.parent.mkdir(parents=True, exist_ok=True)
        lease.touch()
    except OSError:
        return None
    return lease


def release(lease: Path | None) -> None:
    if lease is not None:
        with contextlib.suppress(OSError):
            lease.unlink()


def leased_builds(root: Path | None, prefix: str) -> set[str]:
    """Builds held by a live process; leases of dead processes are removed."""
    folder = root / ".leases" if root is not None else None
    if folder is None or not folder.is_dir():
        return set()
    out = set()
    for lease in folder.iterdir():
        name, _, pid = lease.name.rpartition(".")
        if not name.startswith(f"{prefix}_") or not pid.isdigit():
            continue
        if _alive(int(pid)):
            out.add(name[len(prefix) + 1 :])
        else:
            release(lease)
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
