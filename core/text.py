"""Text normalisation for *matching only*, and whitespace-aware span trimming.

The raw corpus text is never rewritten: spans always index the raw file. This
module gives (a) ``normalize``: a comparison form (straight quotes, plain spaces,
no emoji or braille blanks, folded whitespace) used for duplicate keys, lexical
matching and citation checks, and (b) ``trim_span``: shrink ``[start, end)`` so it
neither starts nor ends with whitespace-like characters (including NBSP and the
braille blank U+2800, which ``str.isspace`` does not cover). It does no
tokenisation, stemming or case folding beyond ``lower=True``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Characters that look blank on a page. U+2800 (braille blank) is not whitespace for str.isspace.
BLANKS = "\u00a0\u2007\u202f\u2800\u200b\u200c\u200d\ufeff\u3000"
_BLANK_SET = frozenset(BLANKS)

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        **{c: " " for c in BLANKS},
    }
)
_WS = re.compile(r"\s+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def is_blank(ch: str) -> bool:
    """True for whitespace and blank-looking characters.

    >>> [is_blank(c) for c in (" ", "\\u00a0", "\\u2800", "a")]
    [True, True, True, False]
    """
    return ch.isspace() or ch in _BLANK_SET


def _is_symbol(ch: str) -> bool:
    cat = unicodedata.category(ch)
    # So: emoji and pictographs; Cf: joiners/variation selectors; Co: private use.
    return cat in ("So", "Cf", "Co", "Cs") or 0xFE00 <= ord(ch) <= 0xFE0F


def normalize(text: str, *, lower: bool = False) -> str:
    """Comparison form of ``text``: typographic characters made plain, emoji dropped.

    >>> normalize("Don\\u2019t\\u00a0stop \\U0001f539 running\\u2026")
    "Don't stop running..."
    >>> normalize("  A \\u2800 B  ", lower=True)
    'a b'
    """
    out = text.translate(_TRANSLATE)
    if not out.isascii():  # no ASCII character is a symbol: look only at the others
        out = _NON_ASCII.sub(lambda m: " " if _is_symbol(m.group()) else m.group(), out)
    out = _WS.sub(" ", out).strip()
    return out.lower() if lower else out


def dup_key(text: str) -> str:
    """Key equal for texts that differ only in typography, case or spacing.

    >>> dup_key("It\\u2019s  fine.") == dup_key("it's fine.")
    True
    """
    return hashlib.sha1(normalize(text, lower=True).encode("utf-8")).hexdigest()[:16]


def trim_span(raw: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` past leading/trailing blanks; returns an empty span if all blank.

    >>> raw = "\\u00a0 Hello \\u2800"
    >>> s, e = trim_span(raw, 0, len(raw)); raw[s:e]
    'Hello'
    """
    while start < end and is_blank(raw[start]):
        start += 1
    while end > start and is_blank(raw[end - 1]):
        end -= 1
    return start, end


def content_hash(*parts: object) -> str:
    """Stable short hash of the parts, used for record IDs.

    >>> content_hash("a", 1) == content_hash("a", 1) != content_hash("a", 2)
    True
    """
    h = hashlib.sha1()
    for p in parts:
        h.update(str(p).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:20]
