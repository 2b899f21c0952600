"""Split classified blocks into sentences and chunks, bounded in the embedding model's tokens.

Pure: takes a document, its classified blocks, a token counter and a limit.
A chunk is a contiguous run of sentences of one kind within one section
(a heading starts a section), packed up to ``target_tokens`` and never past
``max_tokens`` *including* the title/heading prefix the model sees. A sentence
too long for the model is cut at word boundaries, never truncated silently.
Headings and captions are kept as section labels only: they become no chunk.
Promotional sentences inside a clinical paragraph break the chunk and get their
own kind, so a content chunk never carries a sales line. It does not embed,
deduplicate across files, or decide kinds (``ingest.classify`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.text import content_hash, dup_key, normalize, trim_span
from ingest.models import Block, BlockKind, Chunk, Sentence, SourceDoc

PIPELINE_VERSION = "2026.12.3"  # .3: block model retrained (21 pages, near context, CV threshold); .2: the learned block classifier at ingest; .1: content and other kinds in separate collections, build tables
NOT_CHUNKED = frozenset({BlockKind.HEADING, BlockKind.CAPTION})

SplitSentences = Callable[[str, int, int], list[tuple[int, int]]]
SentenceKind = Callable[[str], BlockKind]


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    kind: BlockKind
    section: str
    block: int
    heading: tuple[int, int] = (-1, -1)  # span of the section's heading line, if it has one


def sentence_embed_text(section: str, text: str) -> str:
    """What the model sees for a sentence: its section heading, then the sentence.

    >>> sentence_embed_text("Be patient", "It could take\\u00a0up to a year.")
    'Be patient: It could take up to a year.'
    """
    return f"{normalize(section)}: {normalize(text)}" if section else normalize(text)


def chunk_embed_text(title: str, section: str, text: str) -> str:
    """What the model sees for a chunk: article title, section heading, text."""
    head = f"{normalize(title)} | {normalize(section)}" if section else normalize(title)
    return f"{head}\n{normalize(text)}"


def cut_to_fit(
    raw: str, start: int, end: int, fits: Callable[[int, int], bool]
) -> list[tuple[int, int]]:
    """Cut ``raw[start:end]`` at spaces into the fewest greedy pieces for which ``fits`` holds.

    >>> raw = "one two three four five"
    >>> [raw[s:e] for s, e in cut_to_fit(raw, 0, len(raw), lambda s, e: e - s <= 9)]
    ['one two', 'three', 'four five']
    """
    if fits(start, end):
        return [(start, end)]
    words: list[tuple[int, int]] = []
    i = start
    while i < end:
        while i < end and raw[i].isspace():
            i += 1
        j = i
        while j < end and not raw[j].isspace():
            j += 1
        if j > i:
            words.append((i, j))
        i = j
    pieces: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for ws, we in words:
        if cur is None:
            cur = (ws, we)
        elif fits(cur[0], we):
            cur = (cur[0], we)
        else:
            pieces.append(cur)
            cur = (ws, we)
    if cur is not None:
        pieces.append(cur)
    return [part for piece in pieces for part in _halve_until_fits(piece, fits)]


def _halve_until_fits(
    span: tuple[int, int], fits: Callable[[int, int], bool]
) -> list[tuple[int, int]]:
    """A single over-long word (a pasted URL, a base64 blob) is cut in halves until it fits."""
    s, e = span
    if fits(s, e) or e - s <= 1:
        return [span]
    mid = (s + e) // 2
    return _halve_until_fits((s, mid), fits) + _halve_until_fits((mid, e), fits)


def split_document(
    doc: SourceDoc,
    blocks: Sequence[Block],
    *,
    split_sentences: SplitSentences,
    sentence_kind: SentenceKind,
    count_tokens: Callable[[str], int],
    max_tokens: int,
    target_tokens: int = 160,
) -> tuple[list[Chunk], list[Sentence]]:
    """Turn one document's classified blocks into chunks and sentences with exact offsets."""
    raw = doc.raw
    counted: dict[tuple[str, int, int], int] = {}

    def span_tokens(section: str, s: int, e: int) -> int:
        """Tokens of the chunk form of ``raw[s:e]``, each span counted once: packing asks
        for the same spans again (a group, then the group plus one; the flushed chunk)."""
        key = (section, s, e)
        if key not in counted:
            counted[key] = count_tokens(chunk_embed_text(doc.title, section, raw[s:e]))
        return counted[key]

    def fits(section: str) -> Callable[[int, int], bool]:
        # The chunk form (title + heading + text) is the longest thing the model sees.
        return lambda s, e: span_tokens(section, s, e) <= max_tokens

    units: list[_Unit] = []
    heading = (-1, -1)
    for bi, block in enumerate(blocks):
        if block.kind == BlockKind.HEADING:
            heading = (block.start, block.end)
        if block.kind in NOT_CHUNKED:
            continue
        own = heading if raw[heading[0] : heading[1]] == block.section and heading[0] >= 0 else (-1, -1)
        for s, e in split_sentences(raw, block.start, block.end):
            s, e = trim_span(raw, s, e)
            if s >= e:
                continue
            kind = block.kind
            if kind == BlockKind.CONTENT:
                kind = sentence_kind(raw[s:e])
            for ps, pe in cut_to_fit(raw, s, e, fits(block.section)):
                units.append(_Unit(ps, pe, kind, block.section, bi, own))

    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    group: list[_Unit] = []

    def chunk_tokens(us: Sequence[_Unit]) -> int:
        return span_tokens(us[0].section, us[0].start, us[-1].end)

    def flush() -> None:
        if not group:
            return
        u0, un = group[0], group[-1]
        text = raw[u0.start : un.end]
        embed = chunk_embed_text(doc.title, u0.section, text)
        cid = "c" + content_hash(doc.source, u0.start, un.end, u0.kind, u0.section, doc.title,
                                 doc.edition, doc.edition_rank, PIPELINE_VERSION)
        sids = []
        for u in group:
            stext = raw[u.start : u.end]
            sid = "s" + content_hash(doc.source, u.start, u.end, u.kind, u.section, cid)
            sids.append(sid)
            sentences.append(
                Sentence(
                    id=sid, source=doc.source, start=u.start, end=u.end, text=stext, kind=u.kind,
                    section=u.section, title=doc.title, edition=doc.edition,
                    edition_rank=doc.edition_rank, chunk_id=cid, position=len(sentences),
                    dup_key=dup_key(stext), embed_text=sentence_embed_text(u.section, stext),
                )
            )
        chunks.append(
            Chunk(
                id=cid, source=doc.source, start=u0.start, end=un.end, text=text, kind=u0.kind,
                section=u0.section, title=doc.title, edition=doc.edition,
                edition_rank=doc.edition_rank, position=len(chunks), dup_key=dup_key(text),
                embed_text=embed, n_tokens=span_tokens(u0.section, u0.start, un.end), sentence_ids=tuple(sids),
                heading_start=u0.heading[0], heading_end=u0.heading[1],
            )
        )
        group.clear()

    for unit in units:
        if group:
            prev = group[-1]
            combined = chunk_tokens([*group, unit])
            new_paragraph = unit.block != prev.block
            if (
                prev.kind != unit.kind
                or prev.section != unit.section
                or combined > max_tokens
                or (new_paragraph and (chunk_tokens(group) >= target_tokens // 2 or combined > target_tokens))
            ):
                flush()
        group.append(unit)
    flush()
    return chunks, sentences
