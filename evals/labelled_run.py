"""Ask the regex-labelled sets and the narrative gate sets; their metrics and report section.

Regex-labelled sets (``evals.realq``): the team's own shapes (``evals/datasets/shapes.yaml``)
and, where it lies beside the clone, the real-question development set
(``../shared/eval/real_questions_*.json``; skipped with a note when absent). Narrative gate
sets: ``red_flag_narratives.yaml`` and ``scope_narratives.yaml``, scored per split
(calibration / test, and ``hard`` for the red-flag stories: a second held-out set written to be
hard both ways; neither is used for tuning), and the held-out test split of
the red-flag layer's labelled sentences (``assistant/data/red_flag_sentences.yaml``).

A mixed scope message has a ``covered_part``. When its main ask is not covered (labelled out of
scope), answering the covered part with a notice naming what the articles don't cover counts
as a rejection, like refusing it. When its main ask is covered (labelled in scope), answering
is right and only a refusal is a false positive; whether the answer also names the part left
out is counted apart (``mixed_named``). ``run_labelled`` returns the
report section and extra metrics as (numerator, denominator) pairs, which ``pht eval`` adds to
the metrics its floors (``evals/gates.yaml``) gate on. It does not write files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from assistant.models import AnswerService, Turn
from evals.dataset import DATASETS, DatasetError
from evals.realq import judge, load_labelled, summarise

SHARED_EVAL = Path("..") / "shared" / "eval"
Extra = dict[str, tuple[float, float]]
_NOT_COVERED = re.compile(r"\b(?:don.t|do not|doesn.t|does not) cover\b", re.IGNORECASE)
SENTENCES = Path(__file__).resolve().parent.parent / "assistant" / "data" / "red_flag_sentences.yaml"
_GATE_SETS = (  # name, file, list key, positive item, status that counts as a hit, splits
    ("red_flag", DATASETS / "red_flag_narratives.yaml", "items", lambda i: bool(i["red_flag"]),
     "red_flag", ("calibration", "test", "hard")),
    ("scope", DATASETS / "scope_narratives.yaml", "questions", lambda i: not bool(i["in_scope"]),
     "out_of_scope", ("calibration", "test")),
    # single sentences: the red-flag learned layer trains on the train split; test is held out
    ("red_flag_sentences", SENTENCES, "sentences", lambda i: i["flag"] is not None, "red_flag",
     ("test",)),
)
NARRATIVE_METRICS = tuple(
    f"narrative_{name}_{split}_{m}"
    for name, *_rest, splits in _GATE_SETS
    for split in splits
    for m in ("recall", "precision", "false_alarm_rate",
              "urgent_kept" if name != "scope" else "mixed_named")
)


def _urgent_flags() -> tuple[frozenset[str], str]:
    """The flag ids whose escalation is urgent, and the urgent action's words (the answer of an
    urgent red flag carries them; a see-a-clinician one does not)."""
    from assistant.gate_data import load_data
    from assistant.gates.red_flags import default_rules

    urgent = frozenset(f.id for f in default_rules().flags if f.severity == "urgent")
    action = " ".join(str(load_data("escalation.yaml")["red_flag"]["action"]["urgent"]).split())
    return urgent, action


def default_labelled_paths(shared: Path = SHARED_EVAL) -> tuple[list[Path], list[str]]:
    """The shapes file and the real-question files that exist, and a note for what is absent."""
    paths = [DATASETS / "shapes.yaml"]
    real = sorted(shared.glob("real_questions_*.json")) if shared.is_dir() else []
    notes = [] if real else [f"real-question set skipped: {shared}/real_questions_*.json not found"]
    return paths + real, notes


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")


def run_labelled(
    service: AnswerService,
    paths: Sequence[Path],
    *,
    datasets_dir: Path = DATASETS,
    gate_sets: bool = True,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], Extra]:
    tick = progress or (lambda _name: None)
    section: dict[str, Any] = {"sets": {}, "narrative_gates": {}}
    extra: Extra = {}
    filler = 0
    for path in paths:
        labelled = load_labelled(path)
        verdicts = []
        for case in labelled.cases:
            answer = service.ask(case.q, [Turn(m.role, m.content) for m in case.history])
            verdicts.append(judge(case, answer))
            tick(case.id)
        summary = summarise(verdicts)
        section["sets"][labelled.name] = {
            "path": str(path), **summary, "cases": [v.to_json() for v in verdicts]
        }
        slug = _slug(labelled.name)
        extra[f"{slug}_pass_rate"] = (summary["passed"], summary["n"])
        for split, c in summary["by_split"].items():
            if split != "all":
                extra[f"{slug}_{split}_pass_rate"] = (c["passed"], c["n"])
        filler += summary["with_filler"]
    extra["answers_with_filler"] = (float(filler), 1.0)
    if gate_sets:
        _narratives(service, datasets_dir, section, extra, tick)
    for name in NARRATIVE_METRICS:
        extra.setdefault(name, (0.0, 0.0))  # not asked: the floors say n/a
    return section, extra


def _items(path: Path, key: str) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items = data[key]
        assert isinstance(items, list)
        return items
    except (OSError, yaml.YAMLError, KeyError, TypeError, AssertionError) as exc:
        raise DatasetError(f"{path}: unreadable narrative set ({exc}).") from exc


def _narratives(
    service: AnswerService, datasets_dir: Path, section: dict[str, Any], extra: Extra,
    tick: Callable[[str], None],
) -> None:
    urgent_ids, urgent_action = _urgent_flags()
    for name, path, key, is_positive, status, splits in _GATE_SETS:
        if path.parent == DATASETS:
            path = datasets_dir / path.name
        for split in splits:
            tp = fp = fn = tn = 0
            urgent = urgent_kept = 0  # escalations labelled urgent, and those answered as urgent
            errors: list[dict[str, Any]] = []
            not_urgent: list[str] = []
            mixed_in = 0  # in-scope mixed messages answered
            unnamed: list[str] = []  # ... without naming the part the articles don't cover
            for item in _items(path, key):
                if item.get("split") != split:
                    continue
                positive = is_positive(item)
                text = str(item.get("question", item.get("text", "")))
                answer = service.ask(text)
                got = answer.status
                tick(text[:30])
                hit = got == status
                mixed = name == "scope" and bool(item.get("covered_part"))
                named = mixed and got == "answered" and any(
                    _NOT_COVERED.search(n) for n in answer.notices)
                if mixed and positive and got == "answered":
                    # its main ask is not covered: answering the covered part and naming the
                    # rest is as right as refusing the whole message
                    hit = named
                elif mixed and got == "answered":
                    # its main ask is covered: answering is right (a refusal is the false
                    # positive); the answer should also name the part it leaves out
                    mixed_in += 1
                    if not named:
                        unnamed.append(text)
                tp += hit and positive
                fp += hit and not positive
                fn += positive and not hit
                tn += not positive and not hit
                if hit != positive:
                    errors.append({"question": text, "expected": positive, "got": got})
                elif hit and name != "scope" and item.get("flag") in urgent_ids:
                    urgent += 1
                    kept = urgent_action in " ".join(answer.answer.split())
                    urgent_kept += kept
                    if not kept:  # escalated, but told to book a visit instead of urgent care
                        not_urgent.append(text)
            prefix = f"narrative_{name}_{split}"
            extra[f"{prefix}_recall"] = (tp, tp + fn)
            extra[f"{prefix}_precision"] = (tp, tp + fp)
            extra[f"{prefix}_false_alarm_rate"] = (fp, fp + tn)
            gate = {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "errors": errors}
            if name != "scope":
                extra[f"{prefix}_urgent_kept"] = (urgent_kept, urgent)
                gate.update(urgent=urgent, urgent_kept=urgent_kept, not_urgent=not_urgent)
            else:
                extra[f"{prefix}_mixed_named"] = (mixed_in - len(unnamed), mixed_in)
                gate.update(mixed=mixed_in, mixed_named=mixed_in - len(unnamed),
                            mixed_unnamed=unnamed)
            section["narrative_gates"][f"{name}_{split}"] = gate


def markdown(section: dict[str, Any], notes: Sequence[str]) -> str:
    """The report.md section for these sets."""
    lines = ["", "## Real-language sets", ""]
    lines += [f"_{n}_" for n in notes]
    for name, s in section["sets"].items():
        lines.append(f"### {name}: {s['passed']}/{s['n']} pass, {s['with_filler']} with filler")
        lines.append("")
        lines.append("| shape | passed |")
        lines.append("|---|---|")
        for shape, c in s["by_shape"].items():
            lines.append(f"| {shape} | {c['passed']}/{c['n']} |")
        for split, c in s["by_split"].items():
            lines.append(f"| split {split} | {c['passed']}/{c['n']} |")
        lines.append("")
        for v in s["cases"]:
            if not v["passed"]:
                lines.append(f"- FAIL `{v['id']}` ({v['actual_status']}): {'; '.join(v['why'])[:200]}")
        lines.append("")
    if section["narrative_gates"]:
        lines += ["### Narrative gate sets", "",
                  "| set | tp | fp | fn | tn | urgent escalations answered as urgent "
                  "| in-scope mixed messages naming the part not covered |",
                  "|---|---|---|---|---|---|---|"]
        for name, c in section["narrative_gates"].items():
            kept = f"{c['urgent_kept']}/{c['urgent']}" if "urgent" in c else ""
            named = f"{c['mixed_named']}/{c['mixed']}" if "mixed" in c else ""
            lines.append(
                f"| {name} | {c['tp']} | {c['fp']} | {c['fn']} | {c['tn']} | {kept} | {named} |")
    return "\n".join(lines) + "\n"
