"""The corpus YAML files are checked before ingestion touches the index; a fault names the
file, the line and the field, and anything that would break the assistant later (every
`pht ask`, the app's start) is caught at ingest time instead."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from assistant.answering.notes import parse_notes
from assistant.ui.faq import parse_faq
from core.errors import ConfigError, CorpusError
from ingest.corpus_config import validate_corpus_config
from ingest.load import load_corpus
from ingest.pipeline import ingest
from ingest.store import IndexStore, make_client
from tests.conftest import CORPUS, make_settings
from tests.fakes import FakeEmbedder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(CORPUS, dest)
    return dest


def edit(path: Path, old: str, new: str, count: int = 1) -> int:
    """Replace ``old`` in the file; return the 1-based line of the first character changed."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    differ = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
                  min(len(old), len(new)))
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return text[: text.index(old) + differ].count("\n") + 1


def fault(corpus: Path) -> str:
    with pytest.raises(CorpusError) as info:
        load_corpus(corpus)
    return str(info.value)


# (file, text to replace, replacement, field named in the message, words of the problem)
FAULTS = [
    ("metadata.yaml", "edition_rank: 2", "edition_rank: two",
     "articles['understanding-pht-with-running.txt'].edition_rank", "valid integer"),
    ("metadata.yaml", "edition_rank: 1", "edition_rank: 1.5",
     "articles['is-it-ok-to-run-with-hamstring-pain.txt'].edition_rank", "valid integer"),
    ("metadata.yaml", '    title: "Understanding', '    tilte: "Understanding',
     "articles['understanding-pht-with-running.txt'].tilte", "did you mean 'title'"),
    ("metadata.yaml", "articles:", "artciles:", "artciles", "unknown field"),
    ("metadata.yaml", 'edition: "newer edition"', "edition: newer: edition", "",
     "not valid YAML (mapping values are not allowed here)"),
    ("editorial_notes.yaml", "    topics:\n      - foam roll\n", "    topic:\n      - foam roll\n",
     "notes[0].topic", "did you mean 'topics'"),
    ("editorial_notes.yaml", "    topics:\n      - tight\n      - tightness\n      - tight hamstrings\n"
     "      - flexibility\n      - inflexible\n      - muscle length\n", "    topics: tight\n",
     "notes[1].topics", "valid list"),
    ("editorial_notes.yaml", "      - IASTM\n", "      - '!!!'\n", "notes[0].topics[3]",
     "no letter or digit"),
    ("editorial_notes.yaml", "    superseded_by:\n      source: corpus/understanding-pht-with-running.txt\n"
     "      anchor: \"Passive", "    superseded_by:\n      source: corpus/understanding-pht-with-running.txt\n"
     "      anchor: \"Pasive", "notes[0].superseded_by.anchor", "does not occur verbatim"),
    ("editorial_notes.yaml", "  - id: tightness-not-the-cause", "  - id: passive-treatments",
     "notes[1].id", "used twice"),
    ("editorial_notes.yaml", "    superseded_by:\n", "    superseded:\n",
     "notes[0].superseded", "'superseded_by'?"),
    ("faq.yaml", "    example: true\n  - id: faq-symptoms", "    exmaple: true\n  - id: faq-symptoms",
     "questions[0].exmaple", "did you mean 'example'"),
    ("faq.yaml", "    example: true\n  - id: faq-symptoms", "    example: yes please\n  - id: faq-symptoms",
     "questions[0].example", "valid boolean"),
    ("faq.yaml", "  - id: faq-causes\n", "  - id: faq-symptoms\n", "questions[2].id", "used twice"),
    ("faq.yaml", "questions:", "question:", "question", "unknown field"),
    ("faq.yaml", "  - id: faq-stretching\n    question: Should", "  - id: faq-stretching\n    q: Should",
     "questions[5].q", "unknown field"),
]


@pytest.mark.parametrize(("name", "old", "new", "where", "problem"), FAULTS,
                         ids=[f"{f[0]}:{f[3] or f[4]}" for f in FAULTS])
def test_each_fault_names_file_line_and_field(
    corpus: Path, name: str, old: str, new: str, where: str, problem: str
) -> None:
    line = edit(corpus / name, old, new)
    message = fault(corpus)
    assert message.startswith(f"{corpus / name}, line {line}"), message
    if where:
        assert f"field {where}:" in message, message
    assert problem in message and "Fix:" in message, message


