"""Load the curated frequent questions (``corpus/faq.yaml``) for the FAQ desk and examples.

Each item has an ``id``, a ``question`` and optionally ``example: true`` (shown as an
example question in the runners' chat). A missing or malformed file raises
``ConfigError`` naming the file and the fix. It does not answer the questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from core.errors import ConfigError

FAQ_FILE = "faq.yaml"


@dataclass(frozen=True)
class FaqItem:
    id: str
    question: str
    example: bool = False


def parse_faq(data: object, where: str = FAQ_FILE) -> list[FaqItem]:
    """Items from the decoded YAML ``{"questions": [{"id":..., "question":...}, ...]}``.

    >>> parse_faq({"questions": [{"id": "a", "question": "Can I run?", "example": True}]})
    [FaqItem(id='a', question='Can I run?', example=True)]
    """
    fix = f"give {where} a 'questions' list of {{id, question}} entries."
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise ConfigError(f"{where} has no 'questions' list.", fix=fix)
    items: list[FaqItem] = []
    seen: set[str] = set()
    for n, entry in enumerate(data["questions"], 1):
        if not isinstance(entry, dict) or not str(entry.get("question") or "").strip():
            raise ConfigError(f"Entry {n} of {where} has no question.", fix=fix)
        item_id = str(entry.get("id") or f"faq-{n}")
        if item_id in seen:
            raise ConfigError(f"Duplicate id {item_id!r} in {where}.", fix="make every id unique.")
        seen.add(item_id)
        items.append(FaqItem(item_id, str(entry["question"]).strip(), bool(entry.get("example"))))
    return items


def load_faq(corpus_dir: Path) -> list[FaqItem]:
    """Read ``<corpus_dir>/faq.yaml``; an absent file means no curated questions."""
    path = corpus_dir / FAQ_FILE
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"Cannot read {path}: {err}", fix="fix the YAML syntax.") from err
    return parse_faq(data, str(path))
