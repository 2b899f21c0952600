"""The four report files of `pht eval` and the optional LLM judge (against a loopback server)."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path
from typing import Any

import pytest

from cli.main import build_parser
from evals.judge import Judge, judge_report, parse_label
from evals.report import SCHEMA_VERSION
from tests import fake_openai_server
from tests.conftest import make_settings
from tests.eval_fakes import HTML_QUESTION, EvalFakeService, write_cases
from tests.fake_openai_server import FakeOpenAIServer

openai_server = fake_openai_server.openai_server  # the fixture


def _run(tmp_path: Path, service: EvalFakeService) -> tuple[int, Path]:
    """`pht eval` on the fake cases; the baseline says every case passed."""
    out = tmp_path / "out"
    baseline = {"cases": {c: "pass" for c in ("stretching-more", "rf-pain-7", "oos-html")}}
    (tmp_path / "baseline.json").write_text(json.dumps(baseline), encoding="utf-8")
    args = build_parser().parse_args(
        [
            "eval",
            "--dataset",
            str(write_cases(tmp_path)),
            "--out",
            str(out),
            "--baseline",
            str(tmp_path / "baseline.json"),
            "--no-gate-sets",
            "--quiet",
        ]
    )
    code = args.func(args, service=service, out=io.StringIO(), settings=make_settings(tmp_path))
    return code, out


@pytest.fixture
def failing_run(tmp_path: Path) -> Path:
    code, out = _run(tmp_path, EvalFakeService(broken="stretch"))
    assert code == 1
    return out


def test_report_json_follows_the_documented_schema(failing_run: Path) -> None:
    report = json.loads((failing_run / "report.json").read_text(encoding="utf-8"))
    assert report["schema_version"] == SCHEMA_VERSION and report["passed"] is False
    run = report["run"]
    assert {
        "git_commit",
        "backend",
        "model",
        "prompts",
        "timings_s",
        "datasets",
        "dataset_hash",
        "started_at",
    } <= set(run)
    assert run["backend"] == "fake-eval" and run["prompts"] == [{"name": "fake", "version": "1"}]
    assert run["datasets"][0]["items"] == 4 and len(run["datasets"][0]["sha256"]) == 64
    case = next(c for c in report["cases"] if c["id"] == "stretching-more")
    assert case["passed"] is False and case["baseline"] == "regression"
    assert case["why"][0].startswith("vital claim no-stretch-fix CONTRADICTED")
    assert case["verdicts"][0]["label"] == "CONTRADICTED"
    assert case["citations"][0]["verbatim"] is True and case["gold_rank"] == 1
    assert case["contexts"][0]["gold"] is True
    assert "NaN" not in (failing_run / "report.json").read_text(encoding="utf-8")


def test_junit_has_one_testcase_per_case_and_names_why(failing_run: Path) -> None:
    root = ET.parse(failing_run / "junit.xml").getroot()
    cases = root.find("testsuite[@name='pht-eval.cases']")
    assert cases is not None and len(cases.findall("testcase")) == 4
    failures = cases.findall("testcase/failure")
    assert len(failures) == 1
    assert failures[0].get("type") == "regression"
    assert failures[0].get("message", "").startswith("stretching-more: vital claim no-stretch-fix")
    gates = root.find("testsuite[@name='pht-eval.gates']")
    assert gates is not None
    failed = [tc.get("name") for tc in gates.findall("testcase") if tc.find("failure") is not None]
    assert "no-regressions" in failed


def test_markdown_summary_lists_gates_and_failing_cases(failing_run: Path) -> None:
    md = (failing_run / "report.md").read_text(encoding="utf-8")
    assert md.startswith("## PHT eval: FAILED")
    assert "| no-regressions | fail |" in md
    assert "| `stretching-more` | regression |" in md


def test_html_is_self_contained_and_escapes_everything(failing_run: Path) -> None:
    page = (failing_run / "report.html").read_text(encoding="utf-8")
    assert escape(HTML_QUESTION, quote=True) in page
    assert "<script>" not in page and "<b>pizza" not in page
    assert "<link" not in page and "src=" not in page and "<style>" in page
    assert "Stretching will fix it." in page and "CONTRADICTED" in page
    assert page.count("<details") == 4


def _report_with(label: str) -> dict[str, Any]:
    verdict = {
        "claim_id": "no-stretch-fix",
        "claim": "Stretching does not fix PHT.",
        "label": label,
        "evidence": "Stretching does not help [1].",
    }
    return {
        "cases": [
            {
                "id": "c1",
                "answer": "Stretching does not help [1].",
                "notices": [],
                "verdicts": [verdict, {**verdict, "claim_id": "x", "label": "ABSTAINED"}],
            },
        ]
    }


def test_judge_reports_disagreements_at_temperature_zero_and_caches(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    settings = make_settings(
        tmp_path, llm_base_url=openai_server.base_url, llm_temperature=0.7, llm_model="judge-model"
    )
    openai_server.reply("CONTRADICTED. The answer says the opposite.")
    got = judge_report(_report_with("SUPPORTED"), Judge(settings))
    assert got["gating"] is False and got["judged"] == 1 and got["agreement"] == 0.0
    assert got["disagreements"][0] == {
        "case": "c1",
        "claim": "no-stretch-fix",
        "matcher": "SUPPORTED",
        "judge": "CONTRADICTED",
        "evidence": "Stretching does not help [1].",
    }
    body = openai_server.chat_requests[0].body
    assert body["temperature"] == 0.0 and body["model"] == "judge-model"
    assert "Stretching does not fix PHT." in json.dumps(body["messages"])
    again = judge_report(_report_with("SUPPORTED"), Judge(settings))
    assert len(openai_server.chat_requests) == 1  # served from the cache
    assert again["cache_hits"] == 1 and again["disagreements"] == got["disagreements"]
    assert len(list((tmp_path / "data" / "judge-cache").glob("*.json"))) == 1


def test_judge_failures_are_counted_never_raised(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    settings = make_settings(tmp_path, llm_base_url=openai_server.base_url, llm_timeout=2.0)
    openai_server.fail(500).fail(500).fail(500)
    got = judge_report(_report_with("SUPPORTED"), Judge(settings), max_errors=1)
    assert got["judged"] == 0 and len(got["errors"]) == 1
    assert "HTTP 500" in got["errors"][0]
    assert not (tmp_path / "data" / "judge-cache").exists()


def test_parse_label_takes_the_first_verdict_word() -> None:
    assert parse_label("absent - it never says so, not SUPPORTED") == "ABSENT"
    assert parse_label("") is None
