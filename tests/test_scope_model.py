"""The scope gate's learned layer: neighbour features, CV training, save/load round trip.

Synthetic embeddings (two topic clusters on a ring that a linear model cannot split by one
direction) stand in for the real model, so these tests are fast and hermetic; the real
figures come from `pht calibrate-scope` and `pht eval`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.gates.scope import ScopeFeatures
from assistant.gates.scope_model import (
    Neighbours,
    ScopeModel,
    full_features,
    load_scope_model,
    save_scope_model,
    scope_vector,
    train,
)
from core.learn import fit

DIM = 8


def _cluster(rng: np.random.Generator, centre: np.ndarray, n: int) -> np.ndarray:
    v = centre + 0.15 * rng.standard_normal((n, DIM))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _data(seed: int = 0, n: int = 30) -> tuple[np.ndarray, list[bool]]:
    """Out of scope = two opposite clusters (+e0, -e0); in scope = (+e1, -e1): the classes
    share a mean, so only the neighbour features separate them."""
    rng = np.random.default_rng(seed)
    eye = np.eye(DIM)
    asks = [_cluster(rng, s * eye[i], n) for i in (0, 1) for s in (1, -1)]
    labels = [True] * (2 * n) + [False] * (2 * n)
    rows = [scope_vector(a, a, ScopeFeatures(0.5)) for a in np.vstack(asks)]
    return np.array(rows), labels


def test_neighbour_features_prefer_the_nearer_class_and_skip_self() -> None:
    vecs = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    nb = Neighbours(vecs / np.linalg.norm(vecs, axis=1, keepdims=True),
                    np.array([True, True, False]), k=1)
    f = nb.features(np.array([[1.0, 0.0]]))[0]
    assert f[0] == pytest.approx(3.0) and f[1] == pytest.approx(0.0) and f[2] > 2.9
    # leaving row 0 out, the nearest out-of-scope neighbour is row 1, not the ask itself
    g = nb.features(np.array([[1.0, 0.0]]), exclude=[0])[0]
    assert 0 < g[0] < 3.0


def test_training_separates_classes_a_linear_model_cannot() -> None:
    x, y = _data()
    model, (_l2, _epochs, p, r) = train(x, y, dim=DIM, embedder="fake", repeats=1)
    assert p >= 0.95 and r >= 0.9  # cross-validated, neighbours built inside each fold
    xt, yt = _data(seed=1)
    got = [model.out_of_scope(row) for row in xt]
    assert sum(g == t for g, t in zip(got, yt, strict=True)) / len(yt) >= 0.9
    # the same regression on the base vectors alone does no better than a coin
    w, b = fit(x, y, l2=1e-3, epochs=1500)
    linear = [bool(row @ w + b > 0) for row in xt]
    assert sum(g == t for g, t in zip(linear, yt, strict=True)) / len(yt) < 0.75


def test_save_load_round_trip_keeps_decisions(tmp_path: Path) -> None:
    x, y = _data()
    model, _ = train(x, y, dim=DIM, embedder="fake", repeats=1)
    path = save_scope_model(model, tmp_path / "m.json")
    back = load_scope_model("fake", path)
    assert back is not None and back.neighbours is not None and back.dim == DIM
    for row in _data(seed=2)[0][:20]:
        assert back.p_out(row) == pytest.approx(model.p_out(row), abs=2e-3)
    assert load_scope_model("other-embedder", path) is None


def test_unreadable_or_old_model_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"embedder": "fake", "vectors_f16": "x"}', encoding="utf-8")
    assert load_scope_model("fake", bad) is None
    assert load_scope_model("fake", tmp_path / "missing.json") is None
    # a model without neighbours (the earlier format) still loads and decides
    old = ScopeModel(np.zeros(2 * DIM + 4), 1.0, 0.5, "fake")
    back = load_scope_model("fake", save_scope_model(old, tmp_path / "old.json"))
    assert back is not None and back.neighbours is None and back.out_of_scope(np.zeros(2 * DIM + 4))


def test_full_features_appends_three_columns() -> None:
    x, y = _data(n=5)
    nb = Neighbours(x[:, :DIM], np.array(y))
    assert full_features(x, nb, DIM).shape == (len(y), x.shape[1] + 3)


@pytest.mark.model
def test_the_shipped_model_is_for_the_shipped_embedder(real_embedder) -> None:
    """`pht calibrate-scope` wrote the packaged model with neighbours for the real embedder; a
    neighbour-topic ask and a covered ask land on opposite sides of its threshold."""
    model = load_scope_model(real_embedder.fingerprint())
    assert model is not None and model.neighbours is not None
    assert model.dim == real_embedder.embed(["x"]).shape[1]
    out_q = "How many weeks after my hamstring reattachment surgery can I start jogging?"
    in_q = "Which exercises help pain at the sit bone when I run?"
    out_v, in_v = real_embedder.embed([out_q, in_q])
    # rule features neutral (the real ones need the index): the embeddings decide
    neutral = ScopeFeatures(0.5, 1, 1, 0)
    assert model.p_out(scope_vector(out_v, out_v, neutral)) > model.p_out(
        scope_vector(in_v, in_v, neutral))
