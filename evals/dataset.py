"""Load and validate the evaluation datasets (``evals/datasets/*.yaml``) into pydantic models.

``load_cases`` reads case files (``cases*.yaml``: answerable, red-flag, out-of-scope and
invalid questions with their gold passages and claims) and ``load_scope`` the labelled scope
set (``scope.yaml``). Bad data raises ``DatasetError`` naming the file, the case and the
field. ``check_anchors`` verifies that every gold / support anchor is a verbatim substring of
its raw corpus file and returns its character span. The schema itself is documented at the top
of ``evals/datasets/cases.yaml``. This module does not match answers (``evals.matcher``) nor
run the assistant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.models import Status
from core.errors import PHTError
from evals.normalize import canonical_unit

DATASETS = Path(__file__).resolve().parent / "datasets"


class DatasetError(PHTError):
    """An evaluation dataset file is missing, malformed or points at text that does not exist."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Message(_Model):
    role: Literal["user", "assistant"]
    content: str


class Anchor(_Model):
    """A passage of a corpus file: ``anchor`` must occur verbatim in ``source``."""

    source: str = Field(pattern=r"^corpus/[\w.-]+\.txt$")
    anchor: str = Field(min_length=8)


class NumberSpec(_Model):
    """A number the claim states: ``value`` (``value..high`` for op "range") in ``unit``."""

    quantity: str
    op: Literal["=", "<=", "<", ">=", ">", "range"]
    value: float
    high: float | None = None
    unit: str

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, v: str) -> str:
        try:
            canonical_unit(v)
        except KeyError as e:
            raise ValueError(str(e)) from None
        return v

    @model_validator(mode="after")
    def _range(self) -> NumberSpec:
        if (self.op == "range") != (self.high is not None):
            raise ValueError('"high" is required for op "range" and only allowed there')
        if self.high is not None and self.high <= self.value:
            raise ValueError('"high" must be greater than "value"')
        return self

    def canonical(self) -> tuple[float, float, str]:
        """(lo, hi, unit) in canonical units: 'up to 1 year' -> (12, 12, 'months')."""
        unit, factor = canonical_unit(self.unit)
        hi = self.high if self.high is not None else self.value
        return self.value * factor, hi * factor, unit


class Claim(_Model):
    """One checkable statement an answer should make (see the schema notes in cases.yaml)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    text: str = Field(min_length=5)
    weight: Literal["vital", "okay"]
    polarity: Literal["affirm", "negate", "mention"]
    concepts: tuple[tuple[str, ...], ...] = Field(min_length=1)
    numbers: tuple[NumberSpec, ...] = ()
    contradicts: tuple[str, ...] = ()
    support: Anchor
    meta: bool = False

    @field_validator("concepts")
    @classmethod
    def _groups(cls, v: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for group in v:
            if not group or any(not term.strip() for term in group):
                raise ValueError("every concept group needs at least one non-empty term")
        return v

    @field_validator("contradicts")
    @classmethod
    def _regexes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _compiles(v, "regex")


def _compiles(patterns: tuple[str, ...], what: str) -> tuple[str, ...]:
    """``patterns`` unchanged when each is a valid regex, else a ValueError naming it."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as e:
            raise ValueError(f"bad {what} {pattern!r}: {e}") from None
    return patterns


