"""Lexical side of retrieval: synonym expansion, typo repair, BM25 scoring of queries.

Pure functions plus one small class over a BM25 table (``ingest.bm25``: sparse
arrays, stored with each index build; terms come from ``ingest.terms``). Query handling is
robust to how people type: words missing from the corpus vocabulary are mapped
to the closest known word ("proximl" -> "proximal", "stretchs" -> "stretch"),
and lay terms or abbreviations expand through ``data/synonyms.yaml``
("sit bone" -> "ischial tuberosity", "PHT" -> "proximal hamstring tendinopathy").
It knows nothing of embeddings, Chroma or answers.
"""

from __future__ import annotations

import difflib
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import numpy as np

from ingest.bm25 import Bm25Table, build_bm25
from ingest.terms import KEEP_SHORT, STOPWORDS, content_words, stem, terms, words

__all__ = ["KEEP_SHORT", "STOPWORDS", "LexicalIndex", "Synonyms", "TypoIndex", "correct_typos",
           "stem", "terms", "words"]


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
        present = set(query_terms)
        for group in self.groups:
            if any(p[0] in present and _contains(query_terms, p) for p in group):
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


def correct_typos(
    query_terms: Sequence[str], vocabulary: set[str] | frozenset[str], cutoff: float = 0.85,
    index: TypoIndex | None = None,
) -> list[str]:
    """Replace unknown terms (5+ letters) by the closest vocabulary term, if close enough.

    ``index`` (a ``TypoIndex`` of the same vocabulary) narrows the comparison to words
    that can reach ``cutoff``; the answer is the same as comparing with every word.

    >>> correct_typos(["proximl", "hamstrng", "still"], {"proximal", "hamstring", "skill"})
    ['proximal', 'hamstring', 'still']
    """
    out = []
    for t in query_terms:
        if t in vocabulary or len(t) < 5 or t.isdigit():
            out.append(t)
            continue
        pool = index.candidates(t, cutoff) if index is not None else sorted(vocabulary)
        match = difflib.get_close_matches(t, pool, n=1, cutoff=cutoff)
        out.append(match[0] if match else t)
    return out


# Endings the light stemmer leaves on a word ("damaged" -> "damag", "given", "slightly"): a
# known word ends in one of these after the corpus term it is an inflection of ("e" only when
# that term is a cut-down stem, not a word: "continue" -> "continu", not "shine" -> "shin";
# not "y": "party" is not "part", nor "shiny" "shin")
_LEFT_ENDINGS = frozenset({"d", "n", "s", "ed", "es", "ly"})


def _bigram_keys(word: str) -> list[str]:
    """Bigrams numbered by occurrence, so shared keys count a multiset intersection.

    >>> _bigram_keys("anana")
    ['an0', 'na0', 'an1', 'na1']
    """
    seen: dict[str, int] = {}
    out = []
    for a, b in itertools.pairwise(word):
        n = seen.get(a + b, 0)
        seen[a + b] = n + 1
        out.append(f"{a}{b}{n}")
    return out


class TypoIndex:
    """Bigram postings of a vocabulary, so typo repair compares a handful of words, not all.

    A word ``w`` can only reach ``difflib``'s ratio ``r = 2M/T >= cutoff`` (``M`` matched
    characters in ``k`` blocks, ``T = len(t) + len(w)``) if the two share at least
    ``M - k >= 3M - T - 1`` bigram occurrences (a block of ``s`` characters carries ``s - 1``
    bigrams into the other word; consecutive blocks are separated by at least one unmatched
    character of either word). Words below that bound are never compared. Built on first use.

    >>> TypoIndex(["proximal", "hamstring", "tendon"]).candidates("proximl", 0.85)
    ['proximal']
    """

    def __init__(self, vocabulary: Iterable[str]):
        self.words = sorted(vocabulary)
        self._postings: dict[str, np.ndarray] | None = None
        self._lens = np.fromiter((len(w) for w in self.words), dtype=np.int64, count=len(self.words))

    def _build(self) -> dict[str, np.ndarray]:
        postings: dict[str, list[int]] = defaultdict(list)
        for i, w in enumerate(self.words):
            for key in _bigram_keys(w):
                postings[key].append(i)
        return {k: np.asarray(v, dtype=np.int64) for k, v in postings.items()}

    def candidates(self, term: str, cutoff: float) -> list[str]:
        if self._postings is None:
            self._postings = self._build()
        lists = [self._postings[k] for k in _bigram_keys(term) if k in self._postings]
        if not lists:
            return []
        ids, shared = np.unique(np.concatenate(lists), return_counts=True)
        total = self._lens[ids] + len(term)
        least_matched = np.floor(cutoff * total / 2)  # a lower bound of M: keeps every candidate
        keep = ids[shared >= 3 * least_matched - total - 1]
        return [self.words[i] for i in keep]


