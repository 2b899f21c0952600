"""Turn the lines of one page into a feature matrix for the learned block classifier.

A row per block: what the rule layer (``ingest.rule_kinds``) decided and saw (final kind,
the line's own kind, its shape, bullets, name lines, first person, pattern scores per
kind, the clinical topic score), a few measured shapes of the text (length, end
punctuation, digits, dosage-like numbers, capitalised words, position on the page), the
rule kinds of the neighbours, and the embedding model's vector of the line and the mean
vectors of the two lines before and the two after it. Pure: the caller embeds the lines
(``page_texts`` says which texts) and passes the vectors in. It does not learn or decide
anything (``ingest.block_model`` does).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from ingest.models import Block, BlockKind
from ingest.rule_kinds import LineInfo, rule_blocks, rule_scores

KINDS = tuple(BlockKind)
SHAPES = ("empty", "signoff", "heading", "caption", "short", "para")
ENDINGS = (":", "?", "!", ".")
CONTEXT = (2,)  # lines each side whose vectors are averaged (a wider 6-line mean generalised worse)
_DOSAGE = re.compile(r"\d\s*(x|×|sets?\b|reps?\b|s\b|sec|seconds?\b|min|minutes?\b|%)", re.I)
_SEPARATORS = re.compile(r"[|·•›»©]")
_HANDLE = re.compile(r"@\w|#\w|https?://|www\.|\.com\b", re.I)


def _one_hot(value: object, values: Sequence[object]) -> list[float]:
    return [1.0 if value == v else 0.0 for v in values]


def page_texts(blocks: Sequence[Block]) -> list[str]:
    """The texts to embed for a page, one per block: the line as written."""
    return [b.text for b in blocks]


def _shape_row(i: int, n: int, block: Block, info: LineInfo, author: str) -> list[float]:
    body = info.body
    words = body.split()
    scores, _ = rule_scores(body, author=author)
    caps = sum(w[:1].isupper() for w in words) / max(len(words), 1)
    ending = body.rstrip("”’\"')")[-1:] if body else ""
    return [
        *_one_hot(info.kind, KINDS),
        *_one_hot(info.shape, SHAPES),
        float(info.bullet),
        float(info.name == "strong"),
        float(info.name == "weak"),
        float(info.first_person),
        min(info.clinical, 6.0) / 6.0,
        *(math.tanh(scores.get(k, 0.0) / 3.0) for k in KINDS),
        math.log1p(len(words)) / 4.0,
        *_one_hot(ending, ENDINGS),
        float(any(c.isdigit() for c in body)),
        float(bool(_DOSAGE.search(body))),
        caps,
        min(len(_SEPARATORS.findall(body)), 4) / 4.0,
        float(bool(_HANDLE.search(body))),
        float(any(q in body for q in "“”\"")),
        i / max(n - 1, 1),
        float(i == 0),
        float(i >= n - 3),
    ]


def _context_mean(vectors: np.ndarray, lo: int, hi: int) -> np.ndarray:
    if hi <= lo:
        return np.zeros(vectors.shape[1], dtype=np.float32)
    return vectors[lo:hi].mean(axis=0)


def page_features(
    blocks: Sequence[Block], vectors: np.ndarray, *, author: str = ""
) -> tuple[np.ndarray, list[Block]]:
    """The feature matrix of a page (one row per block) and the rule layer's blocks.

    ``vectors`` holds the embedding of ``page_texts(blocks)``, row for row.

    >>> from ingest.segment import segment_blocks
    >>> blocks = segment_blocks("Why It Hurts\\nTendons dislike sudden load.", "x")
    >>> x, ruled = page_features(blocks, np.eye(2, 3, dtype=np.float32))
    >>> x.shape[0], [b.kind.value for b in ruled]
    (2, ['heading', 'content'])
    """
    if len(vectors) != len(blocks):
        raise ValueError(f"{len(vectors)} vectors for {len(blocks)} blocks")
    ruled, infos = rule_blocks(blocks, author=author)
    n = len(blocks)
    if n == 0:
        return np.zeros((0, feature_count(vectors.shape[1])), dtype=np.float32), ruled
    rows = []
    for i, (block, info) in enumerate(zip(ruled, infos, strict=True)):
        prev = ruled[i - 1].kind if i > 0 else None
        nxt = ruled[i + 1].kind if i + 1 < n else None
        rows.append(
            [
                *_one_hot(block.kind, KINDS),
                *_shape_row(i, n, block, info, author),
                *_one_hot(prev, KINDS),
                *_one_hot(nxt, KINDS),
            ]
        )
    shape = np.asarray(rows, dtype=np.float32)
    vec = np.asarray(vectors, dtype=np.float32)
    around = [
        np.stack([_context_mean(vec, max(0, i - c), i) for i in range(n)]) for c in CONTEXT
    ] + [np.stack([_context_mean(vec, i + 1, min(n, i + 1 + c)) for i in range(n)]) for c in CONTEXT]
    return np.hstack([shape, vec, *around]).astype(np.float32), ruled


def feature_count(dimension: int) -> int:
    """Columns of ``page_features`` for an embedding of ``dimension``."""
    shape_cols = len(KINDS) * 5 + len(SHAPES) + 5 + 1 + len(ENDINGS) + 9
    return shape_cols + (1 + 2 * len(CONTEXT)) * dimension
