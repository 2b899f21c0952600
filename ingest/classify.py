"""Decide what each block of a blog page is: clinical content, heading, caption, ad, pitch...

Two layers. The rules (``ingest.rule_kinds``: weighted patterns, shapes, sticky
sections) always run. When the caller passes the embedder that ingest already has and
the shipped weights were trained on that embedding model, a learned model
(``ingest.block_model``, a softmax regression over the embedding of each line and its
neighbours plus the rules' own decisions and shapes) makes the final call, so the
decision holds on pages the rules were not written for. Without an embedder, or with
another one (the fake embedder of the tests), the rules decide alone. Promotional
sentences inside a clinical paragraph are still split off one by one by
``sentence_kind`` (rules). It does not segment pages (``ingest.segment``) or train the
model (``benchmarks/classify.py --train``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ingest.block_features import page_features, page_texts
from ingest.block_model import BlockModel, load_model
from ingest.models import Block
from ingest.rule_kinds import author_names, kind_counts, rule_blocks, sentence_kind

__all__ = ["author_names", "classify_blocks", "kind_counts", "learned_model", "sentence_kind"]


class LineEmbedder(Protocol):
    """What the learned layer needs from ``ingest.embed.Embedder``."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def learned_model(embedder: LineEmbedder | None) -> BlockModel | None:
    """The shipped model when it was trained on this embedder's vectors, else None."""
    model = load_model() if embedder is not None else None
    if model is None or embedder is None or not model.fits(embedder.name, embedder.dimension):
        return None
    return model


def classify_blocks(
    blocks: Sequence[Block], *, author: str = "", embedder: LineEmbedder | None = None
) -> list[Block]:
    """New blocks with ``kind``, ``section`` and ``reason`` set, in the same order.

    >>> from ingest.segment import segment_blocks
    >>> raw = "Why Tendons Hurt\\nTendons dislike sudden load.\\nUse code RUN20 for 20% off!"
    >>> [(b.kind.value, b.section) for b in classify_blocks(segment_blocks(raw, "x"))]
    [('heading', 'Why Tendons Hurt'), ('content', 'Why Tendons Hurt'), ('sponsorship', 'Why Tendons Hurt')]
    """
    model = learned_model(embedder)
    if model is None or embedder is None or not blocks:
        return rule_blocks(blocks, author=author)[0]
    vectors = embedder.embed(page_texts(blocks))
    x, ruled = page_features(blocks, vectors, author=author)
    return model.decide(x, ruled)
