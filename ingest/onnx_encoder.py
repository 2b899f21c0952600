"""The embedding model's transformer run by ONNX Runtime: the same vectors, half the time.

A warm answer embeds one message (its query, its asks and, for the red-flag layer, each of
its sentences) in one call, and on these CPUs that call is most of the answer: the torch
forward pass of all-MiniLM-L6-v2 costs ~20 ms for a short question, mostly per-operator
overhead. ONNX Runtime runs the same graph in about half that (measured on 2 cores, one
intra-op thread each: one question 20 -> 10 ms, three texts 41 -> 23 ms; two threads do
better still, see ``_checked``), and the vectors agree to float precision (cosine >= 0.9999999). A message's texts are run in groups of similar token
length (fourteen sentences of a long message: torch 414 ms, one padded batch 280 ms, groups
130 ms).

The graph is exported from the loaded torch model once (~3 s, ~90 MB) into a cache folder
(``<data_dir>/models``), named by the model's fingerprint and the torch, transformers and
opset versions, written to a temporary file and renamed, so a crash or a second process never
leaves a half file in its place. Every load checks the graph against torch on probe texts, one
by one and as a padded batch; a graph that fails to load or disagrees is exported once more,
and when that fails too the caller keeps torch.

Only the pipeline this module reproduces is accepted: a Transformer, mean pooling over the
attention mask, an optional Normalize. Any other model runs on torch, unchanged.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Texts of different lengths, run as one padded batch: a graph traced without the padding
# mask would give the short ones different vectors.
PROBES = (
    "Should I stretch my hamstring?",
    "A deep ache at the sit bone after long runs, worse when sitting at a desk all day, "
    "and it has been there for months now.",
    "ok",
)
MIN_COSINE = 0.9999


def supported(model: Any) -> bool:
    """True when ``model`` (a SentenceTransformer) is Transformer -> mean Pooling [-> Normalize]."""
    names = [type(module).__name__ for module in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return False
    config = model[1].get_config_dict()
    mode = config.get("pooling_mode")
    if mode is None:  # older sentence-transformers: one flag per mode
        mode = "mean" if config.get("pooling_mode_mean_tokens") and sum(
            bool(v) for k, v in config.items() if k.startswith("pooling_mode_")
        ) == 1 else None
    return mode == "mean"


class OnnxEncoder:
    """Unit vectors for texts, from an exported graph of ``model``'s transformer."""

    def __init__(self, session: Any, tokenizer: Any, max_tokens: int):
        self._session = session
        self._tokenizer = tokenizer
        self._max_tokens = max_tokens
        self._inputs = [i.name for i in session.get_inputs()]

    def encode(self, texts: Sequence[str], *, grouped: bool = True) -> np.ndarray:
        """Unit vectors of ``texts``, run in groups of similar token length (``grouped``) or as
        one padded batch."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        tokens = self._tokenizer(list(texts), truncation=True, max_length=self._max_tokens)
        ids = tokens["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        groups = _similar_lengths(order, [len(i) for i in ids]) if grouped else [order]
        pooled = [self._pooled([{k: tokens[k][i] for k in tokens} for i in g]) for g in groups]
        vectors = np.zeros((len(texts), pooled[0].shape[1]), dtype=np.float32)
        for group, rows in zip(groups, pooled, strict=True):
            vectors[group] = rows
        return vectors

    def _pooled(self, rows: list[dict[str, Any]]) -> np.ndarray:
        """Mean-pooled unit vectors of already tokenized texts, run as one padded batch."""
        batch = self._tokenizer.pad(rows, return_tensors="np")
        ids = np.asarray(batch["input_ids"], dtype=np.int64)
        feed = {name: np.asarray(batch[name], dtype=np.int64) if name in batch
                else np.zeros_like(ids) for name in self._inputs}
        hidden = self._session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.asarray(pooled / norms, dtype=np.float32)


def _similar_lengths(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Consecutive runs of ``order`` (sorted by length) whose longest text is at most a quarter
    (plus a few tokens) longer than the shortest: padding costs as much as real tokens, and a
    message's sentences range from 5 to 80 tokens (fourteen of them: one batch 280 ms, these
    groups 130 ms)."""
    groups: list[list[int]] = []
    for i in order:
        if groups and lengths[i] <= lengths[groups[-1][0]] * 1.25 + 4:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def load(model: Any, cache_dir: Path, fingerprint: str, *,
         threads: int = min(2, os.cpu_count() or 1)) -> OnnxEncoder | None:
    """An encoder for ``model`` from the cached graph (exported first when missing), or None
    when ONNX Runtime or the exporter is missing, the model is not supported, or the graph does
    not reproduce torch's vectors. A cached graph that fails to load or disagrees is exported
    once more. Never raises: the caller falls back to torch."""
    if not supported(model):
        return None
    # ONNX Runtime's usage telemetry (a local event store under ~/.cache, uploaded when it can):
    # off, as everything here is offline and writes only where the settings say
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return None
    path = graph_path(cache_dir, fingerprint)
    for attempt in range(2):
        try:
            if not path.is_file():
                _export(model, path)
                for stale in cache_dir.glob(f"{_graph_prefix(fingerprint)}*.onnx"):
                    if stale != path:  # this model's graph for other versions: ~90 MB each
                        stale.unlink(missing_ok=True)
            return _checked(model, path, threads)
        except Exception as exc:
            log.info("The embedding model's ONNX graph %s is not usable (%s).", path, exc,
                     exc_info=not isinstance(exc, _Disagrees))
            if attempt == 0 and path.is_file():  # damaged or stale: export it once more
                try:
                    path.unlink()
                except OSError:
                    return None
    return None


