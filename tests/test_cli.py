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
