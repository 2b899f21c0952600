"""Count prompt tokens and pack ranked passages into what is left of the context window.

``load_counter`` returns a tiktoken counter only when the encoding's file is already in
tiktoken's cache (``TIKTOKEN_CACHE_DIR``, else ``DATA_GYM_CACHE_DIR``, else the temp dir:
the lookup tiktoken itself does), so no download is ever attempted; otherwise the LLM
server's own tokenizer when one is given (llama.cpp's ``/tokenize``), else another
tokenizer (e.g. the embedding model's ``count_tokens``) times a safety margin. It logs
its choice once per process at INFO (``setup.py`` tells the user once per data folder). ``pack_passages`` is pure: it keeps the best-ranked passages whose
rendered blocks fit the budget, dropping the lowest-ranked first. This module does not
decide the budget (the answerer does: context window - prompt - answer reserve) and
does not know the LLM's real tokenizer, which is why the margin exists.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from assistant.models import Passage

log = logging.getLogger(__name__)

_FAILED_ENCODINGS: dict[str, str] = {}  # encoding name -> why it could not be loaded
# tiktoken caches each encoding file under the sha1 of the address it comes from; these are
# those file names, so the cache can be checked without tiktoken trying the network
# (tests/test_llm_budget.py checks them against tiktoken's own encoding constructors)
TIKTOKEN_CACHE_NAMES = {
    "o200k_base": ["fb374d419588a4632f3f557e76b4b70aebbca790"],
    "cl100k_base": ["9b5ad71b2ce5302211f9c61530b329a4922fc6a4"],
    "p50k_base": ["ec7223a39ce59f226a68acc30dc1af2788490e15"],
    "p50k_edit": ["ec7223a39ce59f226a68acc30dc1af2788490e15"],
    "r50k_base": ["0ea1e91bbb3a60f729a8dc8f777fd2fc07cd8df4"],
    "gpt2": ["6d1cbeee0f20b3d9449abfede4726ed8212e3aee", "6c7ea1a7e38e3a7f062df639a5b80947f075ffe6"],
}


def tiktoken_cache_dir() -> Path | None:
    """Where tiktoken caches encoding files (its own rule); None when caching is disabled."""
    env = os.environ  # tiktoken's own variables, read the way tiktoken reads them
    if "TIKTOKEN_CACHE_DIR" in env:
        raw = env["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in env:
        raw = env["DATA_GYM_CACHE_DIR"]
    else:
        raw = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return Path(raw) if raw else None


def tiktoken_cached(encoding_name: str) -> bool:
    """True when every file of the encoding is in tiktoken's cache (loading needs no network)."""
    cache = tiktoken_cache_dir()
    names = TIKTOKEN_CACHE_NAMES.get(encoding_name)
    if cache is None or not names:
        return False
    return all((cache / name).is_file() for name in names)


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
        return f"{self.label} x {self.margin:g}"

    def count(self, text: str) -> int:
        return math.ceil(self.base(text) * self.margin)


def approx_tokens(text: str) -> int:
    """A tokenizer-free upper estimate: one token per 3 UTF-8 bytes, rounded up.

    >>> approx_tokens("hamstring"), approx_tokens("")
    (3, 0)
    """
    return math.ceil(len(text.encode("utf-8")) / 3)


def load_counter(
    encoding_name: str,
    fallback: Callable[[str], int] | None = None,
    margin: float = 1.3,
    server: Callable[[str], int] | None = None,
) -> TokenCounter:
    """tiktoken if its file is cached, else ``server`` (the LLM's own tokenizer, x 1.05), else
    ``fallback`` x ``margin`` (the byte estimate ``approx_tokens`` when there is none).

    Never downloads: an encoding that is not cached is not loaded.
    """
    why = _FAILED_ENCODINGS.get(encoding_name)
    if why is None:
        if tiktoken_cached(encoding_name):
            try:
                import tiktoken

                return TiktokenCounter(tiktoken.get_encoding(encoding_name))
            except Exception as exc:  # corrupt cache file, unknown name, missing package...
                why = f"{exc.__class__.__name__}: {exc}"[:200]
        else:
            why = "its file is not in tiktoken's cache and nothing is downloaded"
        _FAILED_ENCODINGS[encoding_name] = why
        log.info("tiktoken encoding %r not used (%s).", encoding_name, why)
    if server is not None:
        return ScaledCounter("server /tokenize", server, 1.05)
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
