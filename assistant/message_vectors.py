"""The embedding vectors one message needs, embedded together in one model call.

A message needs several vectors: its sentences (the red-flag gate's learned layer), its
retrieval query, each of its asks and its asks together (the scope gate). Embedding them one
call at a time pays the model's per-call overhead several times over. ``MessageVectors`` is told
up front which texts the message will need (``want``); the first ``get`` embeds those and the
requested ones in one batch, and later ``get`` calls are served from it (a text not foreseen
is embedded then, in one more call). Identical texts are embedded once. It holds the vectors
of one message only and knows nothing of what they are for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np


class MessageVectors:
    """Vectors by text for one message, embedded lazily in as few calls as possible.

    >>> calls = []
    >>> def embed(texts):
    ...     calls.append(list(texts))
    ...     return np.array([[float(len(t)), 1.0] for t in texts])
    >>> mv = MessageVectors(embed)
    >>> mv.want(["a query", "an ask"])
    >>> mv.get(["first sentence.", "a query"]).shape, float(mv.one("an ask")[0])
    ((2, 2), 6.0)
    >>> calls
    [['a query', 'an ask', 'first sentence.']]
    """

    def __init__(
        self, embed: Callable[[Sequence[str]], np.ndarray],
        embedded: Callable[[Sequence[str], np.ndarray], None] | None = None,
    ):
        self.embed = embed
        self.embedded = embedded  # told of every batch embedded (e.g. ``Retriever.remember``)
        self._vectors: dict[str, np.ndarray] = {}
        self._wanted: dict[str, None] = {}
        self.calls = 0  # model calls made for this message

    def want(self, texts: Iterable[str]) -> None:
        """Texts the message will need: embedded with the next ``get``'s texts."""
        for t in texts:
            if t not in self._vectors:
                self._wanted[t] = None

    def get(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts`` (shape ``(len(texts), d)``), embedding what is missing, and what
        was wanted, in one call."""
        missing = list(dict.fromkeys(t for t in [*self._wanted, *texts] if t not in self._vectors))
        self._wanted.clear()
        if missing:
            got = self.embed(missing)
            self.calls += 1
            for t, v in zip(missing, got, strict=True):
                self._vectors[t] = v
            if self.embedded is not None:
                self.embedded(missing, got)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.vstack([self._vectors[t] for t in texts])

    def one(self, text: str) -> np.ndarray:
        """The vector of one text."""
        return self.get([text])[0]
