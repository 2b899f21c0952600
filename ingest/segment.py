"""Cut a raw article into blocks (one per non-blank line) and a block into sentence spans.

Pure functions over the raw text: every span indexes the raw file, trimmed with
``trim_span`` so ``raw[start:end]`` is exactly the block or sentence text (no NBSP,
braille blank U+2800 or ``\\r`` at either edge). Sentences end at ``. ! ? …`` runs
(``!!!`` and ``?!`` stay together), plus any closing quotes or brackets, when blank
space and then a capital, digit, opening quote or emoji follow. Abbreviations
(``Dr.``, ``e.g.``, ``Ph.D.`` ... listed in ``rules/block_rules.yaml``), initials,
decimals, a leading list number (``1. Foam roll``) and an ellipsis running into
lowercase text never end a sentence. It does not classify blocks
(``ingest.classify`` does), merge wrapped lines or understand markup.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from core.text import BLANKS, is_blank, trim_span
from ingest.models import Block
from ingest.rules import load_rules

_TERMINATORS = ".!?\u2026"
_CLOSERS = "\u201d\u2019\"')]"
_OPENING_QUOTES = "\u201c\u2018\"'"
_WS_CLASS = r"\s" + "".join(BLANKS)
# A run of terminators, optional closers, then blank space (what follows is checked in code).
_BOUNDARY = re.compile(rf"[{re.escape(_TERMINATORS)}]+[{re.escape(_CLOSERS)}]*(?=[{_WS_CLASS}])")
_TOKEN_BEFORE = re.compile(rf"[^{_WS_CLASS}]*$")
_INITIAL = re.compile(r"^[(\[\u201c\"]?[A-Z]\.$")
_LIST_NUMBER = re.compile(r"^\d{1,3}\.$")


@lru_cache(maxsize=1)
def _abbreviations() -> frozenset[str]:
    return frozenset(a.lower() for a in load_rules()["sentences"]["abbreviations"])


@lru_cache(maxsize=1)
def _numeric_abbreviations() -> frozenset[str]:
    return frozenset(a.lower() for a in load_rules()["sentences"]["numeric_abbreviations"])


def segment_blocks(raw: str, source: str) -> list[Block]:
    """One CONTENT block per line that is not blank, with trimmed raw offsets.

    >>> raw = "Title\\r\\n\\u00a0\\n  \\u2800 Body text.\\u00a0\\n"
    >>> [(b.start, b.end, b.text) for b in segment_blocks(raw, "a.txt")]
    [(0, 5, 'Title'), (13, 23, 'Body text.')]
    """
    blocks: list[Block] = []
    pos = 0
    for line in raw.split("\n"):
        s, e = trim_span(raw, pos, pos + len(line))
        if s < e:
            blocks.append(Block(source=source, start=s, end=e, text=raw[s:e]))
        pos += len(line) + 1
    return blocks


def _starts_sentence(ch: str) -> bool:
    if ch.isupper() or ch.isdigit() or ch in _OPENING_QUOTES:
        return True
    return unicodedata.category(ch) == "So"


def _is_boundary(raw: str, start: int, term_start: int, after: int, end: int) -> bool:
    """Is the terminator run at ``term_start`` (blank space from ``after``) a sentence end?"""
    nxt = after
    while nxt < end and is_blank(raw[nxt]):
        nxt += 1
    if nxt >= end or not _starts_sentence(raw[nxt]):
        return False
    if raw[term_start] != "." or raw[term_start : term_start + 3] == "...":
        return True
    token = _TOKEN_BEFORE.search(raw, start, term_start + 1)
    word = token.group(0).lstrip("([\u201c\u2018\"'") if token else ""
    if word.lower() in _abbreviations() or _INITIAL.match(word):
        return False
    if raw[nxt].isdigit() and word.lower() in _numeric_abbreviations():
        return False
    # "1. Foam roll the hamstrings": a list number opening the block is not a sentence.
    return not (_LIST_NUMBER.match(word) and token is not None and token.start() == start)


def split_sentences(raw: str, start: int, end: int) -> list[tuple[int, int]]:
    """Trimmed sentence spans covering ``raw[start:end]`` in order.

    >>> t = "Dr. Smith said no. Rest 2.5 days…then run!!! Pain above 3/10? Stop."
    >>> [t[s:e] for s, e in split_sentences(t, 0, len(t))]
    ['Dr. Smith said no.', 'Rest 2.5 days…then run!!!', 'Pain above 3/10?', 'Stop.']
    >>> t = "1. Be patient… It takes time."
    >>> [t[s:e] for s, e in split_sentences(t, 0, len(t))]
    ['1. Be patient…', 'It takes time.']
    """
    start, end = trim_span(raw, start, end)
    spans: list[tuple[int, int]] = []
    cur = start
    for m in _BOUNDARY.finditer(raw, start, end):
        if m.start() < cur:
            continue
        if _is_boundary(raw, start, m.start(), m.end(), end):
            s, e = trim_span(raw, cur, m.end())
            if s < e:
                spans.append((s, e))
            cur = m.end()
    s, e = trim_span(raw, cur, end)
    if s < e:
        spans.append((s, e))
    return spans
