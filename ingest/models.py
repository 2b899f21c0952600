"""Typed values that flow through ingestion: SourceDoc -> Block -> Sentence / Chunk.

Every span-carrying value records ``(source, start, end)`` into the *raw* text of
its corpus file, so ``raw[start:end] == text`` always holds. Normalised text is
kept alongside for matching only. These are plain frozen dataclasses: no IO, no
behaviour beyond small derived properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class BlockKind(StrEnum):
    """What a block of a blog page is. Only CONTENT may reach answers as advice."""

    CONTENT = "content"
    HEADING = "heading"
    CAPTION = "caption"
    SPONSORSHIP = "sponsorship"
    CALL_TO_ACTION = "call_to_action"
    TESTIMONIAL = "testimonial"
    BIOGRAPHY = "biography"
    RELATED_POST = "related_post"
    MEDIA_NAVIGATION = "media_navigation"

    @property
    def is_promotional(self) -> bool:
        return self in PROMOTIONAL_KINDS


PROMOTIONAL_KINDS = frozenset(
    {
        BlockKind.SPONSORSHIP,
        BlockKind.CALL_TO_ACTION,
        BlockKind.TESTIMONIAL,
        BlockKind.BIOGRAPHY,
        BlockKind.RELATED_POST,
    }
)


@dataclass(frozen=True)
class SourceDoc:
    """One corpus file, its raw text and its metadata."""

    source: str  # path shown to users, e.g. "corpus/understanding-pht-with-running.txt"
    title: str
    author: str
    edition: str  # human label, e.g. "newer (20+ years)"
    edition_rank: int  # higher = newer; retrieval prefers the highest among duplicates
    raw: str
    url: str = ""


@dataclass(frozen=True)
class Block:
    """A non-empty line of a page (paragraph, heading, caption, list item)."""

    source: str
    start: int
    end: int
    text: str
    kind: BlockKind = BlockKind.CONTENT
    section: str = ""  # nearest heading above (text), "" before the first heading
    reason: str = ""  # which rule decided the kind, for audits


@dataclass(frozen=True)
class Unit:
    """What sentences and chunks share: an exact span of a file, its kind and its context."""

    id: str
    source: str
    start: int
    end: int
    text: str
    kind: BlockKind
    section: str
    title: str
    edition: str
    edition_rank: int
    position: int  # order within its file (among units of the same type)
    dup_key: str  # hash of the normalised text; equal keys = duplicates across files
    embed_text: str  # what the embedding model sees
    dup_group: str = ""  # id of the newest-edition member of its duplicate group, else own id


@dataclass(frozen=True)
class Sentence(Unit):
    """A sentence of a block: the unit the extractive answerer quotes."""

    chunk_id: str = ""


@dataclass(frozen=True)
class Chunk(Unit):
    """A contiguous run of same-kind sentences within one section, bounded in model tokens."""

    n_tokens: int = 0
    sentence_ids: tuple[str, ...] = ()
    heading_start: int = -1  # the section heading's span in the raw file (-1: none), so
    heading_end: int = -1  # that an answer can quote the heading it leans on


@dataclass
class IngestSummary:
    """What one ingest run did; ``pht ingest --json`` prints it."""

    files: int = 0
    chunks: int = 0
    sentences: int = 0
    embedded: int = 0
    skipped: int = 0
    deleted: int = 0
    seconds: float = 0.0
    blocks: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    collection: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "chunks": self.chunks,
            "sentences": self.sentences,
            "embedded": self.embedded,
            "skipped": self.skipped,
            "deleted": self.deleted,
            "seconds": round(self.seconds, 3),
            "blocks": dict(sorted(self.blocks.items())),
            "dropped": dict(sorted(self.dropped.items())),
            "warnings": list(self.warnings),
            "collection": self.collection,
        }
