"""Lexical side of retrieval: tokens, light stems, synonym expansion, typo repair, BM25.

Pure functions plus one small class holding a BM25 table. Query handling is
robust to how people type: words missing from the corpus vocabulary are mapped
to the closest known word ("proximl" -> "proximal", "stretchs" -> "stretch"),
and lay terms or abbreviations expand through ``data/synonyms.yaml``
("sit bone" -> "ischial tuberosity", "PHT" -> "proximal hamstring tendinopathy").
It knows nothing of embeddings, Chroma or answers.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from rank_bm25 import BM25Okapi

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


def terms(text: str) -> list[str]:
    """Stemmed content terms: stopwords dropped, short words kept only when meaningful."""
    return [
        stem(w) for w in words(text)
        if w not in STOPWORDS and (len(w) > 2 or w in KEEP_SHORT or w.isdigit())
    ]


@dataclass(frozen=True)
class Synonyms:
    """Groups of equivalent phrases, stored as tuples of stemmed terms."""

    groups: tuple[tuple[tuple[str, ...], ...], ...]

    @classmethod
    def from_lists(cls, groups: Iterable[Sequence[str]]) -> Synonyms:
        out = []
        for group in groups:
            phrases = tuple(t for t in (tuple(terms(p)) for p in group) if t)
            if len(phrases) > 1:
                out.append(phrases)
        return cls(tuple(out))

    def expand(self, query_terms: Sequence[str]) -> list[str]:
        """Add the terms of every phrase equivalent to a phrase found in the query.

        >>> syn = Synonyms.from_lists([["ischial tuberosity", "sit bone"]])
        >>> syn.expand(["sore", "sit", "bone"])
        ['sore', 'sit', 'bone', 'ischial', 'tuberosity']
        """
        out = list(query_terms)
        for group in self.groups:
            if any(_contains(query_terms, p) for p in group):
                for phrase in group:
                    out.extend(t for t in phrase if t not in out)
        return out

    def vocabulary(self) -> set[str]:
        return {t for g in self.groups for p in g for t in p}


def _contains(seq: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return any(tuple(seq[i : i + n]) == tuple(phrase) for i in range(len(seq) - n + 1))


@cache
def load_synonyms() -> Synonyms:
    from assistant.gate_data import load_data

    return Synonyms.from_lists(load_data("synonyms.yaml")["groups"])


@cache
def load_topic_terms() -> frozenset[str]:
    from assistant.gate_data import load_data

    return frozenset(stem(t) for t in load_data("synonyms.yaml").get("topic_terms", []))


def correct_typos(query_terms: Sequence[str], vocabulary: set[str], cutoff: float = 0.85) -> list[str]:
    """Replace unknown terms (5+ letters) by the closest vocabulary term, if close enough.

    >>> correct_typos(["proximl", "hamstrng", "still"], {"proximal", "hamstring", "skill"})
    ['proximal', 'hamstring', 'still']
    """
    out = []
    vocab = sorted(vocabulary)
    for t in query_terms:
        if t in vocabulary or len(t) < 5 or t.isdigit():
            out.append(t)
            continue
        match = difflib.get_close_matches(t, vocab, n=1, cutoff=cutoff)
        out.append(match[0] if match else t)
    return out


@dataclass
class LexicalIndex:
    """BM25 over documents' terms, with typo repair and synonym expansion of queries."""

    doc_terms: list[list[str]]
    synonyms: Synonyms = field(default_factory=load_synonyms)

    def __post_init__(self) -> None:
        self.vocabulary = {t for d in self.doc_terms for t in d} | self.synonyms.vocabulary()
        self._bm25 = BM25Okapi(self.doc_terms or [[""]])

    expansion_weight: float = 0.3

    topic: frozenset[str] = field(default_factory=lambda: load_topic_terms())

    def own_terms(self, query: str) -> list[str]:
        """The query's own terms, typos repaired; the corpus's topic words are left out
        when the query has any other content word."""
        found = correct_typos(terms(query), self.vocabulary)
        specific = [t for t in found if t not in self.topic]
        return specific or found

    def query_terms(self, query: str) -> list[str]:
        """Own terms plus synonym expansions."""
        return self.synonyms.expand(self.own_terms(query))

    def scores(self, query: str) -> list[float]:
        """BM25 of the query's own terms plus a down-weighted BM25 of its synonym expansions."""
        own = self.own_terms(query)
        extra = [t for t in self.synonyms.expand(own) if t not in own]
        if not own or not self.doc_terms:
            return [0.0] * len(self.doc_terms)
        base = self._bm25.get_scores(own)
        if extra:
            base = base + self.expansion_weight * self._bm25.get_scores(extra)
        return [float(s) for s in base]

    def repaired_query(self, query: str) -> str:
        """The query with typos repaired word by word (for the dense side), else unchanged."""
        out = []
        for w in words(query):
            t = stem(w)
            if w in STOPWORDS or t in self.vocabulary or len(t) < 5 or w.isdigit():
                out.append(w)
            else:
                fixed = correct_typos([t], self.vocabulary)[0]
                out.append(fixed if fixed != t else w)
        return " ".join(out)
