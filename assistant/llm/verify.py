"""Verify a generated answer sentence by sentence, so only checked text is ever shown.

``Verifier(passages, unsupported, guard)`` takes the answer one sentence at a time
(``add``) and returns the text to show for it, or ``None`` when it is removed; ``finish``
returns the ``Verified`` answer (text, citations, notices). Per sentence: markers pointing
to no given passage are removed (one notice at the end); a diagnosis or discount offer is
removed; the meaning ``guard`` (``meaning.MeaningGuard``) removes a sentence that states the
opposite of, or another number than, the passages it cites (all passages when it cites
none), or superseded advice; a cited sentence whose words the passages do not support
loses its citation; a sentence left without a valid citation is flagged or dropped
(``unsupported``), unless another given passage supports it: then the citation
moves to that passage (small models often cite the wrong number) and the meaning guard judges
the sentence against it. Kept markers are renumbered 1..k in order of first appearance, so the
streamed text equals the final text. If the first statement is contradicted, or at least
half of the statements are, the answer has lost its point and ``LLMError`` is raised so
the caller falls back to the extractive answer. ``verify_citations`` runs it over a whole
answer. Pure: it does not call the LLM.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

from assistant.llm.citations import (
    _MARKERS,
    Verified,
    _is_claim,
    _short,
    best_quote,
    is_unsafe,
    parse_markers,
    split_sentences,
    support_share,
    supported,
)
from assistant.llm.meaning import bare_answer
from assistant.models import Citation, Passage
from core.errors import LLMError

Guard = Callable[[str, Sequence[Passage]], str]


class Verifier:
    """Sentence-by-sentence verification of one generated answer; see the module docstring."""

    def __init__(
        self,
        passages: Sequence[Passage],
        unsupported: Literal["flag", "drop"] = "flag",
        guard: Guard | None = None,
    ):
        self.passages = list(passages)
        self.unsupported = unsupported
        self.guard = guard
        self.notices: list[str] = []
        self.invalid: list[int] = []
        self.unsafe = 0
        self.dropped = 0
        self.contradicted: list[tuple[str, str]] = []  # (sentence, why)
        self.claims = 0  # statements kept
        self.order: list[int] = []  # old passage numbers in order of first appearance
        self.kept: list[tuple[str, list[int]]] = []  # (sentence as shown, old numbers)
        self.pieces: list[str] = []

    def add(self, sentence: str, sep: str = " ") -> str | None:
        """The text to show for ``sentence`` (``sep`` before it unless first), or ``None``."""
        n = len(self.passages)
        numbers = parse_markers(sentence)
        valid = [k for k in numbers if 1 <= k <= n]
        self.invalid += [k for k in numbers if not 1 <= k <= n and k not in self.invalid]
        if is_unsafe(sentence):
            self.unsafe += 1
            return None
        claim = _is_claim(sentence)
        if valid and not supported(sentence, [self.passages[k - 1] for k in valid]):
            better = self._supporting(sentence)
            if better:  # the model cited the wrong passage: cite the one that states it
                valid = [better]
                sentence = _with_only_marker(sentence, better)
        if claim and self.guard is not None:
            why = self.guard(sentence, [self.passages[k - 1] for k in valid] or self.passages)
            if why:
                self.contradicted.append((sentence, why))
                if not self.claims:
                    raise LLMError(
                        "The generated answer's main statement contradicts the passages it "
                        f"cites (\u201c{_short(sentence)}\u201d {why})."
                    )
                return None
        if valid and not supported(sentence, [self.passages[k - 1] for k in valid]):
            self.notices.append(
                f"Citation removed: the passage cited does not support \u201c{_short(sentence)}\u201d"
            )
            valid = []
            sentence = _MARKERS.sub("", sentence)
        exempt = self.guard is not None and bool(bare_answer(sentence))
        if not valid and claim and not exempt:
            if self.unsupported == "drop":
                self.dropped += 1
                return None
            self.notices.append(
                f"Not verified: this sentence cites no passage it was given: \u201c{_short(sentence)}\u201d"
            )
        self.claims += int(claim)
        self.order += [k for k in valid if k not in self.order]
        new_number = {old: i for i, old in enumerate(self.order, start=1)}

        def renumber(m: re.Match[str]) -> str:
            olds = [int(x) for x in re.findall(r"\d+", m.group("run"))]
            news = sorted({new_number[k] for k in olds if k in new_number})
            return (m.group("ws") or " ") + "".join(f"[{k}]" for k in news) if news else ""

        shown = re.sub(r"[ \t]+([.,;:!?])", r"\1", _MARKERS.sub(renumber, sentence))
        piece = (sep if self.pieces else "") + shown
        self.kept.append((shown, valid))
        self.pieces.append(piece)
        return piece

    def _supporting(self, sentence: str) -> int:
        """The given passage that best supports ``sentence`` on its own (1-based), or 0."""
        shares = [(support_share(sentence, [p]), k) for k, p in enumerate(self.passages, 1)]
        share, best = max(shares, key=lambda t: (t[0], -t[1]), default=(0.0, 0))
        return best if share and supported(sentence, [self.passages[best - 1]]) else 0

    def finish(self) -> Verified:
        """The verified answer; raises ``LLMError`` when nothing verifiable is left."""
        notices = list(self.notices)
        if self.invalid:
            listed = ", ".join(f"[{k}]" for k in self.invalid)
            plural = "s" if len(self.invalid) > 1 else ""
            verb = "they" if plural else "it"
            notices.insert(
                0,
                f"Removed the citation marker{plural} {listed}: {verb} pointed to no passage "
                "given to the model.",
            )
        if self.contradicted:
            if len(self.contradicted) >= self.claims:
                raise LLMError(
                    f"{len(self.contradicted)} of {len(self.contradicted) + self.claims} statements "
                    "of the generated answer contradicted the passages they cite "
                    f"(\u201c{_short(self.contradicted[0][0])}\u201d {self.contradicted[0][1]})."
                )
            count = len(self.contradicted)
            notices.append(
                f"Removed {count} sentence{'s' if count > 1 else ''} of the generated answer that "
                "contradicted the passages they cite or repeated superseded advice: "
                + "; ".join(f"\u201c{_short(s)}\u201d" for s, _why in self.contradicted)
            )
        if self.unsafe:
            notices.append(
                f"Removed {self.unsafe} sentence{'s' if self.unsafe > 1 else ''} of the generated "
                "answer that stated a diagnosis or a product offer; the articles give neither."
            )
        if self.dropped:
            notices.append(
                f"Removed {self.dropped} sentence{'s' if self.dropped > 1 else ''} of the generated "
                "answer that cited no passage it was given."
            )
        if not self.order:
            raise LLMError(
                "The generated answer could not be verified: it cites none of the passages it was given."
            )
        citations = []
        for new, old in enumerate(self.order, start=1):
            passage = self.passages[old - 1]
            claim = " ".join(shown for shown, valid in self.kept if old in valid)
            quote = best_quote(passage, claim)
            citations.append(
                Citation(
                    marker=new,
                    source=passage.source,
                    title=passage.title,
                    edition=passage.edition,
                    quote=quote.text,
                    start=quote.start,
                    end=quote.end,
                    kind="sponsorship" if passage.kind == "sponsorship" else "content",
                    section=passage.section,
                )
            )
        text = "".join(self.pieces).strip()
        return Verified(text, citations, notices, [self.passages[k - 1] for k in self.order])


def _with_only_marker(sentence: str, k: int) -> str:
    """``sentence`` with its markers replaced by one ``[k]`` where the first one stood.

    >>> _with_only_marker("Hills last [2][3].", 1)
    'Hills last [1].'
    """
    first = _MARKERS.search(sentence)
    if not first:
        return sentence
    return sentence[: first.start()] + f" [{k}]" + _MARKERS.sub("", sentence[first.start() :])


def verify_citations(
    answer: str,
    passages: Sequence[Passage],
    unsupported: Literal["flag", "drop"] = "flag",
    guard: Guard | None = None,
) -> Verified:
    """Check and renumber the markers of a whole ``answer``; ``passages[i]`` is marker ``[i+1]``.

    >>> p = Passage("p1", "a.txt", 0, 22, "Hills come last. Rest.", 1.0, "content", "", "T", "old", 1)
    >>> v = verify_citations("Do hills last [2]. Rest [9].", [p, p])
    >>> v.text, [(c.marker, c.quote) for c in v.citations]
    ('Do hills last [1]. Rest.', [(1, 'Hills come last. Rest.')])
    >>> v.notices[0]
    'Removed the citation marker [9]: it pointed to no passage given to the model.'
    """
    verifier = Verifier(passages, unsupported, guard)
    prev_end = 0
    for s, e in split_sentences(answer):
        verifier.add(answer[s:e], answer[prev_end:s])
        prev_end = e
    return verifier.finish()
