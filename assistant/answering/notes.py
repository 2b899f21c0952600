"""Editorial notes: known disagreements between editions, kept as data in the corpus folder.

``load_notes`` reads ``editorial_notes.yaml``; ``touched`` decides, on word boundaries, which
notes a question or answer touches; ``superseded`` tells whether a sentence gives a note's
superseded advice (read by the LLM's meaning guard and by the extractive answer, which leaves
the older article's such sentences out); ``names_older_article`` whether a question asks what
the older article says. The words they use are package data (``assistant/data/editions.yaml``).
The service turns a touched note into a notice that cites the superseding passage. It does
not decide which edition is right: the clinic staff who write the file do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from assistant.gate_data import load_data
from core.errors import CorpusError
from core.meaning.check import analyze
from core.meaning.normalize import normalize as meaning_form
from core.meaning.normalize import stem, tokenize
from core.text import normalize
from ingest.corpus_config import validate_corpus_config

NOTES_FILE = "editorial_notes.yaml"


@dataclass(frozen=True)
class Anchor:
    source: str
    anchor: str


@dataclass(frozen=True)
class EditorialNote:
    id: str
    topics: tuple[str, ...]
    note: str
    superseded_by: Anchor
    supersedes: Anchor | None = None

    def pattern(self) -> re.Pattern[str]:
        return _topics_pattern(self.topics)


@lru_cache(maxsize=256)
def _topics_pattern(topics: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``topics`` as whole words of normalised text (built once per note)."""
    alts = sorted((re.escape(normalize(t, lower=True)) for t in topics), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alts) + r")\b")


def parse_notes(data: object, origin: str = NOTES_FILE) -> list[EditorialNote]:
    """Validate the YAML structure; a clear CorpusError names what is wrong."""
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("notes", []), list):
        raise CorpusError(f"{origin}: expected a mapping with a 'notes' list.")
    out = []
    for i, item in enumerate(data.get("notes") or []):
        try:
            sup = item.get("supersedes")
            out.append(
                EditorialNote(
                    id=str(item.get("id") or f"note-{i + 1}"),
                    topics=tuple(str(t) for t in item["topics"]),
                    note=str(item["note"]).strip(),
                    superseded_by=Anchor(**item["superseded_by"]),
                    supersedes=Anchor(**sup) if sup else None,
                )
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise CorpusError(
                f"{origin}: note {i + 1} is missing or has a malformed field ({exc}).",
                "Each note needs topics, note and superseded_by {source, anchor}.",
            ) from exc
    return out


def load_notes(corpus_dir: Path) -> list[EditorialNote]:
    """The notes of ``corpus_dir``, validated by the same schema ``pht ingest`` checks
    (``ingest.corpus_config``): a typo names the file, line and field here too."""
    path = corpus_dir / NOTES_FILE
    if not path.exists():
        return []
    notes = validate_corpus_config(corpus_dir).notes.notes or []
    return [
        EditorialNote(
            id=n.id or f"note-{i + 1}",
            topics=tuple(n.topics),
            note=n.note.strip(),
            superseded_by=Anchor(n.superseded_by.source, n.superseded_by.anchor),
            supersedes=Anchor(n.supersedes.source, n.supersedes.anchor) if n.supersedes else None,
        )
        for i, n in enumerate(notes)
    ]


def touched(notes: Sequence[EditorialNote], *texts: str) -> list[EditorialNote]:
    """Notes whose topic terms occur in any of ``texts``.

    >>> n = EditorialNote("x", ("foam roll",), "note", Anchor("s", "a"))
    >>> [t.id for t in touched([n], "Should I foam roll my hamstring?")]
    ['x']
    >>> touched([n], "Should I stretch?")
    []
    """
    hay = " ".join(normalize(t, lower=True) for t in texts)
    return [n for n in notes if n.pattern().search(hay)]


@cache
def _older_words() -> tuple[tuple[str, ...], ...]:
    return _stemmed(tuple(load_data("editions.yaml")["older_edition"]))


def _has(stems: Sequence[str], phrase: tuple[str, ...]) -> list[int]:
    k = len(phrase)
    return [i for i in range(len(stems) - k + 1) if tuple(stems[i : i + k]) == phrase]


@cache
def _older_article() -> re.Pattern[str]:
    return re.compile(str(load_data("editions.yaml")["older_article"]), re.IGNORECASE)


def names_older_article(question: str) -> bool:
    """``question`` names the older article itself ("what did the older article say about foam
    rolling?"); story words do not ("I used to foam roll", "my previous physio").

    >>> [names_older_article(q) for q in ("What did the older article say?", "Does it help?",
    ...  "I used to foam roll every day. Does it help?", "My previous physio did needling.")]
    [True, False, False, False]
    """
    return bool(_older_article().search(normalize(question)))


def superseded(sentence: str, notes: Sequence[EditorialNote]) -> str:
    """The note whose topic ``sentence`` affirms as advice (not negated, not attributed to the
    older edition), or "". The LLM's meaning guard removes such a generated sentence, and an
    extractive answer does not quote the older edition's own such sentences.

    >>> n = EditorialNote("passive", ("foam rolling",), "The newer edition says ...", Anchor("s", "a"))
    >>> bool(superseded("Foam rolling helps hamstring pain.", [n]))
    True
    >>> superseded("Foam rolling will not fix PHT.", [n]), superseded("The older article recommended foam rolling.", [n])
    ('', '')
    """
    return _superseded(sentence, tuple(notes))


@lru_cache(maxsize=4096)
def _superseded(sentence: str, notes: tuple[EditorialNote, ...]) -> str:
    """``superseded``, remembered: an extractive answer asks it of every sentence of the older
    article's retrieved passages, which are the same few sentences question after question."""
    s = analyze(sentence)
    stems = [stem(w) for w in s.words]
    if any(_has(stems, w) for w in _older_words()):
        return ""
    for note in notes:
        for topic, phrase in zip(note.topics, _stemmed(note.topics), strict=True):
            hits = _has(stems, phrase) if phrase else []
            if any(s.polarity[i] == 1 for i in hits):
                return f"repeats advice the newer edition supersedes ({topic}): {note.note}"
    return ""


@lru_cache(maxsize=256)
def _stemmed(topics: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Each phrase (a note's topic, an older-edition word) as the stems ``superseded``
    matches (built once per note)."""
    return tuple(tuple(stem(t.text) for t in tokenize(meaning_form(topic))) for topic in topics)


def edition_conflicts(notes: Sequence[EditorialNote]) -> list[EditorialNote]:
    """The notes where one article supersedes another (not a nuance inside one article)."""
    return [n for n in notes if n.supersedes and n.supersedes.source != n.superseded_by.source]
