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


def test_unknown_encoding_falls_back_to_the_embedder_tokenizer_with_margin_and_logs_once(
    caplog: pytest.LogCaptureFixture, fake_embedder: object
) -> None:
    count_tokens = fake_embedder.count_tokens  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="assistant.llm.budget"):
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
    assert counter.name == "bytes/3 x 1"


def test_an_uncached_encoding_is_never_downloaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An empty TIKTOKEN_CACHE_DIR: no DNS lookup, no download, the fallback counts."""
    looked_up: list[str] = []

    def no_dns(host: object, *args: object, **kwargs: object) -> list[object]:
        looked_up.append(str(host))
        raise socket.gaierror(socket.EAI_NONAME, "fake DNS: offline")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # forget encodings loaded earlier
    monkeypatch.setattr(budget, "_FAILED_ENCODINGS", {})
    assert not budget.tiktoken_cached("gpt2")
    counter = load_counter("gpt2", lambda text: len(text.split()), margin=2.0)
    assert counter.count("one two three") == 6
    assert looked_up == []  # not even tried


def test_a_cached_encoding_is_loaded_from_the_cache_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The cache file tiktoken would read is what decides; with it, tiktoken is used."""
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(budget, "_FAILED_ENCODINGS", {})
    name = budget.TIKTOKEN_CACHE_NAMES["o200k_base"][0]
    assert budget.tiktoken_cache_dir() == cache and not budget.tiktoken_cached("o200k_base")
    (cache / name).write_bytes(b"x")
    assert budget.tiktoken_cached("o200k_base")
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # tiktoken's "caching disabled"
    assert budget.tiktoken_cache_dir() is None and not budget.tiktoken_cached("o200k_base")


def test_the_server_tokenizer_is_preferred_to_the_fallback() -> None:
    counter = load_counter("no-such-encoding", lambda t: 100, server=lambda t: len(t))
    assert counter.name == "server /tokenize x 1.05"
    assert counter.count("abcdefghij") == 11  # ceil(10 * 1.05)


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


def test_cache_names_are_the_ones_tiktoken_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each encoding's first file is cached under sha1(the address tiktoken's own constructor
    reads), so a cached encoding loads with no network attempt (nothing is fetched here)."""
    import hashlib

    import tiktoken.load
    import tiktoken_ext.openai_public as public

    class Stop(Exception):
        pass

    def record(blobpath: str, expected_hash: str | None = None) -> bytes:
        raise Stop(blobpath)

    monkeypatch.setattr(tiktoken.load, "read_file_cached", record)
    for name, names in budget.TIKTOKEN_CACHE_NAMES.items():
        with pytest.raises(Stop) as got:
            public.ENCODING_CONSTRUCTORS[name]()
        assert hashlib.sha1(str(got.value).encode()).hexdigest() == names[0], name
