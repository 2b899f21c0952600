"""Questions are embedded on ONNX Runtime with the same vectors as torch, or on torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest import onnx_encoder
from tests.conftest import make_settings

# One message's texts: lengths from one token to past the model's 256-token limit.
TEXTS = [
    "ok",
    "Should I stretch my hamstring?",
    "Should I stretch my hamstrings?",  # close lengths: one padded group
    "Should I stretch my hamstring, coach?",
    "I've had a deep ache at the sit bone for eight months, worse when I sit at my desk, "
    "and it flares on hills and speedwork; my physio gave me isometrics.",
    " ".join(["Long runs make the high hamstring pain worse, and sitting in the car after."] * 30),
]


def test_questions_get_the_vectors_torch_gives(real_embedder: Any) -> None:
    got = real_embedder.embed(TEXTS)  # a message-sized call: the ONNX path
    assert real_embedder._onnx is not None, "the ONNX graph was not used"
    want = real_embedder._encode(TEXTS, 64)  # torch
    assert got.shape == want.shape == (len(TEXTS), real_embedder.dimension)
    assert np.min(np.sum(got * want, axis=1)) > 0.9999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_texts_come_back_in_the_order_given(real_embedder: Any) -> None:
    forward = real_embedder.embed(TEXTS)
    backward = real_embedder.embed(TEXTS[::-1])
    assert np.allclose(forward, backward[::-1], atol=1e-5)


def test_a_damaged_graph_is_exported_again(real_embedder: Any, tmp_path: Path) -> None:
    model, fingerprint = real_embedder._model, real_embedder.fingerprint()
    path = onnx_encoder.graph_path(tmp_path, fingerprint)
    path.write_bytes(b"not an onnx graph")
    older = tmp_path / f"embedding-{fingerprint}-torch2.5.0-opset17.onnx"  # an earlier install's
    older.write_bytes(b"stale")
    other = tmp_path / "embedding-0123456789abcdef-torch2.5.0-opset17.onnx"  # another model's
    other.write_bytes(b"kept")
    encoder = onnx_encoder.load(model, tmp_path, fingerprint)
    assert encoder is not None
    assert path.stat().st_size > 1_000_000
    # no temporary file left, this model's stale graph removed, another model's kept
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, other.name])
    want = real_embedder._encode(TEXTS[:2], 64)
    assert np.min(np.sum(encoder.encode(TEXTS[:2]) * want, axis=1)) > 0.9999


def test_a_graph_that_disagrees_with_torch_is_not_used(real_embedder: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_encoder, "MIN_COSINE", 1.5)  # no graph can agree this well
    assert onnx_encoder.load(real_embedder._model, tmp_path, real_embedder.fingerprint()) is None


def test_an_unusable_cache_folder_leaves_the_model_on_torch(real_embedder: Any,
                                                             tmp_path: Path) -> None:
    from ingest.embed import SentenceTransformerEmbedder

    blocked = tmp_path / "a-file"
    blocked.write_text("in the way", encoding="utf-8")
    embedder = SentenceTransformerEmbedder(onnx_cache=blocked / "models")
    assert embedder.prepare() is False  # `pht ingest` says so
    got = embedder.embed(TEXTS[:2])
    assert embedder._onnx is None and embedder._onnx_cache is None  # not tried again
    assert np.min(np.sum(got * real_embedder._encode(TEXTS[:2], 64), axis=1)) > 0.9999


class _Module:
    def __init__(self, name: str, config: dict[str, Any] | None = None):
        self.__class__ = type(name, (_Module,), {})
        self._config = config or {}

    def get_config_dict(self) -> dict[str, Any]:
        return self._config


@pytest.mark.parametrize(("modules", "expected"), [
    ([("Transformer", {}), ("Pooling", {"pooling_mode": "mean"}), ("Normalize", {})], True),
    ([("Transformer", {}), ("Pooling", {"pooling_mode": "mean"})], True),
    ([("Transformer", {}), ("Pooling", {"pooling_mode_mean_tokens": True,
                                        "pooling_mode_cls_token": False})], True),
    ([("Transformer", {}), ("Pooling", {"pooling_mode": "cls"}), ("Normalize", {})], False),
    ([("Transformer", {}), ("Pooling", {"pooling_mode_mean_tokens": True,
                                        "pooling_mode_max_tokens": True})], False),
    ([("Transformer", {}), ("Pooling", {"pooling_mode": "mean"}), ("Dense", {})], False),
])
def test_only_the_pipeline_the_encoder_reproduces_is_exported(
        modules: list[tuple[str, dict[str, Any]]], expected: bool) -> None:
    model = [_Module(name, config) for name, config in modules]
    assert onnx_encoder.supported(model) is expected
    if not expected:  # never exported: nothing to load, torch runs it
        assert onnx_encoder.load(model, Path("/nonexistent"), "x") is None


def test_the_runtime_setting_chooses_the_cache(tmp_path: Path) -> None:
    assert make_settings(tmp_path, embedding_runtime="torch").onnx_cache_dir is None
    assert make_settings(tmp_path, embedding_runtime="onnx",
                         embedding_cache_dir=None).onnx_cache_dir == tmp_path / "data" / "models"
    assert make_settings(tmp_path, embedding_cache_dir=tmp_path / "c").onnx_cache_dir == tmp_path / "c"
