"""Gate patterns match whole words: none fires on an ordinary word that merely shares a prefix.

Every regex of the red-flag, intent and scope data is run against ``tests/data/
ordinary_words.txt`` ("number" must not read as "numb", "popular" as "pop", "frankly" as a
fracture), alone and inside a first-person sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.gate_data import load_data

WORDS = [
    w
    for line in (Path(__file__).parent / "data" / "ordinary_words.txt").read_text().splitlines()
    if not line.startswith("#")
    for w in line.split()
]


def _regexes(value: Any) -> Iterator[str]:
    """Every string in the data that is a searched regex with a word boundary (patterns that
    only continue a match at a given position, like the units after a number, start with
    ``\\s*`` and are left out)."""
    if isinstance(value, str):
        if "\\b" in value and not value.startswith("\\s*"):
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _regexes(v)
    elif isinstance(value, list):
        for v in value:
            yield from _regexes(v)


PATTERNS = sorted(
    {p for name in ("red_flags.yaml", "intents.yaml", "scope.yaml") for p in _regexes(load_data(name))}
)


def test_the_audit_sees_the_patterns() -> None:
    assert len(PATTERNS) > 100
    assert any("numb" in p for p in PATTERNS)


@pytest.mark.parametrize("word", WORDS)
def test_no_pattern_matches_an_ordinary_word(word: str) -> None:
    hits = []
    for p in PATTERNS:
        rx = re.compile(p, re.IGNORECASE)
        for text in (word, f"i have {word} here", f"my {word} is fine"):
            at = text.find(word)
            m = next((m for m in rx.finditer(text) if m.start() < at + len(word) and m.end() > at), None)
            if m is not None:  # the match reaches into the ordinary word
                hits.append(f"{p!r} matched {m.group(0)!r} in {text!r}")
    assert not hits, "\n".join(hits[:5])


def test_the_audit_catches_a_prefix_pattern() -> None:
    assert re.search(r"\bnumb\w*", "a number of years")  # what the old nerve pattern did
    assert not any(re.search(p, "a number of years") for p in PATTERNS if "numb" in p)
