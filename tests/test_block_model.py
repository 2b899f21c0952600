"""The learned block classifier: features, fitting, the shipped weights, and the labelled pages.

Pure and hermetic tests use the fake embedder (the shipped weights do not fit it, so
``classify_blocks`` falls back to the rules); tests marked ``model`` load all-MiniLM-L6-v2
and check the shipped weights on the shipped articles and on an unseen page.
"""

from __future__ import annotations

import doctest
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import ingest.block_features
import ingest.block_model
import ingest.classify
import ingest.rule_kinds
from benchmarks.classify import (
    CLUTTER,
    GRID,
    LabelError,
    Page,
    Rates,
    leave_one_page_out,
    load_labelled,
    load_shipped,
    page_matrices,
    pick_threshold,
    threshold_by_cv,
    train,
)
from ingest.block_features import feature_count, page_features
from ingest.block_model import fit, load_model, read_model
from ingest.classify import classify_blocks, learned_model
from ingest.models import BlockKind
from ingest.rule_kinds import rule_blocks
from ingest.segment import segment_blocks
from tests.fakes import FakeEmbedder

K = BlockKind
E2E_PAGE = Path(__file__).parent / "data" / "e2e" / "cycling-with-high-hamstring-pain.txt"
E2E_AUTHOR = "Priya Nandakumar, MCSP (Northside Physio & Bike Fit)"
# The lines of the unseen page that must never answer (their first words).
E2E_PROMO = (
    "Join 20,000 cyclists", "Free webinar:", "“After two bike fits", "Martin G.",
    "Our partners at SaddleWorks", "Priya Nandakumar is a sports", "Spin class with a sore",
    "Raising my saddle 1 cm", "Your email address", "We use cookies", "© 2025",
)


@pytest.mark.parametrize(
    "module", [ingest.block_features, ingest.block_model, ingest.classify, ingest.rule_kinds]
)
def test_doctests_pass(module: object) -> None:
    result = doctest.testmod(module)  # type: ignore[arg-type]
    assert result.attempted > 0 and result.failed == 0


# ---- the labelled pages ------------------------------------------------------------------


@pytest.fixture(scope="module")
def labelled():  # type: ignore[no-untyped-def]
    return load_labelled()


def test_labelled_set_meets_the_brief(labelled) -> None:  # type: ignore[no-untyped-def]
    lines = [k for p in labelled for k in p.gold]
    counts = Counter(lines)
    assert len(labelled) >= 8 and len(lines) >= 300
    assert set(counts) == set(BlockKind)  # every kind occurs
    assert counts[K.CONTENT] >= 100 and sum(counts[k] for k in CLUTTER) >= 150
    # no page is modelled on the sites that measure the issue
    text = " ".join(p.name for p in labelled).lower()
    for site in ("jtphysio", "running-physio", "sports-injury", "sparkyourtraining", "runnerstribe"):
        assert site not in text


