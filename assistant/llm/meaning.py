"""The run-time meaning guard: may this generated sentence be shown next to the passages it cites?

``MeaningGuard(question, notes)`` is called once per generated sentence with the passages the
sentence cites (all given passages when it cites none) and returns why the sentence must be
removed, or ``""``:

- it states the opposite of, or a number different from, a sentence of those passages
  (``core.meaning.check``: negation-aware concepts, numbers with units and comparators);
- a bare "Yes." / "No." is judged as the question's proposition, affirmed or negated
  ("Is 5/10 pain ok?" + "Yes." = "5/10 pain is ok");
- it repeats, as advice, a topic of an editorial note (``corpus/editorial_notes.yaml``, parsed
  by ``assistant.answering.notes``): affirmed, not negated, and not attributed to the older
  edition ("foam rolling helps" is removed; "the older article recommended foam rolling" and
  "foam rolling will not fix PHT" are not).

It does not check citations or word support (``citations.py``) and never calls the LLM.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answering.notes import EditorialNote, superseded
from assistant.models import Passage
from core.meaning.check import Statement, analyze, contradiction, proposition
from core.meaning.normalize import split_sentences

_MARKERS = re.compile(r"\[\s*(?:passage\s*)?\d[\d,;\s]*\]", re.IGNORECASE)
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


def bare_answer(sentence: str) -> str:
    """``"yes"`` / ``"no"`` when the sentence is only that (markers and punctuation aside).

    >>> bare_answer("Yes. [1]"), bare_answer("No!"), bare_answer("Yes, but load it first.")
    ('yes', 'no', '')
    """
    text = _MARKERS.sub("", sentence)
    m = _YES_NO.match(text)
    if not m or re.search(r"\w", text[m.end() :]):
        return ""
    return m.group(1).lower()


class MeaningGuard:
    """Judges generated sentences against the sentences of the passages they cite."""

    def __init__(self, question: str, notes: Sequence[EditorialNote] = ()):
        self.question = question
        self.notes = list(notes)
        self._sources: dict[str, list[Statement]] = {}

    def sources(self, passage: Passage) -> list[Statement]:
        """The passage's sentences, analysed once."""
        if passage.id not in self._sources:
            texts = [q.text for q in passage.sentences] or split_sentences(passage.text)
            self._sources[passage.id] = [analyze(t) for t in texts]
        return self._sources[passage.id]

    def __call__(self, sentence: str, cited: Sequence[Passage]) -> str:
        """Why ``sentence`` may not be shown with ``cited``, or ``""``."""
        answer = bare_answer(sentence)
        statement = (
            proposition(self.question, answer) if answer else analyze(_MARKERS.sub("", sentence))
        )
        sources = [s for p in cited for s in self.sources(p)]
        why = contradiction(statement, sources)
        if why:
            return why
        if answer == "yes":
            return superseded(self.question.strip().rstrip("?") + ".", self.notes)
        return "" if answer else superseded(_MARKERS.sub("", sentence), self.notes)
