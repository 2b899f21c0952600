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
from importlib import resources

import yaml
from rank_bm25 import BM25Okapi

from ingest.text import normalize

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset(
    """a an the and or but if of to in on at for with from by as is are was were be been being
    it its this that these those i me my we our you your he she they them his her their what which
    who whom how do does did doing have has had having can could should would will shall may might
    must so than too very just not no into about over under up down out off again then there here
    when where why all any both each few more most other some such only own same s t don't isn't
    am im i'm ive i've get got getting ok okay""".split()
)
# Short words that matter in this domain even though they are short or look like stopwords.
KEEP_SHORT = frozenset({"pht", "prp", "rdl", "hip", "leg", "run", "pop", "gym"})


def stem(word: str) -> str:
    """A deliberately light suffix stripper (plural and verb endings only).

    >>> [stem(w) for w in ["stretches", "stretching", "hamstrings", "injuries", "tendons", "glutes"]]
    ['stretch', 'stretch', 'hamstring', 'injury', 'tendon', 'glute']
    """
    w = word.replace("'", "")
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            base = w[: -len(suffix)] + repl
            if suffix == "es" and not base.endswith(("ch", "sh", "x", "ss", "z")):
                base = w[:-1]  # "glutes" -> "glute", "stretches" -> "stretch"
            if suffix == "s" and w.endswith("ss"):
                continue
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
    text = resources.files("assistant.data").joinpath("synonyms.yaml").read_text("utf-8")
    return Synonyms.from_lists(yaml.safe_load(text)["groups"])


def correct_typos(query_terms: Sequence[str], vocabulary: set[str], cutoff: float = 0.8) -> list[str]:
    """Replace unknown terms (4+ letters) by the closest vocabulary term, if close enough.

    >>> correct_typos(["proximl", "hamstrng", "pain"], {"proximal", "hamstring", "pain"})
    ['proximal', 'hamstring', 'pain']
    """
    out = []
    vocab = sorted(vocabulary)
    for t in query_terms:
        if t in vocabulary or len(t) < 4 or t.isdigit():
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

    def query_terms(self, query: str) -> list[str]:
        return self.synonyms.expand(correct_typos(terms(query), self.vocabulary))

    def scores(self, query: str) -> list[float]:
        q = self.query_terms(query)
        if not q or not self.doc_terms:
            return [0.0] * len(self.doc_terms)
        return [float(s) for s in self._bm25.get_scores(q)]

    def repaired_query(self, query: str) -> str:
        """The query with typos repaired word by word (for the dense side), else unchanged."""
        out = []
        for w in words(query):
            t = stem(w)
            if w in STOPWORDS or t in self.vocabulary or len(t) < 4 or w.isdigit():
                out.append(w)
            else:
                fixed = correct_typos([t], self.vocabulary)[0]
                out.append(fixed if fixed != t else w)
        return " ".join(out)
