"""Deterministic fakes that implement the real interfaces (no mocks).

``FakeEmbedder`` embeds by hashed word (and word-bigram) counts: texts sharing words
get similar vectors, identical texts identical vectors, and it runs in microseconds.
Its token count is words + 2 special tokens, with a configurable ``max_tokens`` so
tests can force the splitter to bound chunks.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


class FakeEmbedder:
    def __init__(self, dimension: int = 64, max_tokens: int = 256, name: str = "fake-hash"):
        self.name = name
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.calls: list[int] = []  # batch sizes, to check how much was embedded

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        words = _WORD.findall(text.lower())
        for token in words + [a + "_" + b for a, b in itertools.pairwise(words)]:
            h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")
            v[h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
        n = float(np.linalg.norm(v))
        if n == 0:
            v[0] = 1.0
            return v
        return v / n

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def count_tokens(self, text: str) -> int:
        return len(_WORD.findall(text.lower())) + 2

    def fingerprint(self) -> str:
        return f"{self.name}-{self.dimension}"

    @property
    def embedded(self) -> int:
        return sum(self.calls)
