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
from functools import cache
from importlib import resources

import yaml

from assistant.answering.notes import EditorialNote
from assistant.models import Passage
from core.meaning.check import Statement, analyze, contradiction, proposition
from core.meaning.normalize import normalize, split_sentences, stem, tokenize

_MARKERS = re.compile(r"\[\s*(?:passage\s*)?\d[\d,;\s]*\]", re.IGNORECASE)
_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


@cache
def _older_words() -> tuple[tuple[str, ...], ...]:
    data = yaml.safe_load(
        resources.files("assistant.llm").joinpath("words.yaml").read_text(encoding="utf-8")
    )
    return tuple(tuple(stem(t.text) for t in tokenize(normalize(w))) for w in data["older_edition"])


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


def _has(stems: Sequence[str], phrase: tuple[str, ...]) -> list[int]:
    k = len(phrase)
    return [i for i in range(len(stems) - k + 1) if tuple(stems[i : i + k]) == phrase]


def superseded(sentence: str, notes: Sequence[EditorialNote]) -> str:
    """The note whose topic ``sentence`` affirms as advice (not negated, not attributed), or "".

    >>> from assistant.answering.notes import Anchor
    >>> n = EditorialNote("passive", ("foam rolling",), "The newer edition says ...", Anchor("s", "a"))
    >>> bool(superseded("Foam rolling helps hamstring pain [1].", [n]))
    True
    >>> superseded("Foam rolling will not fix PHT [1].", [n]), superseded("The older article recommended foam rolling.", [n])
    ('', '')
    """
    s = analyze(_MARKERS.sub("", sentence))
    stems = [stem(w) for w in s.words]
    if any(_has(stems, w) for w in _older_words()):
        return ""
    for note in notes:
        for topic in note.topics:
            phrase = tuple(stem(t.text) for t in tokenize(normalize(topic)))
            hits = _has(stems, phrase) if phrase else []
            if any(s.polarity[i] == 1 for i in hits):
                return f"repeats advice the newer edition supersedes ({topic}): {note.note}"
    return ""


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
        return "" if answer else superseded(sentence, self.notes)
