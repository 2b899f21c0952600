"""Mark duplicates across files so retrieval can prefer the newest edition.

Two sentences are duplicates when their normalised texts are equal (``dup_key``).
Two chunks are (near-)duplicates when their texts are equal, or when most of the
sentences of one of them reappear in the other (the editions share a long core
but cut it into slightly different chunks). Every member of a group records the
group's representative: the member from the newest edition (highest
``edition_rank``; ties go to the earliest source/position). Pure; it never
drops anything, and duplicates inside one file are left alone.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from ingest.models import Chunk, Sentence, Unit

NEAR_DUP_CONTAINMENT = 0.8


def _rep_key(x: Unit) -> tuple[int, str, int]:
    return (-x.edition_rank, x.source, x.position)


def mark_sentence_duplicates(sentences: Sequence[Sentence]) -> list[Sentence]:
    """Give every sentence its group representative's id (its own id when unique).

    >>> from ingest.models import BlockKind
    >>> from core.text import dup_key
    >>> def s(i, src, rank, text):
    ...     return Sentence(i, src, 0, len(text), text, BlockKind.CONTENT, "", "", "", rank,
    ...                     0, dup_key(text), text)
    >>> out = mark_sentence_duplicates([s("a", "old", 1, "Load it."), s("b", "new", 2, "Load  it.")])
    >>> [x.dup_group for x in out]
    ['b', 'b']
    """
    groups: dict[str, list[Sentence]] = defaultdict(list)
    for sent in sentences:
        groups[sent.dup_key].append(sent)
    rep: dict[str, str] = {}
    for key, members in groups.items():
        if len({m.source for m in members}) > 1:
            rep[key] = min(members, key=_rep_key).id
    return [dataclasses.replace(s, dup_group=rep.get(s.dup_key, s.id)) for s in sentences]


def mark_chunk_duplicates(chunks: Sequence[Chunk], sentences: Sequence[Sentence]) -> list[Chunk]:
    """Group chunks of different files that share their text or most of their sentences."""
    keys_of: dict[str, set[str]] = defaultdict(set)
    for sent in sentences:
        keys_of[sent.chunk_id].add(sent.dup_key)
    parent: dict[str, str] = {c.id: c.id for c in chunks}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    by_key: dict[str, list[Chunk]] = defaultdict(list)
    for c in chunks:
        for k in keys_of.get(c.id, {c.dup_key}):
            by_key[k].append(c)
    for members in by_key.values():
        for a in members:
            for b in members:
                if a.source >= b.source or a.kind != b.kind:
                    continue
                ka, kb = keys_of.get(a.id, {a.dup_key}), keys_of.get(b.id, {b.dup_key})
                shared = len(ka & kb)
                if a.dup_key == b.dup_key or shared >= NEAR_DUP_CONTAINMENT * min(len(ka), len(kb)):
                    parent[find(a.id)] = find(b.id)
    members_of: dict[str, list[Chunk]] = defaultdict(list)
    for c in chunks:
        members_of[find(c.id)].append(c)
    rep = {root: min(ms, key=_rep_key).id for root, ms in members_of.items()}
    return [dataclasses.replace(c, dup_group=rep[find(c.id)]) for c in chunks]
