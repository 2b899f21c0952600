"""Count prompt tokens and pack ranked passages into what is left of the context window.

``load_counter`` returns a tiktoken counter when the encoding can be loaded (tiktoken
itself honours ``TIKTOKEN_CACHE_DIR``); offline it cannot download one, so it falls back
to another tokenizer (e.g. the embedding model's ``count_tokens``) times a safety margin,
warning once per encoding name, and remembers the failure so it never retries a download
in the same process. ``pack_passages`` is pure: it keeps the best-ranked passages whose
rendered blocks fit the budget, dropping the lowest-ranked first. This module does not
decide the budget (the answerer does: context window - prompt - answer reserve) and
does not know the LLM's real tokenizer, which is why the margin exists.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from assistant.models import Passage

log = logging.getLogger(__name__)

_FAILED_ENCODINGS: dict[str, str] = {}  # encoding name -> why it could not be loaded


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens of a text as (or more than) the LLM would."""

    @property
    def name(self) -> str: ...

    def count(self, text: str) -> int: ...


@dataclass(frozen=True)
class TiktokenCounter:
    """Exact counts with a ``tiktoken.Encoding`` (special tokens are counted as text)."""

    encoding: Any  # tiktoken.Encoding, typed loosely to keep the import lazy

    @property
    def name(self) -> str:
        return f"tiktoken:{self.encoding.name}"

    def count(self, text: str) -> int:
        return len(self.encoding.encode(text, disallowed_special=()))


@dataclass(frozen=True)
class ScaledCounter:
    """Another tokenizer's count times a safety margin, rounded up.

    >>> ScaledCounter("words", lambda t: len(t.split()), 1.3).count("a b c d")
    6
    """

    label: str
    base: Callable[[str], int]
    margin: float = 1.3

    @property
    def name(self) -> str:
        return f"{self.label}x{self.margin:g}"

    def count(self, text: str) -> int:
        return math.ceil(self.base(text) * self.margin)


def approx_tokens(text: str) -> int:
    """A tokenizer-free upper estimate: one token per 3 UTF-8 bytes, rounded up.

    >>> approx_tokens("hamstring"), approx_tokens("")
    (3, 0)
    """
    return math.ceil(len(text.encode("utf-8")) / 3)


def load_counter(
    encoding_name: str, fallback: Callable[[str], int] | None = None, margin: float = 1.3
) -> TokenCounter:
    """A tiktoken counter for ``encoding_name``, or ``fallback`` x ``margin`` if it can't load.

    With no ``fallback``, the byte estimate ``approx_tokens`` is used (also x ``margin``).
    """
    if encoding_name not in _FAILED_ENCODINGS:
        try:
            import tiktoken

            return TiktokenCounter(tiktoken.get_encoding(encoding_name))
        except Exception as exc:  # offline download, unknown name, missing package...
            _FAILED_ENCODINGS[encoding_name] = f"{exc.__class__.__name__}: {exc}"[:200]
            log.warning(
                "tiktoken encoding %r could not be loaded (%s); counting prompt tokens with "
                "%s x %g instead. Put the encoding file in TIKTOKEN_CACHE_DIR to count exactly.",
                encoding_name,
                _FAILED_ENCODINGS[encoding_name],
                "the fallback tokenizer" if fallback else "a bytes/3 estimate",
                margin,
            )
    if fallback is None:
        return ScaledCounter("bytes/3", approx_tokens, margin)
    return ScaledCounter(getattr(fallback, "__qualname__", "fallback"), fallback, margin)


def pack_passages(
    passages: Sequence[Passage],
    counter: TokenCounter,
    budget: int,
    render: Callable[[int, Passage], str] | None = None,
) -> list[Passage]:
    """The longest prefix of ``passages`` (best first) whose rendered blocks fit ``budget``.

    ``render(n, passage)`` is the block as it appears in the prompt (numbered from 1);
    by default the passage text plus a newline.

    >>> class Words:
    ...     name = "words"
    ...     def count(self, text): return len(text.split())
    >>> def p(i, text): return Passage(str(i), "s", 0, len(text), text, 1.0, "content", "", "t", "e", 1)
    >>> ps = [p(1, "one two three"), p(2, "four five"), p(3, "six")]
    >>> [x.id for x in pack_passages(ps, Words(), 5)]
    ['1', '2']
    >>> [x.id for x in pack_passages(ps, Words(), 2)]
    []
    """
    render = render or (lambda _n, passage: passage.text + "\n")
    kept: list[Passage] = []
    used = 0
    for n, passage in enumerate(passages, start=1):
        cost = counter.count(render(n, passage))
        if used + cost > budget:
            break
        kept.append(passage)
        used += cost
    return kept
