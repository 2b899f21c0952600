"""`pht ask --batch` input faults: every bad line is one `invalid_input` object, never an abort.

The fault file is written as raw bytes (invalid UTF-8, a BOM, CRLF line ends, deep nesting,
a 5,000-digit integer, wrong types, unpaired surrogate escapes, an over-long line) and read
the way the CLI reads it (``read_batch_lines``), then answered by a real ``Assistant`` over
an index built with the fake embedder in a tmp dir.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from assistant.gates.validate import BatchItem, InvalidLine, parse_batch_line
from assistant.service import Assistant, build_assistant
from cli.ask import read_batch_lines, run_batch
from ingest.pipeline import ingest
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder

GOOD = json.dumps({"id": "good", "question": "Can I keep running with hamstring pain?"}).encode()

# (raw line, fragment of the invalid_input message)
FAULTS: list[tuple[bytes, str]] = [
    (b"not json", "not valid JSON"),
    (b"[" * 100_000, "nested too deeply"),
    (b'{"id": "deep", "question": "q", "history": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
     "nested too deeply"),
    (b'{"id": "big", "question": ' + b"9" * 5_000 + b"}", "too many digits"),
    (b'{"id": "bigger", "question": "q", "history": [' + b"1" * 100_000 + b"]}",
     "too many digits"),
    (b'{"id": "latin1", "question": "caf\xe9 and hamstrings?"}', "not valid UTF-8 (byte 0xE9"),
    (b'{"id": "cut", "question": "\xe2\x80"}', "not valid UTF-8"),
    (b'{"question": 5}', "'question' must be a string, got a number"),
    (b'{"id": "typed", "question": ["a", "list"]}', "'question' must be a string, got a list"),
    (b'{"question": null}', "'question' must be a string, got null"),
    (b'{"question": "q", "id": ["x"]}', "'id' must be a non-empty string"),
    (b'{"question": "q", "history": {"role": "user"}}', "'history' must be a list"),
    (b'{"question": "q", "history": [["user", "hi"]]}', "history[0] must be an object"),
    (b'{"question": "\\ud800 hamstring"}', "unpaired surrogate"),
    (b'{"question": "q", "id": "\\udfff"}', "'id' must be a non-empty string"),
    (b'{"question": "q", "history": [{"role": "user", "content": "\\ud83d"}]}',
     "unpaired surrogate"),
    (b"\x00\x00\x00", "not valid JSON"),
    (b"   ", "is empty"),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    settings = make_settings(tmp_path_factory.mktemp("batch"))
    embedder = FakeEmbedder()
    ingest(settings, embedder)
    return build_assistant(settings, embedder=embedder, backend="extractive")


def answer_file(service: Assistant, data: bytes, max_line_bytes: int = 1_000_000) -> list[dict]:
    out = io.StringIO()
    run_batch(service, read_batch_lines(io.BytesIO(data), max_line_bytes), out)
    return [json.loads(row) for row in out.getvalue().splitlines()]


@pytest.mark.parametrize(("line", "fragment"), FAULTS, ids=[f[1][:24] for f in FAULTS])
def test_each_bad_line_is_one_invalid_input_and_the_batch_goes_on(
    service: Assistant, line: bytes, fragment: str
) -> None:
    rows = answer_file(service, GOOD + b"\n" + line + b"\n" + GOOD + b"\n")
    assert len(rows) == 3
    assert [r["status"] for r in (rows[0], rows[2])] == ["answered", "answered"]
    bad = rows[1]
    assert bad["status"] == "invalid_input", bad
    assert bad["answer"].startswith("line 2") and fragment in bad["answer"], bad["answer"]
    assert len(bad["answer"]) < 300  # the message never echoes the bad line back


def test_all_faults_in_one_file_keep_order_ids_and_count(service: Assistant) -> None:
    data = b"\xef\xbb\xbf" + GOOD + b"\r\n" + b"\n".join(line for line, _ in FAULTS) + b"\n" + GOOD
    out = io.StringIO()
    bad = run_batch(service, read_batch_lines(io.BytesIO(data), 1_000_000), out)
    rows = [json.loads(r) for r in out.getvalue().splitlines()]
    assert len(rows) == len(FAULTS) + 2 and bad == len(FAULTS)
    assert rows[0]["status"] == rows[-1]["status"] == "answered"  # the BOM line is fine
    assert rows[0]["id"] == rows[-1]["id"] == "good"
    assert all(r["status"] == "invalid_input" for r in rows[1:-1])
    # A bad line keeps its own id when it parsed and had a usable one, else it is named by
    # its number (the ids inside lines that are not JSON at all cannot be trusted).
    expected = [f"line-{n}" for n in range(2, len(FAULTS) + 2)]
    expected[[line for line, _ in FAULTS].index(b'{"id": "typed", "question": ["a", "list"]}')] = "typed"
    assert [r["id"] for r in rows[1:-1]] == expected


def test_an_over_long_line_is_not_read_and_the_next_line_is_answered(service: Assistant) -> None:
    long_line = json.dumps({"id": "long", "question": "x" * 50_000}).encode()
    rows = answer_file(service, long_line + b"\n" + GOOD + b"\n", max_line_bytes=10_000)
    assert [r["status"] for r in rows] == ["invalid_input", "answered"]
    assert "over the 10,000-byte limit" in rows[0]["answer"] and rows[0]["id"] == "line-1"
    assert rows[1]["id"] == "good"
    # The same holds for a last line with no newline.
    rows = answer_file(service, GOOD + b"\n" + long_line, max_line_bytes=10_000)
    assert [r["status"] for r in rows] == ["answered", "invalid_input"]


def test_line_splitting_matches_jsonl() -> None:
    lines = list(read_batch_lines(io.BytesIO(b'a\r\nb\n\nc \xe2\x80\xa8 d\nlast'), 1_000))
    assert lines == [b"a", b"b", b"", "c \u2028 d".encode(), b"last"]
    assert list(read_batch_lines(io.BytesIO(b""), 1_000)) == []


def test_bom_and_bytes_are_accepted_by_the_line_parser() -> None:
    line = '\ufeff{"id": "q", "question": "Is 2/10 pain ok?"}'
    expected = BatchItem("q", "Is 2/10 pain ok?", (), 1)
    assert parse_batch_line(line, 1) == expected
    assert parse_batch_line(line.encode("utf-8"), 1) == expected
    utf16 = parse_batch_line(line.encode("utf-16"), 1)
    assert isinstance(utf16, InvalidLine) and "UTF-16" in utf16.message


def test_a_bad_line_keeps_its_id_only_when_the_id_is_usable() -> None:
    kept = parse_batch_line('{"id": "q7", "question": 3}', 4)
    assert isinstance(kept, InvalidLine) and kept.id == "q7"
    for line in ('{"id": "", "question": 3}', '{"id": 7, "question": 3}',
                 '{"id": "\\ud800", "question": 3}'):
        result = parse_batch_line(line, 4)
        assert isinstance(result, InvalidLine) and result.id is None, line


def test_a_batch_file_that_cannot_be_read_is_one_clear_error(tmp_path: Path) -> None:
    from cli.main import main

    folder = tmp_path / "questions.jsonl"
    folder.mkdir()
    assert main(["ask", "--batch", str(folder)]) == 2
    assert main(["ask", "--batch", str(tmp_path / "missing.jsonl")]) == 2
