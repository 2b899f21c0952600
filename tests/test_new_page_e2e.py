"""Adding an article is dropping a file in: a new page, `pht ingest`, a question only it answers.

The page (``tests/data/e2e/``) was written for this test and is in no training set: a
cycling-with-PHT article wrapped in a cookie banner, a newsletter box, a webinar pitch, a
client testimonial, a partner plug with a code, an author box, related posts and a
comment thread whose one comment also talks about saddle height. Runs the installed
console script with the real model, as staff would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CORPUS
from tests.test_block_model import E2E_AUTHOR, E2E_PAGE, E2E_PROMO

PHT = Path(sys.executable).parent / "pht"
pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(not PHT.exists(), reason="the pht console script is not installed"),
]


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PHT), *args], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600)


def test_a_dropped_in_page_answers_and_its_promotions_never_do(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    shutil.copy(E2E_PAGE, corpus / E2E_PAGE.name)
    meta = yaml.safe_load((corpus / "metadata.yaml").read_text(encoding="utf-8"))
    meta["articles"][E2E_PAGE.name] = {
        "title": "Cycling With High Hamstring Pain", "author": E2E_AUTHOR,
        "edition": "2025", "edition_rank": 1,
    }
    (corpus / "metadata.yaml").write_text(yaml.safe_dump(meta), encoding="utf-8")
    env = {"PHT_DATA_DIR": str(tmp_path / "state"), "PHT_CORPUS_DIR": str(corpus)}

    ingested = run(["ingest", "--json"], tmp_path, env)
    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout)["files"] == 3

    asked = run(["ask", "How should I set up my bike saddle with high hamstring tendinopathy?",
                 "--json"], tmp_path, env)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["status"] == "answered", answer["answer"]
    source = f"corpus/{E2E_PAGE.name}"
    cited = [c for c in answer["citations"] if c["source"].endswith(E2E_PAGE.name)]
    assert cited, [c["source"] for c in answer["citations"]]
    raw = E2E_PAGE.read_text(encoding="utf-8")
    promo_spans = [
        (start, start + len(line))
        for line in raw.splitlines() if line.startswith(E2E_PROMO)
        for start in [raw.index(line)]
    ]
    assert len(promo_spans) == len(E2E_PROMO)
    for c in cited:
        assert raw[c["start"] : c["end"]] == c["quote"], source
        assert c["kind"] in ("content", "heading")  # a quoted section heading may lead
        overlapping = [s for s in promo_spans if c["start"] < s[1] and s[0] < c["end"]]
        assert not overlapping, c["quote"]
    assert any("saddle" in c["quote"].lower() for c in cited)
    # nothing promotional from the new page is even among the retrieved contexts' quotes
    contexts = [x for x in answer["contexts"] if x["source"].endswith(E2E_PAGE.name)]
    for x in contexts:
        assert not [s for s in promo_spans if x["start"] < s[1] and s[0] < x["end"]], x["text"]
