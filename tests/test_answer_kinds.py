"""What an ask's kind asks of its answer (``extractive.states``), and per-ask passage ranks in
sentence scoring (``extractive.relevance(ranks=...)``). Pure: no model, no index."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answering.extractive import Candidate, relevance, states
from assistant.models import Passage, QuoteSpan


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("how_many", "Start with 2 sets of 15 slow reps and add a third set later.", True),
    ("how_many", "Three times a week is plenty for most people: 3x a week.", True),
    ("how_many", "Keep the pain at or under 4/10 while you do them.", True),
    ("how_many", "Strength work is the key to getting better.", False),
    ("how_long", "Most people need 3-6 months before it settles.", True),
    ("how_long", "It can take a year or more.", True),
    ("how_long", "Be patient with it.", False),
    ("why", "It is usually due to doing too much too soon.", True),
    ("why", "The tendon was overloaded by the jump in mileage.", True),
    ("why", "Stretching can cause more irritation.", False),  # an effect, not the cause asked
    ("what", "Anything at all.", True),  # other kinds want no particular form
])
def test_states(kind: str, text: str, expected: bool) -> None:
    assert states(kind, text) is expected


def _candidate(pid: str, rank: int, vector: list[float]) -> Candidate:
    span = QuoteSpan(f"{pid}-s", 0, 10, "a sentence of ten words or so here")
    passage = Passage(pid, "corpus/x.txt", 0, 10, span.text, 0.0, "content", "", "T", "new", 0,
                      sentences=(span,))
    return Candidate(span, passage, rank, 0, np.asarray(vector, float), pid)


def test_per_ask_ranks_replace_the_merged_rank() -> None:
    # merged order: the first ask's passage "a" ranks 0, the second ask's passage "b" ranks 1
    cands = [_candidate("a", 0, [1.0, 0.0]), _candidate("b", 1, [1.0, 0.0])]
    q = np.array([1.0, 0.0])
    merged = relevance(cands, q, [])
    assert merged[0] > merged[1]
    # for the second ask "b" is its best passage and "a" one it did not retrieve
    own = relevance(cands, q, [], ranks={"b": 0})
    assert own[1] > own[0]


def _passage_of(texts: list[str]) -> list[Candidate]:
    spans, at = [], 0
    for n, t in enumerate(texts):
        spans.append(QuoteSpan(f"p-{n}", at, at + len(t), t))
        at += len(t) + 1
    passage = Passage("p", "corpus/x.txt", 0, at, " ".join(texts), 0.0, "content", "", "T",
                      "new", 0, sentences=tuple(spans))
    return [Candidate(s, passage, 0, n, np.eye(len(texts))[n], s.id) for n, s in enumerate(spans)]


def test_a_pinned_sentence_brings_what_it_leans_on_whatever_the_budget() -> None:
    from assistant.answering.extractive import select

    cands = _passage_of([
        "If I had to give one tip it is to start loading the tendon with slow heavy strength work.",
        "This will be the key to getting back to running without the pain coming back.",
        "Runners often notice the ache most when sitting at a desk.",
    ])
    # the budget fits the pinned sentence and the unrelated third one, not the tip it leans on
    picked = select(cands, [0.2, 1.0, 0.9], max_words=26, pinned={"p-1"})
    assert [c.span.id for c in picked][:2] == ["p-0", "p-1"]
    # unpinned, a leaning sentence the budget cannot ground is dropped instead
    picked = select(cands, [0.2, 1.0, 0.9], max_words=26)
    assert [c.span.id for c in picked] == ["p-2"]