class Case(_Model):
    """One evaluation question with its expected status, gold passages and claims."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    question: str
    history: tuple[Message, ...] = ()
    expected_status: Status
    tags: tuple[str, ...] = Field(min_length=1)
    gold: tuple[Anchor, ...] = ()
    claims: tuple[Claim, ...] = ()
    forbidden: tuple[str, ...] = ()
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        answerable = self.expected_status in ("answered", "red_flag")
        if answerable and not (self.gold and self.claims):
            raise ValueError(f"status {self.expected_status!r} needs gold passages and claims")
        if not answerable and (self.gold or self.claims):
            raise ValueError(f"status {self.expected_status!r} must have no gold and no claims")
        ids = [c.id for c in self.claims]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate claim ids: {sorted(i for i in ids if ids.count(i) > 1)}")
        _compiles(self.forbidden, "forbidden regex")
        return self


class ScopeItem(_Model):
    question: str = Field(min_length=1)
    in_scope: bool
    split: Literal["calibration", "test"]
    shape: str = ""
    note: str = ""
    covered_part: str = ""


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found.", "check the path") from None
    except yaml.YAMLError as e:
        raise DatasetError(f"{path}: not valid YAML: {e}", "fix the YAML syntax") from None


def _where(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(case)'}: {e['msg']}" for e in err.errors()
    )


def load_cases(paths: Path | Iterable[Path] | None = None) -> list[Case]:
    """Cases from the given YAML files or folder (default: ``evals/datasets/cases*.yaml``)."""
    if paths is None:
        paths = DATASETS
    if isinstance(paths, Path):
        paths = sorted(paths.glob("cases*.yaml")) if paths.is_dir() else [paths]
    cases: list[Case] = []
    seen: dict[str, Path] = {}
    for path in paths:
        data = _read_yaml(path)
        raw = data.get("cases") if isinstance(data, dict) else None
        if not isinstance(raw, list):
            raise DatasetError(f"{path}: expected a mapping with a 'cases' list.", "see cases.yaml")
        for n, item in enumerate(raw):
            name = item.get("id", "?") if isinstance(item, dict) else "?"
            try:
                case = Case.model_validate(item)
            except ValidationError as e:
                raise DatasetError(
                    f"{path}: case {name!r} (#{n + 1}) is invalid: {_where(e)}",
                    "fix the case; the schema is at the top of evals/datasets/cases.yaml",
                ) from None
            if case.id in seen:
                raise DatasetError(f"{path}: case id {case.id!r} already used in {seen[case.id]}.")
            seen[case.id] = path
            cases.append(case)
    return cases


def load_scope(path: Path | None = None) -> list[ScopeItem]:
    """The labelled scope set (default ``evals/datasets/scope.yaml``)."""
    path = path or DATASETS / "scope.yaml"
    data = _read_yaml(path)
    raw = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise DatasetError(f"{path}: expected a mapping with a 'questions' list.")
    items = []
    for n, item in enumerate(raw):
        try:
            items.append(ScopeItem.model_validate(item))
        except ValidationError as e:
            raise DatasetError(f"{path}: question #{n + 1} is invalid: {_where(e)}") from None
    return items


@dataclass(frozen=True)
class AnchorSpan:
    """Where an anchor sits: ``raw[start:end] == anchor`` of ``source``; ``where`` names it."""

    case_id: str
    where: str  # "gold[0]" or "claim:<id>"
    source: str
    start: int
    end: int


def _resolve(corpus_root: Path, source: str) -> Path:
    for candidate in (corpus_root / source, corpus_root / Path(source).name):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"corpus file {source!r} not found under {corpus_root}.")


def check_anchors(cases: Sequence[Case], corpus_root: Path) -> list[AnchorSpan]:
    """Span of every anchor in its raw file; raises ``DatasetError`` listing all missing ones.

    ``corpus_root`` is the folder the ``corpus/<file>.txt`` sources are relative to (the
    repository root) or the corpus folder itself.
    """
    raws: dict[str, str] = {}
    spans: list[AnchorSpan] = []
    missing: list[str] = []
    for case in cases:
        refs = [(f"gold[{i}]", a) for i, a in enumerate(case.gold)]
        refs += [(f"claim:{c.id}", c.support) for c in case.claims]
        for where, a in refs:
            if a.source not in raws:
                raws[a.source] = _resolve(corpus_root, a.source).read_text(encoding="utf-8")
            start = raws[a.source].find(a.anchor)
            if start < 0:
                missing.append(f"case {case.id!r} {where}: {a.anchor[:60]!r} not in {a.source}")
            else:
                spans.append(AnchorSpan(case.id, where, a.source, start, start + len(a.anchor)))
    if missing:
        raise DatasetError(
            f"{len(missing)} anchor(s) are not verbatim in the corpus: " + " | ".join(missing),
            "copy the anchor text exactly from the raw file (curly quotes, double spaces)",
        )
    return spans
