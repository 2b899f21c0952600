"""Lexical scoring at scale against oracles: BM25 arrays vs rank_bm25, indexed typo repair vs
comparing every vocabulary word (results must be identical, not just close)."""

from __future__ import annotations

import difflib
import random

import numpy as np
from rank_bm25 import BM25Okapi

from assistant.answering.lexical import LexicalIndex, TypoIndex, correct_typos, terms
from ingest.bm25 import build_bm25
from tests.conftest import CORPUS


def test_bm25_arrays_score_exactly_as_rank_bm25() -> None:
    rng = random.Random(5)
    words = [f"w{i}" for i in range(400)]
    docs = [[rng.choice(words[: rng.randint(3, 400)]) for _ in range(rng.randint(1, 50))]
            for _ in range(1500)]
    docs[7] = []  # an empty document too
    oracle, table = BM25Okapi(docs), build_bm25(docs)
    for _ in range(50):
        query = [rng.choice([*words, "unseen"]) for _ in range(rng.randint(1, 6))]
        assert np.array_equal(oracle.get_scores(query), table.scores(query))


def test_bm25_on_the_corpus_matches_and_ranks_a_term_it_holds() -> None:
    texts = [p for f in sorted(CORPUS.glob("*.txt"))
             for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    docs = [terms(t) for t in texts]
    index = LexicalIndex(docs)
    query = "eccentric loading of the hamstring tendon"
    own = index.own_terms(query)
    extra = [t for t in index.synonyms.expand(own) if t not in own]
    oracle = BM25Okapi(docs)
    expected = oracle.get_scores(own)
    if extra:
        expected = expected + index.expansion_weight * oracle.get_scores(extra)
    assert np.array_equal(index.score_array(query), expected)
    assert {"eccentric", "tendon"} & set(docs[int(np.argmax(expected))])


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return [word[:i] + word[i + 1 :], word[:i] + letter + word[i:],
            word[:i] + letter + word[i + 1 :]][rng.randrange(3)]


def test_indexed_typo_repair_equals_comparing_every_word() -> None:
    rng = random.Random(11)
    vocab = {t for f in CORPUS.glob("*.txt") for t in terms(f.read_text(encoding="utf-8"))}
    vocab |= {"".join(rng.choice("aeioulnrst") for _ in range(rng.randint(4, 11)))
              for _ in range(5000)}
    index = TypoIndex(vocab)
    ordered = sorted(vocab)
    tried = 0
    for word in rng.sample(ordered, 300):
        typo = _typo(word, rng)
        if len(typo) < 5 or typo in vocab:
            continue
        tried += 1
        for cutoff in (0.85, 0.7):
            fast = difflib.get_close_matches(typo, index.candidates(typo, cutoff), n=1, cutoff=cutoff)
            assert fast == difflib.get_close_matches(typo, ordered, n=1, cutoff=cutoff), typo
        assert correct_typos([typo], vocab, index=index) == correct_typos([typo], vocab)
    assert tried > 100
