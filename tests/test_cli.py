"""The installed `pht` console script, run as users run it: a subprocess, from another folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PHT = Path(sys.executable).parent / "pht"
pytestmark = pytest.mark.skipif(not PHT.exists(), reason="the pht console script is not installed")


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PHT), *args], cwd=cwd, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=300)


def test_help_and_package_data_work_outside_the_repo(tmp_path: Path) -> None:
    done = run(["--help"], tmp_path)
    assert done.returncode == 0 and "ingest" in done.stdout and "eval" in done.stdout
    probe = subprocess.run(
        [sys.executable, "-c", "import prompts, assistant.gate_data as g, ingest.rules as r;"
         "prompts.load_prompt('answer'); g.load_data('synonyms.yaml'); r.load_rules()"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert probe.returncode == 0, probe.stderr


def test_missing_corpus_is_one_clear_line_not_a_traceback(tmp_path: Path) -> None:
    done = run(["ingest", "--json"], tmp_path, {"PHT_DATA_DIR": str(tmp_path / "d")})
    assert done.returncode == 2
    assert "Corpus folder corpus does not exist" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.model
def test_ingest_then_ask_json_from_the_command_line(tmp_path: Path) -> None:
    from tests.conftest import CORPUS

    shutil.copytree(CORPUS, tmp_path / "corpus")
    env = {"PHT_DATA_DIR": str(tmp_path / "state")}
    first = run(["ingest", "--json"], tmp_path, env)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert set(summary) >= {"files", "chunks", "sentences", "embedded", "skipped", "deleted",
                            "seconds", "blocks"}
    assert summary["embedded"] > 0
    again = json.loads(run(["ingest", "--json"], tmp_path, env).stdout)
    assert again["embedded"] == 0
    asked = run(["ask", "Should I stretch my hamstrings before running?", "--json"], tmp_path, env)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["status"] == "answered" and answer["citations"]
    raw = (tmp_path / answer["citations"][0]["source"]).read_text(encoding="utf-8")
    c = answer["citations"][0]
    assert raw[c["start"] : c["end"]] == c["quote"]


def test_a_batch_file_that_cannot_be_opened_is_one_clear_line(tmp_path: Path) -> None:
    done = run(["ask", "--batch", "missing.jsonl"], tmp_path, {"PHT_DATA_DIR": str(tmp_path / "d")})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("pht: cannot read batch file missing.jsonl")


def _drop_file_override() -> None:
    """In the child, before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the
    capability bounding set, so the program runs as root but obeys file permissions."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def obeying_permissions() -> dict[str, object]:
    """Root reads a ``chmod 000`` file anyway; run root's children without that power (Linux
    capabilities), and anyone else's as they are."""
    return {"preexec_fn": _drop_file_override} if os.geteuid() == 0 else {}


@pytest.mark.model
def test_bad_corpus_files_and_a_bad_batch_file_never_stop_the_run(tmp_path: Path) -> None:
    """`pht ingest` past really unreadable files (chmod 000, see ``obeying_permissions``), a
    symlink to /etc/passwd and a loop; then `pht ask --batch` over a file of bad lines; then
    a typo in editorial_notes.yaml stops `pht ingest` with file, line and field."""
    from tests.conftest import CORPUS

    tmp = tmp_path
    corpus, state = tmp / "corpus", tmp / "state"
    shutil.copytree(CORPUS, corpus)
    (corpus / "locked.txt").write_text("Tendon loading for runners.\n", encoding="utf-8")
    (corpus / "private").mkdir()
    (corpus / "private" / "inside.txt").write_text("Hamstring bridges.\n", encoding="utf-8")
    (corpus / "passwd.txt").symlink_to("/etc/passwd")
    (corpus / "loop.txt").symlink_to("loop.txt")
    os.chmod(corpus / "locked.txt", 0)
    os.chmod(corpus / "private", 0)
    env = {**os.environ, "PHT_DATA_DIR": str(state)}

    def pht(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(PHT), *args], cwd=tmp, env=env, capture_output=True,
                              text=True, timeout=600, **obeying_permissions())  # type: ignore[call-overload]

    try:
        done = pht("ingest", "--json")
        assert done.returncode == 0, done.stderr
        warnings = " | ".join(json.loads(done.stdout)["warnings"])
        for fragment in ("Skipped locked.txt: it cannot be read (permission denied)",
                         "Skipped folder private: it cannot be read (permission denied)",
                         "Skipped passwd.txt: it is a symlink to /etc/passwd, outside the corpus",
                         "Skipped loop.txt: it is a symlink loop"):
            assert fragment in warnings, warnings

        batch = tmp / "questions.jsonl"
        good = b'{"id": "ok", "question": "Can I keep running with hamstring pain?"}'
        bad = [b"{not json", b"[" * 100_000, b'{"question": ' + b"1" * 5000 + b"}",
               b'{"question": "caf\xe9?"}', b'{"question": ["a list"]}', b'{"question": "\\ud800"}']
        batch.write_bytes(b"\xef\xbb\xbf" + b"\n".join([good, *bad, good]) + b"\r\n")
        done = pht("ask", "--batch", str(batch))
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        rows = [json.loads(line) for line in done.stdout.splitlines()]
        assert [r["status"] for r in rows] == ["answered", *["invalid_input"] * len(bad), "answered"]
        assert [r["id"] for r in rows] == ["ok", *[f"line-{n}" for n in range(2, 8)], "ok"]

        notes = corpus / "editorial_notes.yaml"
        notes.write_text(notes.read_text(encoding="utf-8").replace("    topics:", "    topic:", 1),
                         encoding="utf-8")
        done = pht("ingest")
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert "corpus/editorial_notes.yaml, line 10, field notes[0].topic: unknown field" in done.stderr
    finally:
        os.chmod(corpus / "private", 0o755)  # so that pytest can clean up its tmp dir
