"""Optional LLM judge for ``pht eval --judge``: a second opinion on claims, never a gate.

Used only when ``settings.llm_base_url`` is set AND ``--judge`` is given. For every claim the
deterministic matcher judged (ABSTAINED ones are skipped), it asks the chat model, at
temperature 0, with the versioned prompt ``evals/judge.yaml``, whether the answer SUPPORTS,
CONTRADICTS or lacks (ABSENT) the claim, and reports where it disagrees with the matcher.
Replies are cached on disk under ``<data_dir>/judge-cache/<sha256>.json``, keyed by the hash
of the model name and the rendered prompt, so a re-run costs nothing and gives the same
result. LLM failures are counted and, after ``max_errors``, judging stops; nothing the judge
says changes the offline metrics, gates or exit code.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from core.settings import Settings
from evals.metrics import rate
from prompts import Prompt, parse_prompt

PROMPT_FILE = Path(__file__).resolve().parent / "judge.yaml"
LABELS = ("SUPPORTED", "CONTRADICTED", "ABSENT")
_MARK = re.compile(r"\[\d+\]")


def load_judge_prompt(path: Path = PROMPT_FILE) -> Prompt:
    return parse_prompt(yaml.safe_load(path.read_text(encoding="utf-8")), str(path), "judge")


def parse_label(reply: str) -> str | None:
    """The first verdict word in a reply, ``None`` when there is none.

    >>> parse_label("Contradicted. The answer says..."), parse_label("I think it is SUPPORTED")
    ('CONTRADICTED', 'SUPPORTED')
    >>> parse_label("No idea") is None
    True
    """
    found = [
        (m.start(), m.group(0))
        for m in re.finditer(r"[A-Za-z]+", reply)
        if m.group(0).upper() in LABELS
    ]
    return found[0][1].upper() if found else None


def cache_key(model: str, messages: list[tuple[str, str]]) -> str:
    """Hash of the model and the rendered prompt.

    >>> cache_key("m", [("user", "hi")]) == cache_key("m", [("user", "hi")])
    True
    """
    blob = json.dumps({"model": model, "messages": messages}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Judge:
    """Asks the configured chat model for a claim verdict, through the on-disk cache."""

    def __init__(self, settings: Settings, chat: Any | None = None):
        self.settings = settings.model_copy(update={"llm_temperature": 0.0})
        self.prompt = load_judge_prompt()
        self.cache_dir = settings.data_dir / "judge-cache"
        self._chat = chat
        self.calls = 0
        self.hits = 0

    def _model(self) -> Any:
        if self._chat is None:
            from assistant.llm.chat_model import build_chat_model

            self._chat = build_chat_model(self.settings)
        return self._chat

    def label(self, claim: str, answer: str) -> str | None:
        messages = self.prompt.messages(claim=claim, answer=answer)
        path = self.cache_dir / f"{cache_key(self.settings.llm_model, messages)}.json"
        if path.exists():
            self.hits += 1
            return json.loads(path.read_text(encoding="utf-8")).get("label")
        self.calls += 1
        reply = self._model().invoke(messages)
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        found = parse_label(text)
        if found is not None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            record = {
                "label": found,
                "reply": text[:500],
                "model": self.settings.llm_model,
                "prompt": self.prompt.ref,
            }
            path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        return found


def _judged_text(case: dict[str, Any]) -> str:
    cited = [n for n in case["notices"] if _MARK.search(n)]
    return "\n\n".join([case["answer"], *cited]).strip()


def judge_report(report: dict[str, Any], judge: Judge, max_errors: int = 3) -> dict[str, Any]:
    """Judge every matcher verdict of a report; the section ``report["judge"]`` holds."""
    from assistant.llm.chat_model import to_llm_error

    judged = agree = unparsed = 0
    disagreements: list[dict[str, str]] = []
    errors: list[str] = []
    for case in report["cases"]:
        for v in case["verdicts"]:
            if v["label"] == "ABSTAINED" or len(errors) >= max_errors:
                continue
            try:
                got = judge.label(v["claim"], _judged_text(case))
            except Exception as exc:  # any LLM failure: count it, never fail the run
                errors.append(to_llm_error(exc, judge.settings).message)
                continue
            if got is None:
                unparsed += 1
                continue
            judged += 1
            if got == v["label"]:
                agree += 1
            else:
                disagreements.append(
                    {
                        "case": case["id"],
                        "claim": v["claim_id"],
                        "matcher": v["label"],
                        "judge": got,
                        "evidence": v["evidence"],
                    }
                )
    return {
        "gating": False,
        "model": judge.settings.llm_model,
        "prompt": judge.prompt.ref,
        "judged": judged,
        "agreement": round(rate(agree, judged), 4),
        "unparsed": unparsed,
        "llm_calls": judge.calls,
        "cache_hits": judge.hits,
        "errors": errors,
        "disagreements": disagreements,
    }
