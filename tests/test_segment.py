"""Blocks and sentence spans: exact raw offsets, trimming, and the hard cases of splitting."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ingest.rules
import ingest.segment
from core.text import is_blank
from ingest.models import BlockKind
from ingest.segment import segment_blocks, split_sentences
from tests.conftest import CORPUS


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text, 0, len(text))]


def test_doctests_pass() -> None:
    for module in (ingest.segment, ingest.rules):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_blocks_are_trimmed_lines_with_raw_offsets() -> None:
    raw = "Title\r\n\r\n\u00a0 \u2800\n  Body\u00a0text.\u2800 \r\n\u26a1\ufe0f\n\u200b\n"
    blocks = segment_blocks(raw, "x.txt")
    assert [b.text for b in blocks] == ["Title", "Body\u00a0text.", "\u26a1\ufe0f"]
    for b in blocks:
        assert raw[b.start : b.end] == b.text
        assert b.kind == BlockKind.CONTENT and b.source == "x.txt"


def test_no_blocks_in_blank_text() -> None:
    assert segment_blocks("", "x") == []
    assert segment_blocks("\n \u00a0\n\u2800\r\n", "x") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # abbreviations and initials never end a sentence
        (
            "Dr. Roe and Mrs. Lee agree. See e.g. Nordic curls vs. Bridges.",
            ["Dr. Roe and Mrs. Lee agree.", "See e.g. Nordic curls vs. Bridges."],
        ),
        ("She got her Ph.D. Then she ran.", ["She got her Ph.D. Then she ran."]),
        ("Ask J. Smith. He knows.", ["Ask J. Smith.", "He knows."]),
        ("It is No. 5 on the list. Next one.", ["It is No. 5 on the list.", "Next one."]),
        ("She said no. Rest now.", ["She said no.", "Rest now."]),
        ("Ice, heat, etc. Then load it.", ["Ice, heat, etc.", "Then load it."]),
        # decimals, ratios and ranges
        (
            "Keep pain under 3/10 on a 1-10 scale. Add 2.5 kg weekly.",
            ["Keep pain under 3/10 on a 1-10 scale.", "Add 2.5 kg weekly."],
        ),
        # ellipsis: no split into lowercase or without a space, split before a capital
        (
            "I thought to myself…will it ever go away?",
            ["I thought to myself…will it ever go away?"],
        ),
        ("Be patient... it takes time.", ["Be patient... it takes time."]),
        ("Muscle…The Gluteus Maximus!", ["Muscle…The Gluteus Maximus!"]),
        ("Wait for it… Then run. Go... Now.", ["Wait for it…", "Then run.", "Go...", "Now."]),
        # runs of ! and ?, closing quotes and brackets, odd blanks between sentences;
        # an opening bracket does not start a sentence (it usually glosses the last one)
        (
            "They don’t have to!!! Really?! “Yes.” (Truly.)\u00a0\u2800Next.",
            ["They don’t have to!!!", "Really?!", "“Yes.” (Truly.)", "Next."],
        ),
        ("He said “stop.” Then he ran.", ["He said “stop.”", "Then he ran."]),
        ("Great job! \U0001f525 Keep going.", ["Great job!", "\U0001f525 Keep going."]),
        # bullets, numbered headings and a lone link phrase
        ("🔹 Head looking straight forward", ["🔹 Head looking straight forward"]),
        ("1. Be patient…", ["1. Be patient…"]),
        (
            "4. STRENGTHEN Your Hamstrings! (Especially Eccentrically)",
            ["4. STRENGTHEN Your Hamstrings! (Especially Eccentrically)"],
        ),
        (
            "Stop stretching!  Get my full story here",
            ["Stop stretching!", "Get my full story here"],
        ),
        ("Done in 2 sets. 3 more later.", ["Done in 2 sets.", "3 more later."]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_split_inside_a_larger_raw_text() -> None:
    raw = "xx\n  First one. Second one!  \nyy"
    start = raw.index("First") - 2
    end = raw.index("yy") - 1
    assert [raw[s:e] for s, e in split_sentences(raw, start, end)] == ["First one.", "Second one!"]


def test_corpus_blocks_and_sentences_are_exact() -> None:
    for path in sorted(CORPUS.glob("*.txt")):
        raw = path.read_text(encoding="utf-8")
        blocks = segment_blocks(raw, path.name)
        assert len(blocks) > 50
        for b in blocks:
            spans = split_sentences(raw, b.start, b.end)
            assert spans and spans[0][0] == b.start and spans[-1][1] == b.end
            for s, e in spans:
                assert not is_blank(raw[s]) and not is_blank(raw[e - 1])


# ---- property test --------------------------------------------------------------------------

WORDS = st.sampled_from(
    [
        "pain",
        "Tendon",
        "load",
        "3/10",
        "2.5",
        "Dr.",
        "e.g.",
        "don’t",
        "“sit",
        "bone”",
        "🔹",
        "⚡️",
        "(PHT)",
        "vs.",
        "1-10",
        "Ph.D.",
        "…then",
        "it’s",
        "GLUTE",
        "J.",
        "x",
    ]
)
ENDS = st.sampled_from([".", "!", "?", "!!!", "?!", "…", "...", ".”", "!)", "", "’."])
GAPS = st.sampled_from([" ", "  ", "\u00a0", " \u2800", "\u2800", "\u00a0 ", "\t"])


@st.composite
def sentence_text(draw: st.DrawFn) -> str:
    words = draw(st.lists(WORDS, min_size=1, max_size=6))
    gaps = [draw(GAPS) for _ in words]
    body = "".join(w + g for w, g in zip(words, gaps, strict=True)).rstrip(" \u00a0\u2800\t")
    return body + draw(ENDS)


@st.composite
def document(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", " ", "\u00a0", "\u2800\u2800", " \u200b "])))
            continue
        parts = draw(st.lists(sentence_text(), min_size=1, max_size=4))
        line = "".join(p + draw(GAPS) for p in parts)
        lines.append(draw(GAPS) + line if draw(st.booleans()) else line)
    return "".join(line + draw(st.sampled_from(["\n", "\r\n"])) for line in lines)


@settings(max_examples=250, deadline=None)
@given(document())
def test_blocks_and_sentences_cover_the_text_exactly(raw: str) -> None:
    blocks = segment_blocks(raw, "doc")
    covered: set[int] = set()
    last_end = -1
    for b in blocks:
        assert raw[b.start : b.end] == b.text and b.text
        assert "\n" not in b.text and not is_blank(b.text[0]) and not is_blank(b.text[-1])
        assert b.start > last_end
        last_end = b.end
        covered.update(range(b.start, b.end))
        spans = split_sentences(raw, b.start, b.end)
        prev = b.start
        in_sentences: set[int] = set()
        for s, e in spans:
            assert prev <= s < e <= b.end
            assert not is_blank(raw[s]) and not is_blank(raw[e - 1])
            prev = e
            in_sentences.update(range(s, e))
        for i in range(b.start, b.end):
            assert is_blank(raw[i]) or i in in_sentences
    assert all(is_blank(c) or i in covered for i, c in enumerate(raw))
