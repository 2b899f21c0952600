"""Regex-labelled question sets: the real-question format (``real_questions_*.json``).

A case lists the statuses a good reply may have, groups of regexes of which at least one per
group must match the reply (answer text plus notices), regexes that must not match, and gold
passages (verbatim corpus text) a good answer cites. ``load_labelled`` reads JSON or YAML
files of that shape (``{"cases": [...]}``; optional ``history``, ``shape`` and ``split``
fields for the team's own cases in ``evals/datasets/shapes.yaml``); ``judge`` decides one
reply; ``summarise`` counts passes per shape and split. The judge is independent of the
assistant: plain regexes and verbatim overlap, plus ``evals.filler`` for filler sentences.
It does not run the assistant (``evals.runner``) nor write reports (``evals.report``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.models import Answer, Status
from evals.dataset import DatasetError, Message
from evals.filler import filler_sentences


class LabelledCase(BaseModel):
    """One regex-labelled question (see the module docstring)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1)
    q: str
    status: tuple[Status, ...] = Field(min_length=1)
    must: tuple[tuple[str, ...], ...] = ()
    must_not: tuple[str, ...] = ()
    gold: tuple[str, ...] = ()
    history: tuple[Message, ...] = ()
    shape: str = "real"
    split: Literal["dev", "test", "all"] = "all"
    note: str = ""

    @field_validator("must_not")
    @classmethod
    def _compile_not(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            _compile(p)
        return v

    @field_validator("must")
    @classmethod
    def _compile_must(cls, v: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for group in v:
            if not group:
                raise ValueError("an empty 'must' group can never match")
            for p in group:
                _compile(p)
        return v


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise ValueError(f"bad regex {pattern!r}: {e}") from None


@dataclass(frozen=True)
class LabelledSet:
    name: str  # file stem, e.g. "real_questions_dev"
    path: Path
    cases: tuple[LabelledCase, ...]


def load_labelled(path: Path) -> LabelledSet:
    """A regex-labelled set from a ``.json`` or ``.yaml`` file; ``DatasetError`` naming the case."""
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found.", "check the path") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as e:
        raise DatasetError(f"{path}: unreadable ({e}).") from None
    raw = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise DatasetError(f"{path}: expected a mapping with a 'cases' list.")
    cases: list[LabelledCase] = []
    for n, item in enumerate(raw):
        try:
            cases.append(LabelledCase.model_validate(item))
        except ValidationError as e:
            name = item.get("id", "?") if isinstance(item, dict) else "?"
            where = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
            raise DatasetError(f"{path}: case {name!r} (#{n + 1}) is invalid: {where}") from None
    ids = [c.id for c in cases]
    if len(ids) != len(set(ids)):
        raise DatasetError(f"{path}: duplicate case ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return LabelledSet(path.stem, path, tuple(cases))


def is_labelled_file(path: Path) -> bool:
    """True for a file in this format (a 'cases' list whose items have 'q' and 'status')."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError):
        return False
    cases = data.get("cases") if isinstance(data, dict) else None
    return isinstance(cases, list) and bool(cases) and all(
        isinstance(c, dict) and "q" in c and "status" in c for c in cases
    )


@dataclass
class Verdict:
    case: LabelledCase
    status: str
    passed: bool
    why: list[str] = field(default_factory=list)
    filler: list[str] = field(default_factory=list)
    answer: str = ""
    quotes: list[str] = field(default_factory=list)
    standalone: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "shape": self.case.shape,
            "split": self.case.split,
            "question": self.case.q,
            "history": [m.model_dump() for m in self.case.history],
            "expected_status": list(self.case.status),
            "actual_status": self.status,
            "standalone_question": self.standalone,
            "passed": self.passed,
            "why": self.why,
            "filler": self.filler,
            "answer": self.answer,
        }


def _cites_gold(answer: Answer, gold: Sequence[str]) -> bool:
    """A citation overlaps a gold passage (either contains the other, or they share 40+ chars)."""
    norm = [_squash(g) for g in gold]
    for c in answer.citations:
        q = _squash(c.quote)
        for g in norm:
            if g in q or q in g or _shared_run(q, g) >= 40:
                return True
    return False


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _shared_run(a: str, b: str, k: int = 40) -> int:
    """k when ``a`` and ``b`` share a run of ``k`` characters, else 0."""
    if len(a) < k or len(b) < k:
        return 0
    grams = {a[i : i + k] for i in range(len(a) - k + 1)}
    return k if any(b[i : i + k] in grams for i in range(len(b) - k + 1)) else 0


def judge(case: LabelledCase, answer: Answer) -> Verdict:
    """Does ``answer`` pass ``case``? Status allowed, every 'must' group matched, no 'must_not'
    match, a gold passage cited (answered replies with gold), and no filler sentence quoted."""
    text = "\n".join([answer.answer, *answer.notices])
    why: list[str] = []
    if answer.status not in case.status:
        why.append(f"status {answer.status} not in {list(case.status)}")
    for group in case.must:
        if not any(_compile(p).search(text) for p in group):
            why.append(f"no match for any of {list(group)[:4]}")
    for p in case.must_not:
        m = _compile(p).search(text)
        if m:
            why.append(f"must_not {p!r} matched {m.group(0)!r}")
    if answer.status == "answered" and case.gold and not _cites_gold(answer, case.gold):
        why.append("no gold passage cited")
    quotes = [c.quote for c in answer.citations]
    filler = filler_sentences(quotes) if answer.status == "answered" else []
    if filler:
        why.append(f"filler quoted: {filler[0][:60]!r}")
    return Verdict(
        case, answer.status, not why, why, filler, answer.answer, quotes,
        answer.standalone_question,
    )


def summarise(verdicts: Iterable[Verdict]) -> dict[str, Any]:
    """Pass counts overall, per shape and per split, and the number of answers with filler."""
    vs = list(verdicts)

    def count(items: list[Verdict]) -> dict[str, int]:
        return {"n": len(items), "passed": sum(v.passed for v in items)}

    shapes = sorted({v.case.shape for v in vs})
    splits = sorted({v.case.split for v in vs})
    return {
        **count(vs),
        "with_filler": sum(bool(v.filler) for v in vs),
        "by_shape": {s: count([v for v in vs if v.case.shape == s]) for s in shapes},
        "by_split": {s: count([v for v in vs if v.case.split == s]) for s in splits},
    }