class _Disagrees(Exception):
    """The graph's vectors are not torch's."""


def graph_path(cache_dir: Path, fingerprint: str) -> Path:
    """The cached graph of the model with ``fingerprint``, for these torch, transformers and
    opset versions (an upgrade exports a new one)."""
    import torch
    import transformers

    versions = f"torch{torch.__version__}-transformers{transformers.__version__}-opset{OPSET}"
    return cache_dir / f"{_graph_prefix(fingerprint)}{versions}.onnx"


def _graph_prefix(fingerprint: str) -> str:
    """What every cached graph of the model with ``fingerprint`` is named first."""
    return f"embedding-{fingerprint}-"


def _checked(model: Any, path: Path, threads: int) -> OnnxEncoder:
    """The encoder of the graph at ``path``; raises ``_Disagrees`` unless it reproduces torch's
    vectors on the probes, run one by one and as one padded batch (a graph traced without the
    attention mask would give the short ones other vectors)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # Two threads that sleep rather than spin when idle: on 2 cores a question's answer p50/p95
    # 36/67 -> 31/57 ms and long messages 186/284 -> 150/237 ms, and still faster than one
    # thread with the other core busy (28/56 against 34/70 ms).
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    encoder = OnnxEncoder(session, model.tokenizer, int(model.max_seq_length or 512))
    expected = model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)
    agreement = min(float(np.min(np.sum(got * expected, axis=1)))
                    for got in (encoder.encode(PROBES), encoder.encode(PROBES, grouped=False)))
    if agreement < MIN_COSINE:
        raise _Disagrees(f"cosine {agreement:.6f} against torch")
    return encoder


def _export(model: Any, path: Path) -> None:
    """Trace ``model``'s transformer on a padded batch into ``path`` (atomically)."""
    import torch

    transformer = model[0].model if hasattr(model[0], "model") else model[0].auto_model

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    batch = model.tokenizer(list(PROBES[:2]), padding=True, return_tensors="pt")
    if "token_type_ids" not in batch:
        batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on the legacy exporter
            torch.onnx.export(
                LastHiddenState().eval(), tuple(batch[name] for name in INPUTS), tmp,
                input_names=list(INPUTS), output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "tokens"}
                              for name in (*INPUTS, "last_hidden_state")},
                opset_version=OPSET, dynamo=False,
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