def test_bad_bytes_duplicate_keys_and_unreadable_files(corpus: Path) -> None:
    notes = corpus / "editorial_notes.yaml"
    text = notes.read_bytes()
    notes.write_bytes(text.replace(b"Edition conflict", b"Edition conflict \xff"))
    line = text[: text.index(b"Edition conflict")].count(b"\n") + 1
    assert f"line {line}: is not UTF-8 (byte 0xFF)" in fault(corpus)
    notes.write_bytes(text)

    meta = corpus / "metadata.yaml"
    line = edit(meta, "    edition_rank: 1\n", "    edition_rank: 1\n    edition_rank: 3\n")
    assert f"line {line}, field edition_rank: this key appears twice" in fault(corpus)
    meta.unlink()
    meta.mkdir()  # unreadable as a file, even for root
    assert "metadata.yaml: cannot be read (is a directory)" in fault(corpus)


def test_the_shipped_files_pass_and_absent_files_are_fine(tmp_path: Path) -> None:
    config = validate_corpus_config(CORPUS)
    assert len(config.metadata.articles) == 2 and config.notes.notes and config.faq
    (tmp_path / "a.txt").write_text("Tendon loading helps runners with hamstring pain.\n")
    assert [d.source for d in load_corpus(tmp_path).docs] == [f"{tmp_path.name}/a.txt"]


def test_a_note_citing_a_removed_article_is_a_warning(corpus: Path) -> None:
    (corpus / "is-it-ok-to-run-with-hamstring-pain.txt").unlink()
    warnings = load_corpus(corpus).warnings
    assert any("notes[0].supersedes.source" in w and "cannot cite it" in w for w in warnings)


def test_a_typo_stops_ingest_before_the_index_is_touched(tmp_path: Path, corpus: Path) -> None:
    settings = make_settings(tmp_path, corpus_dir=corpus)
    first = ingest(settings, FakeEmbedder())
    edit(corpus / "editorial_notes.yaml", "    note: >-", "    notes: >-")
    edit(corpus / "understanding-pht-with-running.txt", "hamstring", "HAMSTRING", count=-1)
    embedder = FakeEmbedder()
    with pytest.raises(CorpusError, match=r"editorial_notes\.yaml, line \d+, field notes\[0\]\.notes"):
        ingest(settings, embedder)
    assert embedder.calls == []
    store = IndexStore(make_client(settings), settings.collection_prefix)
    assert store.active_build() == first.collection
    assert not any("HAMSTRING" in d for d in store.read("chunks", embeddings=False).documents)


def _mutations(data: dict, key: str) -> list[dict]:
    """Copies of ``data`` with one field of the first two items dropped, renamed, or given a
    value of the wrong shape (a list, a mapping, a number, null, an empty string)."""
    out = []
    for i, field in itertools.product(range(2), sorted({k for item in data[key][:2] for k in item})):
        for change in ("drop", "rename", [1], {"a": 1}, 7, None, ""):
            copy = yaml.safe_load(yaml.safe_dump(data))
            item = copy[key][i]
            if field not in item:
                continue
            if change == "drop":
                del item[field]
            elif change == "rename":
                item[field + "s"] = item.pop(field)
            else:
                item[field] = change
            out.append(copy)
    return out


@pytest.mark.parametrize(("name", "key", "parse", "error"), [
    ("editorial_notes.yaml", "notes", parse_notes, CorpusError),
    ("faq.yaml", "questions", parse_faq, ConfigError),
])
def test_whatever_breaks_the_assistant_later_is_caught_at_ingest(
    corpus: Path, name: str, key: str, parse: Callable[[object], object],
    error: type[Exception],
) -> None:
    """The assistant's own readers (notes for `pht ask`, the FAQ for the app) reject a
    mutated file only if ingest's check rejects it too."""
    data = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    mutations = _mutations(data, key)
    assert len(mutations) > 30
    broke_later = 0
    for mutated in mutations:
        (corpus / name).write_text(yaml.safe_dump(mutated), encoding="utf-8")
        try:
            parse(mutated)
        except error:
            broke_later += 1
            with pytest.raises(CorpusError):
                validate_corpus_config(corpus)
    assert broke_later > 5