@dataclass
class LexicalIndex:
    """BM25 over documents' terms, with typo repair and synonym expansion of queries.

    Built from term lists (``LexicalIndex(doc_terms)``), or with ``from_table`` from the
    BM25 table stored with an index build.
    """

    doc_terms: list[list[str]]
    synonyms: Synonyms = field(default_factory=load_synonyms)
    expansion_weight: float = 0.3
    topic: frozenset[str] = field(default_factory=lambda: load_topic_terms())
    table: Bm25Table | None = None
    # words of the language (the embedding model's whole-word vocabulary): not typos
    known: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.table is None:
            self.table = build_bm25(self.doc_terms)
        self.n_docs = self.table.n_docs
        self.vocabulary = set(self.table.vocab) | self.synonyms.vocabulary()
        self.typos = TypoIndex(self.vocabulary)
        # a question asks for the same repair several times (dense query, BM25, expansions)
        self.repair = lru_cache(maxsize=4096)(self._repair)

    def _repair(self, term: str) -> str:
        return correct_typos([term], self.vocabulary, index=self.typos)[0]

    def term_of(self, word: str) -> str:
        """The term a content word is matched as: its stem, a typo repaired. A ``known`` word
        is not a typo: it is brought only to a corpus term it is an inflection of ("damaged"
        -> "damage", "slightly" -> "slight"), never to a nearby other word ("never" -> "ever",
        "parents" -> "apparent", "think" -> "thin").

        >>> lex = LexicalIndex([["ever", "damage", "thin", "hamstring"]], known=frozenset(
        ...     ["never", "damaged", "think", "fever"]))
        >>> [lex.term_of(w) for w in ("never", "damaged", "think", "hamstrng", "fevers")]
        ['never', 'damage', 'think', 'hamstring', 'fever']
        """
        t = stem(word)
        fixed = self.repair(t)
        if fixed == t or (word not in self.known and t not in self.known):  # "fevers": "fever"
            return fixed
        # measured from the known stem when there is one: "shines" is "shine" + "s", not "shin"
        base = t if t in self.known and t != word else word
        rest = base[len(fixed):] if base.startswith(fixed) else None
        inflects = rest in _LEFT_ENDINGS or (rest == "e" and fixed not in self.known)
        return fixed if inflects else t

    @classmethod
    def from_table(cls, table: Bm25Table, **kwargs: Any) -> LexicalIndex:
        return cls([], table=table, **kwargs)

    def doc_freq(self, term: str) -> int:
        """How many content chunks hold ``term`` (a stemmed term; 0 when unknown)."""
        if self.table is None:
            return 0
        i = self.table.term_id.get(term)
        return 0 if i is None else int(self.table.indptr[i + 1] - self.table.indptr[i])

    def covers(self, term: str, min_docs: int = 3) -> bool:
        """True when a one-word ``term`` occurs in at least ``min_docs`` content chunks (a
        phrase never counts: its words may each occur apart)."""
        words = terms(term)
        return len(words) == 1 and self.doc_freq(words[0]) >= min_docs

    def distinctive(self, words: Iterable[str], share: float = 0.25) -> set[str]:
        """The terms that occur in fewer than ``share`` of the content chunks (in a corpus about
        running pain, "run" and "pain" name nothing in particular); unknown terms count."""
        return {t for t in words if self.doc_freq(t) < share * max(self.n_docs, 1)}

    def own_terms(self, query: str) -> list[str]:
        """The query's own terms, typos repaired; the corpus's topic words are left out
        when the query has any other content word."""
        found = [self.term_of(w) for w in content_words(query)]
        specific = [t for t in found if t not in self.topic]
        return specific or found

    def query_terms(self, query: str) -> list[str]:
        """Own terms plus synonym expansions."""
        return self.synonyms.expand(self.own_terms(query))

    def score_array(self, query: str) -> np.ndarray:
        """BM25 of the query's own terms plus a down-weighted BM25 of its synonym expansions,
        one float per document (scores as ``rank_bm25.BM25Okapi`` gives them)."""
        assert self.table is not None
        own = self.own_terms(query)
        extra = [t for t in self.synonyms.expand(own) if t not in own]
        if not own or not self.n_docs:
            return np.zeros(self.n_docs)
        base = self.table.scores(own)
        if extra:
            base = base + self.expansion_weight * self.table.scores(extra)
        return base

    def scores(self, query: str) -> list[float]:
        return [float(s) for s in self.score_array(query)]

    def repaired_query(self, query: str) -> str:
        """The query with typos repaired word by word (for the dense side), else unchanged."""
        out = []
        for w in words(query):
            t = stem(w)
            if w in STOPWORDS or t in self.vocabulary or len(t) < 5 or w.isdigit():
                out.append(w)
            else:
                fixed = self.term_of(w)
                out.append(fixed if fixed != t else w)
        return " ".join(out)
