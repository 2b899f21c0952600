"""Which quoted sentences are filler: lead-ins, self-reference, media references, plugs.

``filler_sentences`` returns the quotes that match a pattern of ``evals/data/filler.yaml``.
The evals' own judge of "answers with filler", deliberately simple and separate from the
assistant's (learned) choice of sentences. It does not look at meaning or at the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import yaml

_FILE = Path(__file__).resolve().parent / "data" / "filler.yaml"


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    data = yaml.safe_load(_FILE.read_text(encoding="utf-8"))
    return tuple(
        (kind, re.compile(p, re.IGNORECASE))
        for kind, ps in data["patterns"].items()
        for p in ps
    )


def filler_kind(sentence: str) -> str | None:
    """The filler kind of ``sentence``, or None.

    >>> filler_kind("Below, I will outline the general treatment plan for PHT.")
    'lead_in'
    >>> filler_kind("Stretching your hamstrings does not fix the tendon.") is None
    True
    """
    text = sentence.strip()
    for kind, pattern in _patterns():
        if pattern.search(text):
            return kind
    return None


def filler_sentences(quotes: Sequence[str]) -> list[str]:
    """The quotes that are filler, in order."""
    return [q for q in quotes if filler_kind(q) is not None]
