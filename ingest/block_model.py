"""The learned layer of block classification: a softmax regression over block features.

``fit`` trains a multinomial logistic regression (numpy only, full-batch Adam for a fixed
number of steps from zero weights, so the same data always gives the same weights) on the
rows of ``ingest.block_features``; ``BlockModel.decide`` turns a page's rows into kinds:
CONTENT only when its probability reaches ``content_threshold`` (chosen by cross-validation
when training, stored with the weights), else the likeliest other kind (``choose``). Sections are re-derived from the decided headings. The weights ship as package data
(``ingest/rules/block_model.npz``) with the name and dimension of the embedding model they
were trained with; ``load_model`` reads them. Training data, cross-validation and the
figures live in ``benchmarks/classify.py``. It does not embed text or read pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from ingest.block_features import KINDS
from ingest.models import Block, BlockKind

MODEL_FILE = "block_model.npz"
_CONTENT = KINDS.index(BlockKind.CONTENT)


@dataclass(frozen=True)
class BlockModel:
    embedder: str  # name of the embedding model whose vectors the weights expect
    dimension: int
    mean: np.ndarray  # feature standardisation, from the training rows
    scale: np.ndarray
    weights: np.ndarray  # (features, kinds)
    bias: np.ndarray  # (kinds,)
    content_threshold: float = 0.5

    def fits(self, name: str, dimension: int) -> bool:
        """True when vectors of the embedder ``name`` / ``dimension`` are what it was trained on."""
        return name == self.embedder and dimension == self.dimension

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Probability of every kind (columns in ``BlockKind`` order) for each row."""
        return _softmax(((x - self.mean) / self.scale) @ self.weights + self.bias)

    def decide(self, x: np.ndarray, ruled: Sequence[Block]) -> list[Block]:
        """The rule layer's blocks with the model's kinds, reasons and sections."""
        p = self.proba(x)
        out: list[Block] = []
        section = ""
        for row, block, idx in zip(p, ruled, choose(p, self.content_threshold), strict=True):
            kind = KINDS[idx]
            if kind == BlockKind.HEADING or (kind != BlockKind.CONTENT and block.section == block.text):
                section = block.text
            reason = f"model {kind.value} p={row[idx]:.2f} (rules: {block.kind.value}, {block.reason})"
            out.append(replace(block, kind=kind, section=section, reason=reason))
        return out

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path, embedder=np.array(self.embedder), dimension=np.array(self.dimension),
            mean=self.mean.astype(np.float32), scale=self.scale.astype(np.float32),
            weights=self.weights.astype(np.float32), bias=self.bias.astype(np.float32),
            content_threshold=np.array(self.content_threshold),
        )


def read_model(path: Path | str) -> BlockModel:
    with np.load(path, allow_pickle=False) as z:
        return BlockModel(
            embedder=str(z["embedder"]), dimension=int(z["dimension"]), mean=z["mean"],
            scale=z["scale"], weights=z["weights"], bias=z["bias"],
            content_threshold=float(z["content_threshold"]),
        )


@lru_cache(maxsize=1)
def load_model() -> BlockModel | None:
    """The shipped weights, or None when the package has none (rules only)."""
    ref = resources.files("ingest.rules").joinpath(MODEL_FILE)
    if not ref.is_file():
        return None
    with resources.as_file(ref) as path:
        return read_model(path)


def choose(p: np.ndarray, content_threshold: float) -> list[int]:
    """Kind index per row of probabilities: CONTENT when its probability reaches the
    threshold, else the likeliest other kind.

    >>> p = np.array([[0.45, 0.5, 0.05, 0, 0, 0, 0, 0, 0]])  # content, heading, caption, ...
    >>> choose(p, 0.4), choose(p, 0.5)
    ([0], [1])
    """
    others = p.copy()
    others[:, _CONTENT] = -1.0
    best = others.argmax(axis=1)
    return [_CONTENT if row[_CONTENT] >= content_threshold else int(b) for row, b in zip(p, best, strict=True)]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit(
    x: np.ndarray, y: Sequence[BlockKind], *, embedder: str, dimension: int,
    sample_weight: np.ndarray | None = None, l2: float = 1e-2, steps: int = 400,
    lr: float = 0.05, content_threshold: float = 0.5,
) -> BlockModel:
    """Softmax regression of ``y`` on ``x`` with an L2 penalty; deterministic.

    >>> x = np.array([[0.0], [0.1], [1.0], [1.1]], dtype=np.float32)
    >>> y = [BlockKind.CONTENT, BlockKind.CONTENT, BlockKind.CAPTION, BlockKind.CAPTION]
    >>> m = fit(x, y, embedder="t", dimension=0)
    >>> [b.value for b in (KINDS[i] for i in m.proba(x).argmax(axis=1))]
    ['content', 'content', 'caption', 'caption']
    """
    n, f = x.shape
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale < 1e-6, 1.0, scale)
    xs = ((x - mean) / scale).astype(np.float32)
    target = np.zeros((n, len(KINDS)), dtype=np.float32)
    target[np.arange(n), [KINDS.index(k) for k in y]] = 1.0
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    sw = (sw / sw.sum()).astype(np.float32)
    w = np.zeros((f, len(KINDS)), dtype=np.float32)
    b = np.zeros(len(KINDS), dtype=np.float32)
    m_w, v_w, m_b, v_b = (np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b))
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        p = _softmax(xs @ w + b)
        g = (p - target) * sw[:, None]
        grad_w = xs.T @ g + l2 * w
        grad_b = g.sum(axis=0)
        m_w = beta1 * m_w + (1 - beta1) * grad_w
        v_w = beta2 * v_w + (1 - beta2) * grad_w**2
        m_b = beta1 * m_b + (1 - beta1) * grad_b
        v_b = beta2 * v_b + (1 - beta2) * grad_b**2
        c1, c2 = 1 - beta1**t, 1 - beta2**t
        w -= lr * (m_w / c1) / (np.sqrt(v_w / c2) + eps)
        b -= lr * (m_b / c1) / (np.sqrt(v_b / c2) + eps)
    return BlockModel(
        embedder=embedder, dimension=dimension, mean=mean.astype(np.float32),
        scale=scale.astype(np.float32), weights=w.astype(np.float32), bias=b.astype(np.float32),
        content_threshold=content_threshold,
    )
