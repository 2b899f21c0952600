"""Token counting (a handmade tiktoken Encoding, no download), the offline fallback, packing."""

from __future__ import annotations

import doctest
import logging
import socket
from pathlib import Path

import pytest
import tiktoken

import assistant.llm.budget as budget
from assistant.llm.budget import ScaledCounter, TiktokenCounter, load_counter, pack_passages
from assistant.llm.context import render_passage
from tests.llm_passages import HILLS, SITTING, make_passage

GPT2_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def tiny_encoding() -> tiktoken.Encoding:
    """Byte-level ranks for the 256 bytes plus merges th -> the -> " the"."""
    ranks = {bytes([i]): i for i in range(256)}
    for merge in (b"th", b"the", b" the", b"in", b"ing"):
        ranks[merge] = len(ranks)
    return tiktoken.Encoding(
        name="tiny-test", pat_str=GPT2_SPLIT, mergeable_ranks=ranks, special_tokens={}
    )


@pytest.fixture(autouse=True)
def _forget_failed_encodings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "_FAILED_ENCODINGS", {})


def test_doctests() -> None:
    assert doctest.testmod(budget).failed == 0


def test_tiktoken_counter_counts_with_the_real_bpe() -> None:
    counter = TiktokenCounter(tiny_encoding())
    assert counter.name == "tiktoken:tiny-test"
    assert counter.count("the") == 1
    assert counter.count("thethe") == 2
    assert counter.count("the the") == 2  # "the" + " the"
    assert counter.count("sing") == 2  # "s" + "ing"
    assert counter.count("xyz") == 3  # bytes only
    assert counter.count("é") == 2  # two UTF-8 bytes, no merge
    assert counter.count("<|endoftext|>") > 1  # special-looking text is counted as text


def test_unknown_encoding_falls_back_to_the_embedder_tokenizer_with_margin_and_warns_once(
    caplog: pytest.LogCaptureFixture, fake_embedder: object
) -> None:
    count_tokens = fake_embedder.count_tokens  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="assistant.llm.budget"):
        first = load_counter("no-such-encoding", count_tokens, margin=1.5)
        second = load_counter("no-such-encoding", count_tokens, margin=1.5)
    text = "Hills come last for runners"  # FakeEmbedder: 5 words + 2 specials = 7
    assert first.count(text) == second.count(text) == 11  # ceil(7 * 1.5)
    assert isinstance(first, ScaledCounter)
    warnings = [r for r in caplog.records if "no-such-encoding" in r.getMessage()]
    assert len(warnings) == 1


def test_unknown_encoding_without_fallback_uses_a_byte_estimate() -> None:
    counter = load_counter("no-such-encoding", None, margin=1.0)
    assert counter.count("abcdef") == 2
    assert counter.name == "bytes/3x1"


def test_download_failure_falls_back_without_touching_the_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An empty TIKTOKEN_CACHE_DIR forces a download attempt; a fake DNS refuses every host."""
    looked_up: list[str] = []

    def no_dns(host: object, *args: object, **kwargs: object) -> list[object]:
        looked_up.append(str(host))
        raise socket.gaierror(socket.EAI_NONAME, "fake DNS: offline")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # forget encodings loaded earlier
    with caplog.at_level(logging.WARNING, logger="assistant.llm.budget"):
        counter = load_counter("gpt2", lambda text: len(text.split()), margin=2.0)
    assert counter.count("one two three") == 6
    assert "could not be loaded" in caplog.text
    assert looked_up and "openaipublic" in looked_up[0]  # it did try to download, offline
    assert not list((tmp_path / "empty-cache").glob("*"))


def test_pack_keeps_the_best_ranked_prefix_that_fits() -> None:
    counter = TiktokenCounter(tiny_encoding())
    passages = [HILLS, SITTING, make_passage("third", ["Short one."])]
    costs = [counter.count(render_passage(n, p)) for n, p in enumerate(passages, start=1)]
    assert pack_passages(passages, counter, sum(costs), render_passage) == passages
    assert pack_passages(passages, counter, sum(costs) - 1, render_passage) == passages[:2]
    assert pack_passages(passages, counter, costs[0], render_passage) == passages[:1]
    assert pack_passages(passages, counter, costs[0] - 1, render_passage) == []


def test_pack_drops_lowest_ranked_even_if_a_later_one_is_small() -> None:
    counter = TiktokenCounter(tiny_encoding())
    big = make_passage("big", ["word " * 50])
    small = make_passage("small", ["ok"])
    kept = pack_passages([HILLS, big, small], counter, counter.count(HILLS.text + "\n") + 5)
    assert kept == [HILLS]
