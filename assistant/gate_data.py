"""Read the gates' YAML data files (``assistant/data/*.yaml``) as package data.

One tiny loader shared by ``validate``, ``red_flags``, ``intents``, ``scope`` and
``conversation``: it reads the file next to this module (not ``importlib.resources``:
under the editable install, run from another directory, ``assistant`` resolves as a
namespace package and ``resources.files`` fails), checks the top level is a mapping and caches the parsed
value. A malformed file raises ``ConfigError`` naming the file. It does not
interpret the content: each gate validates the keys it uses.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent / "data"


@cache
def load_data(name: str) -> dict[str, Any]:
    """Parsed ``assistant/data/<name>``; a mapping, cached per process.

    >>> "injection" in load_data("intents.yaml")
    True
    """
    path = DATA_DIR / name
    try:
        value = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"Could not read the data file assistant/data/{name} ({exc}).",
            "Restore it from git (`git checkout -- assistant/data`).",
        ) from exc
    if not isinstance(value, dict):
        raise ConfigError(f"assistant/data/{name} must hold a YAML mapping at the top level.")
    return value
