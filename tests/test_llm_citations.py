"""Citation parsing and verification (pure): valid, out-of-range and missing markers."""

from __future__ import annotations

import doctest
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

import assistant.llm.citations as citations
import assistant.llm.context as context
from assistant.llm.citations import parse_markers, split_sentences
from assistant.llm.verify import verify_citations
from core.errors import LLMError
from tests.llm_passages import HILLS, PROMO, SITTING, TESTIMONIAL, make_passage


@pytest.mark.parametrize("module", [citations, context])
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


def test_quote_offsets_of_the_test_passages_are_consistent() -> None:
    for p in (HILLS, SITTING, PROMO):
        for s in p.sentences:
            assert p.text[s.start - p.start : s.end - p.start] == s.text


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Rest [1].", [1]),
        ("Rest [1, 2].", [1, 2]),
        ("Rest [1][2].", [1, 2]),
        ("Rest [2] [1; 3].", [2, 1, 3]),
        ("Rest [Passage 4].", [4]),
        ("In 2024 [sic] nothing.", []),
        ("A list [a] and [ ] and (1).", []),
    ],
)
def test_parse_markers(sentence: str, expected: list[int]) -> None:
    assert parse_markers(sentence) == expected


def test_split_sentences_handles_lists_abbreviations_and_trailing_markers() -> None:
    text = "Here is what helps:\n1. Walk first [1].\n2. Then jog, i.e. slowly [2]. Stop! [1]"
    assert [text[s:e] for s, e in split_sentences(text)] == [
        "Here is what helps:",
        "1. Walk first [1].",
        "2. Then jog, i.e. slowly [2].",
        "Stop! [1]",
    ]


@given(st.text(alphabet="ab .!?[]12\n", max_size=60))
def test_split_sentences_spans_are_ordered_non_blank_slices(text: str) -> None:
    spans = split_sentences(text)
    assert all(s < e for s, e in spans)
    assert all(e1 <= s2 for (_s1, e1), (s2, _e2) in itertools.pairwise(spans))
    assert all(text[s:e].strip() == text[s:e] for s, e in spans)


def test_valid_citations_are_renumbered_by_first_appearance_with_verbatim_quotes() -> None:
    answer = "Sitting pain alone should not decide it [2]. Add hills last [1]."
    v = verify_citations(answer, [HILLS, SITTING])
    assert v.text == "Sitting pain alone should not decide it [1]. Add hills last [2]."
    assert [c.marker for c in v.citations] == [1, 2]
    first, second = v.citations
    assert (first.source, first.edition) == (SITTING.source, "older")
    assert first.quote == "Sitting pain alone should not decide whether you run."
    assert second.quote == "Add hills and speed work last, after easy runs feel fine."
    for c, p in ((first, SITTING), (second, HILLS)):
        assert p.text[c.start - p.start : c.end - p.start] == c.quote
        assert (c.title, c.section, c.kind) == (p.title, p.section, "content")
    assert v.notices == []
    assert v.cited == [SITTING, HILLS]


def test_quote_is_the_best_overlapping_sentence_and_ties_go_to_the_earliest() -> None:
    v = verify_citations("Keep the pace gentle for a while [1].", [HILLS])
    assert v.citations[0].quote == "Keep the pace gentle for two weeks."
    with pytest.raises(LLMError):  # no overlap at all: the marker supports nothing
        verify_citations("Zebras are striped [1].", [HILLS])


def test_a_citation_must_share_the_sentences_words() -> None:
    v = verify_citations("Hills come last [1]. Stretch hard every single day [1].", [HILLS])
    assert v.text == "Hills come last [1]. Stretch hard every single day."
    assert any(n.startswith("Citation removed") and "Stretch hard" in n for n in v.notices)


@pytest.mark.parametrize("bad", [
    "You definitely have a torn hamstring tendon [1].",
    "Use code RUN20 for 20% off collagen [1].",
])
def test_diagnoses_and_offers_are_always_removed(bad: str) -> None:
    v = verify_citations(f"Add hills and speed work last [1]. {bad}", [HILLS, PROMO])
    assert v.text == "Add hills and speed work last [1]."
    assert any("diagnosis or a product offer" in n for n in v.notices)


def test_grouped_and_repeated_markers() -> None:
    v = verify_citations("Hills and sitting both matter [2, 1]. Hills last [1][1].", [HILLS, SITTING])
    assert v.text == "Hills and sitting both matter [1][2]. Hills last [2]."
    assert [c.source for c in v.citations] == [SITTING.source, HILLS.source]


