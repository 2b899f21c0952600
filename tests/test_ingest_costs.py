"""Ingest work outside the model stays small: token counts through the Rust tokenizer equal
the wrapper's, each span is counted once while packing chunks, rule scores are cached
without changing a decision."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ingest.classify import classify_blocks, sentence_kind
from ingest.load import load_corpus
from ingest.rule_kinds import _score, rule_blocks
from ingest.segment import segment_blocks, split_sentences
from ingest.split import split_document
from tests.conftest import CORPUS
from tests.fakes import FakeEmbedder

_ODD = [
    "",
    "Don’t stop — it’s fine… 🏃‍♀️ running ½ mile at 5:30/km",
    "Çà et là: naïve façade, Straße, İstanbul, ǅemal, ﬁne ﬂow",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ and 漢字 mixed with עברית",
    "a\u00a0b\u2800c\u200bd\tE\n\nF",
]


def test_token_counts_equal_the_wrapper_without_truncation(real_embedder) -> None:
    texts = [d.raw[i : i + 400] for d in load_corpus(CORPUS).docs for i in range(0, len(d.raw), 997)]
    texts += [*_ODD, "tendon " * 700]  # far past the model's 256 tokens: counted, not cut
    real_embedder.embed(["a query sets truncation and padding on the shared tokenizer"] * 8)
    wrapper = real_embedder._tokenizer
    for text in texts:
        expected = len(wrapper(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])
        assert real_embedder.count_tokens(text) == expected, text
    assert real_embedder.count_tokens("tendon " * 700) > 700


class _Recording(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__(max_tokens=60)
        self.texts: list[str] = []

    def count_tokens(self, text: str) -> int:
        self.texts.append(text)
        return super().count_tokens(text)


def test_packing_counts_each_span_once(tmp_path: Path) -> None:
    embedder = _Recording()
    doc = load_corpus(CORPUS).docs[0]
    blocks = classify_blocks(segment_blocks(doc.raw, doc.source), author=doc.author)
    chunks, _ = split_document(
        doc, blocks, split_sentences=split_sentences, sentence_kind=sentence_kind,
        count_tokens=embedder.count_tokens, max_tokens=embedder.max_tokens, target_tokens=40,
    )
    assert len(chunks) > 20
    counted, carried = Counter(embedder.texts), Counter(c.embed_text for c in chunks)
    # a chunk's text is counted once while packing, not again for the group or the flush
    assert all(counted[text] == n for text, n in carried.items())
    # every chunk's recorded size is its embedding text's real count, and within the limit
    for c in chunks:
        assert c.n_tokens == FakeEmbedder(max_tokens=60).count_tokens(c.embed_text) <= 60


def test_cached_rule_scores_decide_as_fresh_ones() -> None:
    doc = load_corpus(CORPUS).docs[1]
    blocks = segment_blocks(doc.raw, doc.source)
    first, _ = rule_blocks(blocks, author=doc.author)
    assert _score.cache_info().currsize > 0
    again, _ = rule_blocks(blocks, author=doc.author)
    _score.cache_clear()
    fresh, _ = rule_blocks(blocks, author=doc.author)
    assert [(b.kind, b.reason) for b in first] == [(b.kind, b.reason) for b in again]
    assert [(b.kind, b.reason) for b in first] == [(b.kind, b.reason) for b in fresh]
