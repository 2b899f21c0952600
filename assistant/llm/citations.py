"""The pieces of citation checking: sentences, ``[n]`` markers, word support, unsafe text, quotes.

Pure functions on plain data. The model saw passages numbered ``[1]..[n]``; here an answer
is split into sentences, markers (``[2]``, ``[1, 2]``, ``[1][2]``) are parsed, a sentence is
``supported`` when at least ``support_min`` of its content words occur in the passages it
cites, a sentence that states a diagnosis or a discount offer (``unsafe`` patterns in
``words.yaml``) is never shown, and ``best_quote`` picks the passage sentence
(``QuoteSpan``) sharing most words with a claim (ties: the earliest). Word overlap is a
guard, not proof of entailment; the meaning check is ``meaning.py`` and the sentence-by-
sentence verifier that combines them is ``verify.py``. It does not call the LLM.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

from assistant.models import Citation, Passage, QuoteSpan
from core.text import normalize

# A run of markers: "[1]", "[1, 2]", "[1][3]", "[passage 2]" (with the blanks before it).
_MARKERS = re.compile(
    r"(?P<ws>[ \t\u00a0]*)(?P<run>\[\s*(?:passage\s*)?\d[\d,;\s]*\](?:\s*\[\s*(?:passage\s*)?\d[\d,;\s]*\])*)",
    re.IGNORECASE,
)
# A sentence end: terminal punctuation, closing quotes/brackets, then markers, then a blank.
_END = re.compile(
    r"[.!?]+[\"'\u201d\u2019)]*(?:\s*\[\s*(?:passage\s*)?\d[\d,;\s]*\])*(?=\s|$)", re.IGNORECASE
)
_LIST_PREFIX = re.compile(r"\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")
_WORD = re.compile(r"[a-z0-9]+")
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)$")


@cache
def _data() -> dict[str, object]:
    return dict(yaml.safe_load(
        resources.files("assistant.llm").joinpath("words.yaml").read_text(encoding="utf-8")
    ))


@cache
def _words() -> tuple[frozenset[str], frozenset[str]]:
    data = _data()
    return frozenset(data["stopwords"]), frozenset(data["abbreviations"])  # type: ignore[call-overload]


@cache
def _unsafe() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in _data()["unsafe"])  # type: ignore[attr-defined]


def is_unsafe(sentence: str) -> bool:
    """True for a sentence no answer may carry: a diagnosis or a discount offer.

    >>> is_unsafe("You definitely have a torn hamstring tendon [1].")
    True
    >>> is_unsafe("Use code RUN15 for 15% off [2].")
    True
    >>> is_unsafe("Loading the tendon is the key [1].")
    False
    """
    low = normalize(_MARKERS.sub("", sentence), lower=True)
    return any(p.search(low) for p in _unsafe())


def supported(sentence: str, cited: Sequence[Passage]) -> bool:
    """Enough of the sentence's content words occur in the passages it cites.

    >>> p = Passage("p", "a.txt", 0, 30, "Hills and speed come last.", 1.0, "content", "", "T", "e", 1)
    >>> supported("Add hills and speed last [1].", [p]), supported("Stretch hard daily [1].", [p])
    (True, False)
    """
    return support_share(sentence, cited) >= float(_data()["support_min"])  # type: ignore[arg-type]


def support_share(sentence: str, cited: Sequence[Passage]) -> float:
    """Share of the sentence's content words found in ``cited`` (1.0 when it has none)."""
    words = content_words(_MARKERS.sub("", sentence))
    if not words:
        return 1.0
    have: set[str] = set()
    for p in cited:
        have |= content_words(p.text) | content_words(p.section)
    return len(words & have) / len(words)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences (and list items, lines) of ``text``; markers stay attached.

    >>> t = "Rest first [1]. Then run. [2]\\n- Hills last [3]"
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Rest first [1].', 'Then run. [2]', '- Hills last [3]']
    >>> t = "Use e.g. hills [1]. Pain 5.5/10 is high [2]!"
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Use e.g. hills [1].', 'Pain 5.5/10 is high [2]!']
    """
    _stop, abbreviations = _words()
    spans: list[tuple[int, int]] = []
    line_start = 0
    for line in text.split("\n"):
        prefix = _LIST_PREFIX.match(line)
        seg = 0
        for m in _END.finditer(line, prefix.end() if prefix else 0):
            before = _LAST_WORD.search(line, 0, m.start())
            if m.group().startswith(".") and before and before.group(1).lower() in abbreviations:
                continue
            spans.append((line_start + seg, line_start + m.end()))
            seg = m.end()
        spans.append((line_start + seg, line_start + len(line)))
        line_start += len(line) + 1
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            trimmed.append((s, e))
    return trimmed


def parse_markers(sentence: str) -> list[int]:
    """Passage numbers cited in ``sentence``, in order, without repeats.

    >>> parse_markers("Load it [2, 1] and rest [1][3]. Not 2024 or [x].")
    [2, 1, 3]
    """
    seen: list[int] = []
    for m in _MARKERS.finditer(sentence):
        for number in re.findall(r"\d+", m.group("run")):
            if int(number) not in seen:
                seen.append(int(number))
    return seen


def content_words(text: str) -> set[str]:
    """Lower-cased words minus stopwords, with a plural ``s`` stripped.

    >>> sorted(content_words("The tendons are painful when sitting"))
    ['painful', 'sitting', 'tendon']
    """
    stop, _abbr = _words()
    out = set()
    for w in _WORD.findall(normalize(text, lower=True)):
        if w in stop or len(w) < 2:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


def _quotable(passage: Passage) -> list[QuoteSpan]:
    """Sentences of ``passage`` whose offsets agree with its text (whole passage if none)."""
    spans = [
        s
        for s in passage.sentences
        if passage.start <= s.start < s.end <= passage.end
        and passage.text[s.start - passage.start : s.end - passage.start] == s.text
    ]
    same_kind = [s for s in spans if s.kind == passage.kind]
    if same_kind or spans:
        return same_kind or spans
    return [QuoteSpan(passage.id, passage.start, passage.end, passage.text, passage.kind)]


def best_quote(passage: Passage, claim: str) -> QuoteSpan:
    """The sentence of ``passage`` sharing most content words with ``claim`` (ties: earliest)."""
    claim_words = content_words(claim)
    candidates = _quotable(passage)
    scores = [len(claim_words & content_words(s.text)) for s in candidates]
    return candidates[scores.index(max(scores))]


@dataclass
class Verified:
    """A verified answer: rewritten text, its citations (marker order) and notices."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    cited: list[Passage] = field(default_factory=list)  # cited passages, in marker order


def _is_claim(sentence: str) -> bool:
    bare = _MARKERS.sub("", sentence).strip()
    return bool(re.search(r"\w", bare)) and not bare.endswith(":")


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(_MARKERS.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