def test_out_of_range_markers_are_removed_with_a_notice() -> None:
    v = verify_citations("Hills last [1][7]. Rest well [0].", [HILLS])
    assert v.text == "Hills last [1]. Rest well."
    assert v.notices[0].startswith("Removed the citation markers [7], [0]")
    assert any("Rest well" in n and n.startswith("Not verified") for n in v.notices)


def test_unsupported_sentences_flagged_or_dropped() -> None:
    answer = "Hills last [1]. Everyone should stretch daily. Sitting pain should not decide [2]."
    flagged = verify_citations(answer, [HILLS, SITTING], "flag")
    assert "Everyone should stretch daily." in flagged.text
    assert flagged.notices == [
        "Not verified: this sentence cites no passage it was given: "
        "\u201cEveryone should stretch daily.\u201d"
    ]
    dropped = verify_citations(answer, [HILLS, SITTING], "drop")
    assert dropped.text == "Hills last [1]. Sitting pain should not decide [2]."
    assert dropped.notices == [
        "Removed 1 sentence of the generated answer that cited no passage it was given."
    ]


def test_list_intro_lines_are_not_flagged() -> None:
    v = verify_citations("What helps:\n- Hills last [1]", [HILLS])
    assert v.text == "What helps:\n- Hills last [1]"
    assert v.notices == []


@pytest.mark.parametrize(
    "answer",
    [
        "Hills come last. Sitting pain is common.",  # no markers at all
        "Hills come last [3].",  # only out-of-range markers
        "",
    ],
)
def test_answer_without_any_valid_citation_cannot_be_verified(answer: str) -> None:
    with pytest.raises(LLMError, match="could not be verified"):
        verify_citations(answer, [HILLS, SITTING])


def test_dropping_every_cited_sentence_still_needs_one_valid_citation() -> None:
    with pytest.raises(LLMError):
        verify_citations("Nothing cited here. Nor here [5].", [HILLS], "drop")


def test_sponsorship_citation_is_marked_as_such() -> None:
    v = verify_citations("The page advertises a collagen discount [1].", [PROMO])
    assert v.citations[0].kind == "sponsorship"
    assert v.citations[0].quote.startswith("Use code RUN20")


def test_passage_without_sentences_is_quoted_whole() -> None:
    bare = make_passage("bare", ["Ice can calm pain."])
    bare = type(bare)(**{**bare.__dict__, "sentences": ()})
    v = verify_citations("Ice may help [1].", [bare])
    assert (v.citations[0].quote, v.citations[0].start) == (bare.text, bare.start)


def test_inconsistent_spans_are_never_quoted() -> None:
    broken = make_passage("b", ["Walk daily.", "Run on grass."])
    bad_span = type(broken.sentences[0])("x", broken.start, broken.start + 4, "NOPE", "content")
    broken = type(broken)(**{**broken.__dict__, "sentences": (bad_span, broken.sentences[1])})
    v = verify_citations("Walk daily [1].", [broken])
    assert v.citations[0].quote == "Run on grass."


def test_for_prompt_keeps_content_and_labelled_sponsorship_only() -> None:
    kept = context.for_prompt([TESTIMONIAL, HILLS, PROMO])
    assert kept == [HILLS, PROMO]
    rendered = context.render_context(kept)
    assert "[1] Held-out article (newer edition)" in rendered
    assert "[2] " in rendered and "PAID PROMOTION, not medical advice" in rendered
    assert "Coach Sam" not in rendered


def test_a_citation_to_the_wrong_passage_moves_to_the_passage_that_states_the_sentence() -> None:
    v = verify_citations("Hills and speed come last [2]. Sitting pain matters [2].", [HILLS, SITTING])
    assert v.text == "Hills and speed come last [1]. Sitting pain matters [2]."
    assert [c.source for c in v.citations] == [HILLS.source, SITTING.source]
    assert not any(n.startswith("Citation removed") for n in v.notices)


def test_a_moved_citation_is_judged_by_the_meaning_guard_against_its_new_passage() -> None:
    seen: list[list[str]] = []

    def guard(sentence: str, cited: object) -> str:
        seen.append([p.id for p in cited])  # type: ignore[attr-defined]
        return ""

    verify_citations("Hills and speed come last [2].", [HILLS, SITTING], guard=guard)
    assert seen == [[HILLS.id]]
