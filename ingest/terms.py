"""Lexical terms of a text: word tokens, stopwords, a light stemmer (pure).

Shared by ingestion (which stores a BM25 table of every content chunk with its
index build) and retrieval (which scores queries against it), so both sides
cut text into the same terms. It knows nothing of BM25, synonyms or typos
(``assistant.answering.lexical`` adds those).
"""

from __future__ import annotations

import re
from functools import lru_cache

from core.text import normalize

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset(
    """a an the and or but if of to in on at for with from by as is are was were be been being
    it its this that these those i me my we our you your he she they them his her their what which
    who whom how do does did doing have has had having can could should would will shall may might
    must so than too very just not no into about over under up down out off again then there here
    when where all any both each few more most other some such only own same s t don't isn't
    am im i'm ive i've get got getting ok okay""".split()
)
# Short words that matter in this domain even though they are short or look like stopwords.
KEEP_SHORT = frozenset({"pht", "prp", "rdl", "hip", "leg", "run", "pop", "gym"})


# Words that end like an inflection but are not one.
_NOT_INFLECTED = frozenset(
    "hamstring hamstrings string spring during morning evening nothing something thing things "
    "bring ceiling king ring sing tendinosis tendinitis tendonitis fasciitis always across "
    "less unless bias gas yes this thus its was has is us plus series species".split()
)


@lru_cache(maxsize=1 << 16)  # pure, and a corpus repeats its words: cached
def stem(word: str) -> str:
    """A deliberately light suffix stripper (plural and verb endings only).

    >>> [stem(w) for w in ["stretches", "stretching", "hamstrings", "injuries", "tendons", "glutes"]]
    ['stretch', 'stretch', 'hamstring', 'injury', 'tendon', 'glute']
    >>> [stem(w) for w in ["running", "sitting", "runing", "loaded", "tendinitis"]]
    ['run', 'sit', 'run', 'load', 'tendinitis']
    """
    w = word.replace("'", "")
    if w in _NOT_INFLECTED:
        return w[:-1] if w.endswith("strings") or w == "things" else w
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if not w.endswith(suffix) or len(w) - len(suffix) < 3:
            continue
        if suffix == "s" and w.endswith(("ss", "us", "is")):
            return w
        base = w[: -len(suffix)] + repl
        if suffix == "es" and not base.endswith(("ch", "sh", "x", "ss", "z")):
            base = w[:-1]  # "glutes" -> "glute", "stretches" -> "stretch"
        if suffix in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
            base = base[:-1]  # "running" -> "run", "sitting" -> "sit"
        return base
    return w


def words(text: str) -> list[str]:
    """Lower-cased word tokens of the matching form of ``text``.

    >>> words("Don\\u2019t stretch your HAMSTRINGS!")
    ["don't", 'stretch', 'your', 'hamstrings']
    """
    return _TOKEN.findall(normalize(text, lower=True))


def content_words(text: str) -> list[str]:
    """The words ``terms`` stems: stopwords dropped, short words kept only when meaningful."""
    return [w for w in words(text)
            if w not in STOPWORDS and (len(w) > 2 or w in KEEP_SHORT or w.isdigit())]


def terms(text: str) -> list[str]:
    """Stemmed content terms: stopwords dropped, short words kept only when meaningful."""
    return [stem(w) for w in content_words(text)]
