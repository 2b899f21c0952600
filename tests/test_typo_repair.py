"""Typo repair leaves words of the language alone: "never" is not a typo of "ever", nor
"parents" of "apparent", and a dense query that says "ever" for "never" means the opposite."""

from __future__ import annotations

from assistant.answering.lexical import LexicalIndex
from ingest.terms import stem

# (written, the corpus word typo repair turned it into on the shipped articles): all English
WORDS = [("never", "ever"), ("fever", "ever"), ("parents", "apparent"), ("think", "thin"),
         ("short", "shot"), ("routine", "outline"), ("massive", "passive"), ("print", "sprint")]
TYPOS = {"hamstrng": "hamstring", "proximl": "proximal", "tendinopthy": "tendinopathy",
         "excercises": "exercise"}
DOCS = [[was for _w, was in WORDS], sorted(set(TYPOS.values()))]


def test_without_a_vocabulary_real_words_are_repaired_into_corpus_words() -> None:
    # the failure this guards against: each word is pulled to a corpus word it is not
    index = LexicalIndex(DOCS)
    assert [index.term_of(w) for w, _was in WORDS] == [was for _w, was in WORDS]


def test_known_words_stay_and_typos_are_still_repaired() -> None:
    index = LexicalIndex(DOCS, known=frozenset(w for w, _was in WORDS))
    assert [index.term_of(w) for w, _was in WORDS] == [stem(w) for w, _was in WORDS]
    assert {w: index.term_of(w) for w in TYPOS} == TYPOS
    query = "I never had a fever, my parents think it's my hamstrng"
    repaired = index.repaired_query(query)
    assert repaired == "i never had a fever my parents think it's my hamstring"
    # (the corpus's topic words, "hamstring" among them, count only in a query of nothing else)
    assert index.own_terms(query) == ["never", "fever", "parent", "think", "its"]
    assert index.own_terms("hamstrng") == ["hamstring"]


def test_a_known_word_still_meets_the_corpus_term_it_inflects() -> None:
    # the light stemmer leaves "damaged" as "damag": the corpus's "damage" is the same word
    index = LexicalIndex([["damage", "slight", "continu", "thin", "part", "shin"]],
                         known=frozenset(["damaged", "slightly", "continue", "think", "thinks",
                                          "party", "shine", "shin"]))
    assert [index.term_of(w) for w in ("damaged", "slightly", "continue")] == [
        "damage", "slight", "continu"]
    # ...and not a corpus word it merely begins with
    assert [index.term_of(w) for w in ("think", "thinks", "party", "shine", "shines")] == [
        "think", "think", "party", "shine", "shine"]


def test_an_inflected_form_of_a_known_word_is_known_too() -> None:
    # "fevers" is not in the tokenizer's vocabulary, "fever" is: not a typo of "ever"
    index = LexicalIndex(DOCS, known=frozenset(["fever", "parent"]))
    assert [index.term_of(w) for w in ("fevers", "parents")] == ["fever", "parent"]


def test_the_embedding_models_whole_words_are_known_and_typos_are_not(real_embedder) -> None:  # type: ignore[no-untyped-def]
    vocabulary = real_embedder.whole_words()
    assert all(w in vocabulary for w, _was in WORDS)
    assert not any(t in vocabulary for t in TYPOS)
    assert not any(w.startswith("##") or not w.isalpha() for w in vocabulary)


def test_the_assistants_retrieval_keeps_never_and_repairs_typos(real_index, real_embedder) -> None:  # type: ignore[no-untyped-def]
    from assistant.service import build_assistant

    service = build_assistant(real_index, embedder=real_embedder, backend="extractive")
    repaired = service.retriever.lexical.repaired_query(
        "I never had a fever but my parents think my proximl hamstrng tendinopthy is back")
    assert repaired == ("i never had a fever but my parents think my proximal hamstring "
                        "tendinopathy is back")
