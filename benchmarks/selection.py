"""Answer selection on the probe messages: does the answer open with, and quote, the sentences
that answer? Figures printed, nothing asserted.

Reads ``evals/datasets/selection.yaml`` (174 helper-written messages, each with the corpus
sentences a good answer opens with, ``first``, and may also quote, ``also``; see its header),
answers each with the extractive assistant over the index in ``PHT_DATA_DIR`` and prints, per
group of rounds (1-5 were read while tuning; 6-7 measured sessions before their fixes):

- first: the first quoted sentence is one of ``first``;
- anywhere: one of ``first`` is quoted somewhere in the answer;
- reachable: one of ``first`` is among the sentences the answer chose from (the passages
  retrieved for its asks), so the rest of the gap is selection, not retrieval;
- recall / precision: the share of ``first`` + ``also`` quoted, and of the quoted sentences
  that are labelled.

A label matches a quote when one of its fragments (split at "...") is inside the quote, or the
quote is inside the label. An answer that is refused or escalated counts as a miss.

Usage: ``.venv/bin/python benchmarks/selection.py`` (an index built by ``pht ingest``).
"""

from __future__ import annotations

import os
import re
import statistics
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.text import normalize  # noqa: E402

DATASET = ROOT / "evals" / "datasets" / "selection.yaml"
GROUPS = (("rounds 1-5", ("r1", "r2", "r3", "r4", "r5")), ("rounds 6-7", ("r6", "r7")))


def _plain(text: str) -> str:
    """The comparison form of a quote or label: ``core.text.normalize``, lower-cased, without
    leading bullets or final punctuation."""
    return re.sub(r"^[^\w\"']+", "", normalize(text, lower=True)).rstrip(".!?")


def matches(quote: str, label: str) -> bool:
    """True when ``quote`` holds a fragment of ``label`` or lies inside it.

    >>> matches("Hills and Speed will be Last!", "Hills and Speed will be Last! Both increase...")
    True
    >>> matches("Stretch after.", "Load the tendon with strengthening")
    False
    """
    q = _plain(quote)
    parts = [_plain(p) for p in re.split(r"\.\.\.|\u2026", label) if len(p.strip()) > 8]
    return any(p in q or (len(q) > 15 and q in p) for p in parts)


def measure(item: dict[str, Any], answer: Any, chosen_from: list[str]) -> tuple[float, ...]:
    """(first, anywhere, reachable, recall, precision) for one message."""
    first, also = item["first"], item.get("also", [])
    reachable = float(any(matches(t, f) for t in chosen_from for f in first))
    quotes = [c.quote for c in answer.citations if c.kind != "heading"]
    if answer.status != "answered" or not quotes:
        return 0.0, 0.0, reachable, 0.0, 0.0
    labels = first + also
    return (
        float(any(matches(quotes[0], f) for f in first)),
        float(any(matches(q, f) for q in quotes for f in first)),
        reachable,
        sum(any(matches(q, g) for q in quotes) for g in labels) / len(labels),
        sum(any(matches(q, g) for g in labels) for q in quotes) / len(quotes),
    )


def main() -> None:
    import assistant.answering.compose as compose
    from assistant.models import Turn
    from assistant.service import build_assistant
    from core.settings import Settings

    items = yaml.safe_load(DATASET.read_text(encoding="utf-8"))["items"]
    service = build_assistant(Settings(), backend="extractive")
    seen: list[str] = []  # the candidate sentences of the message being answered
    candidates = compose.Composer.candidates

    def recording(self: Any, passages: Any) -> Any:
        out = candidates(self, passages)
        seen.extend(c.span.text for c in out)
        return out

    compose.Composer.candidates = recording  # type: ignore[method-assign]
    rows: dict[str, list[tuple[float, ...]]] = {name: [] for name, _ in GROUPS}
    for item in items:
        seen.clear()
        history = [Turn(role=t["role"], content=t["content"]) for t in item.get("history", [])]
        answer = service.ask(item["q"], history)
        for name, rounds in GROUPS:
            if item["round"] in rounds:
                rows[name].append(measure(item, answer, list(seen)))
    print(f"answer selection on {DATASET.relative_to(ROOT)} (extractive)")
    for name, got in rows.items():
        if not got:
            continue
        cols = [statistics.fmean(c) for c in zip(*got, strict=True)]
        print(f"  {name} (n={len(got)}): first {cols[0]:.3f}  anywhere {cols[1]:.3f}  "
              f"reachable {cols[2]:.3f}  recall {cols[3]:.3f}  precision {cols[4]:.3f}")


if __name__ == "__main__":
    main()