def test_a_label_file_out_of_step_with_its_page_is_named(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("Title\n\nA line.\n", encoding="utf-8")
    (tmp_path / "p.labels.yaml").write_text(
        "page: p.txt\nlines:\n  - {text: Title, kind: heading}\n", encoding="utf-8"
    )
    with pytest.raises(LabelError, match=r"p\.labels\.yaml"):
        load_labelled(tmp_path)


def test_rates_count_clutter_taken_as_content_and_content_lost() -> None:
    gold = [K.CONTENT, K.CONTENT, K.TESTIMONIAL, K.MEDIA_NAVIGATION, K.HEADING]
    pred = [K.CONTENT, K.CAPTION, K.CONTENT, K.MEDIA_NAVIGATION, K.CONTENT]
    r = Rates().add(gold, pred)
    assert (r.clutter, r.leaked, r.content, r.lost) == (2, 1, 2, 1)


# ---- features and fitting (fake vectors) ---------------------------------------------------


def test_features_have_one_row_per_block_and_the_documented_width() -> None:
    blocks = segment_blocks("Why It Hurts\nTendons dislike load.\nUse code RUN20 for 20% off!", "x")
    x, ruled = page_features(blocks, FakeEmbedder(dimension=16).embed([b.text for b in blocks]))
    assert x.shape == (3, feature_count(16))
    assert [b.kind for b in ruled] == [b.kind for b in rule_blocks(blocks)[0]]
    with pytest.raises(ValueError, match="2 vectors for 3 blocks"):
        page_features(blocks, np.zeros((2, 16), dtype=np.float32))


@pytest.fixture(scope="module")
def fake_mats(labelled):  # type: ignore[no-untyped-def]
    pages = [*labelled[:4], *load_shipped()]
    return pages, page_matrices(pages, FakeEmbedder(dimension=32).embed)


def test_fit_is_deterministic_and_learns_its_training_pages(fake_mats, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pages, mats = fake_mats
    a = train(pages, mats, embedder="fake-hash", dimension=32)
    b = train(pages, mats, embedder="fake-hash", dimension=32)
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.bias, b.bias)
    gold = [k for p in pages for k in p.gold]
    pred = [blk.kind for (x, ruled) in mats for blk in a.decide(x, ruled)]
    assert sum(g == p for g, p in zip(gold, pred, strict=True)) / len(gold) >= 0.9
    a.save(tmp_path / "m.npz")
    again = read_model(tmp_path / "m.npz")
    assert np.allclose(again.proba(mats[0][0]), a.proba(mats[0][0]), atol=1e-5)
    assert again.fits("fake-hash", 32) and not again.fits("fake-hash", 64)


def test_leave_one_page_out_predicts_every_line_of_every_page(fake_mats) -> None:  # type: ignore[no-untyped-def]
    pages, mats = fake_mats
    preds, thresholds = leave_one_page_out(pages[:3], mats[:3], inner=2)
    assert [len(p) for p in preds] == [len(p.gold) for p in pages[:3]]
    assert len(thresholds) == 3 and set(thresholds) <= set(GRID)


def test_a_held_out_page_never_informs_its_own_model_or_threshold(fake_mats) -> None:  # type: ignore[no-untyped-def]
    pages, mats = fake_mats
    pages, mats = list(pages[:4]), list(mats[:4])
    before = leave_one_page_out(pages, mats, inner=2)
    # relabel the first page entirely: its own predictions and threshold must not move
    pages[0] = replace(pages[0], gold=[K.CONTENT] * len(pages[0].gold))
    after = leave_one_page_out(pages, mats, inner=2)
    assert after[0][0] == before[0][0] and after[1][0] == before[1][0]
    assert (after[0][1:], after[1][1:]) != (before[0][1:], before[1][1:])  # the others saw it


def _scored(content: list[float], clutter: list[float]) -> tuple[Page, np.ndarray]:
    """A page whose content and testimonial lines get these content probabilities."""
    gold = [K.CONTENT] * len(content) + [K.TESTIMONIAL] * len(clutter)
    p = np.zeros((len(gold), len(BlockKind)))
    p[:, 0] = content + clutter  # BlockKind order: content first
    p[:, list(BlockKind).index(K.TESTIMONIAL)] = 1 - p[:, 0]
    blocks = segment_blocks("\n".join(f"line {i}" for i in range(len(gold))), "p")
    return Page("p", blocks, gold), p


def test_pick_threshold_keeps_both_rates_within_their_targets() -> None:
    # content at 0.62, clutter at 0.58: only 0.60 keeps every line on its side
    assert pick_threshold([_scored([0.62] * 20, [0.58] * 40)]) == 0.6
    # one clutter line in 40 at 0.9 cannot be stopped (2.5% <= 3%); content at 0.42 must be kept
    assert pick_threshold([_scored([0.42] * 20, [0.9] + [0.2] * 39)]) == 0.4
    # nothing to choose between: the threshold nearest 0.5
    assert pick_threshold([_scored([0.99] * 5, [0.01] * 5)]) == 0.5


def test_threshold_by_cv_chooses_from_the_grid_on_the_pages_given(fake_mats) -> None:  # type: ignore[no-untyped-def]
    pages, mats = fake_mats
    assert threshold_by_cv(pages[:3], mats[:3], folds=2) in GRID


def test_a_threshold_of_one_never_says_content() -> None:
    x = np.array([[0.0], [1.0]], dtype=np.float32)
    m = fit(x, [K.CONTENT, K.CAPTION], embedder="t", dimension=0)
    ruled = segment_blocks("a b c\nd e f", "x")
    assert next(b.kind for b in m.decide(x, ruled)) == K.CONTENT
    never = replace(m, content_threshold=1.01)
    assert K.CONTENT not in [b.kind for b in never.decide(x, ruled)]


def test_the_fake_embedder_falls_back_to_the_rules() -> None:
    fake = FakeEmbedder()
    assert learned_model(fake) is None and learned_model(None) is None
    raw = E2E_PAGE.read_text(encoding="utf-8")
    blocks = segment_blocks(raw, "x")
    assert classify_blocks(blocks, author=E2E_AUTHOR, embedder=fake) == rule_blocks(
        blocks, author=E2E_AUTHOR
    )[0]
    assert fake.calls == []  # nothing was embedded for classification


# ---- the shipped weights with the real model ----------------------------------------------


def test_shipped_weights_expect_the_default_embedding_model() -> None:
    model = load_model()
    assert model is not None, "ingest/rules/block_model.npz is missing: run benchmarks/classify.py --train"
    assert model.fits("all-MiniLM-L6-v2", 384)
    assert model.weights.shape == (feature_count(384), len(BlockKind))


@pytest.mark.model
@pytest.mark.parametrize("page", load_shipped(), ids=lambda p: p.name)
def test_shipped_articles_no_promotion_becomes_content(page, real_embedder) -> None:  # type: ignore[no-untyped-def]
    assert learned_model(real_embedder) is not None
    out = classify_blocks(page.blocks, author=page.author, embedder=real_embedder)
    promo = {K.TESTIMONIAL, K.SPONSORSHIP, K.CALL_TO_ACTION, K.BIOGRAPHY}
    leaked = [b.text[:60] for b, g in zip(out, page.gold, strict=True)
              if g in promo and b.kind == K.CONTENT]
    assert leaked == []
    agree = sum(b.kind == g for b, g in zip(out, page.gold, strict=True)) / len(out)
    assert agree >= 0.95


@pytest.mark.model
def test_unseen_page_promotional_lines_are_not_content(real_embedder) -> None:  # type: ignore[no-untyped-def]
    raw = E2E_PAGE.read_text(encoding="utf-8")
    out = classify_blocks(segment_blocks(raw, "x"), author=E2E_AUTHOR, embedder=real_embedder)
    leaked = [b.text[:40] for b in out if b.kind == K.CONTENT and b.text.startswith(E2E_PROMO)]
    assert leaked == []
    content = [b.text[:30] for b in out if b.kind == K.CONTENT]
    assert any(t.startswith("Raise the saddle slowly") for t in content), content
    assert any(t.startswith("Stop cycling and get") for t in content), content
