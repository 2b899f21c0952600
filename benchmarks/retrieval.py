"""Retrieval quality: the assistant's retrieved contexts next to the LangChain tutorial retriever.

Prints gold-passage recall@1, recall@4 and MRR on the answerable questions of the eval
dataset (cases with gold passages), for both on the same questions, plus (``--verbose``)
the questions whose gold passage is not first. The assistant's contexts are what its
answers are built from: hybrid search, follow-ups rewritten, editorial notes and promotions
applied. Targets: recall@4 >= 0.95, recall@1 >= 0.80.

Usage: ``.venv/bin/python benchmarks/retrieval.py [--verbose]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def run(verbose: bool = False) -> dict[str, dict[str, float | int]]:
    from assistant.gates.conversation import rewrite_followup
    from assistant.models import Turn
    from assistant.service import build_assistant
    from core.settings import Settings
    from evals.dataset import load_cases
    from evals.retrieval import TutorialRetriever, gold_rank, score_ranks
    from ingest.embed import SentenceTransformerEmbedder
    from ingest.pipeline import ingest

    embedder = SentenceTransformerEmbedder()
    cases = [c for c in load_cases() if c.gold and c.expected_status == "answered"]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus_dir=ROOT / "corpus", data_dir=Path(tmp), _env_file=None)  # type: ignore[call-arg]
        ingest(settings, embedder)
        ours = build_assistant(settings, embedder=embedder, backend="extractive")
        tutorial = TutorialRetriever(ROOT / "corpus", embedder)
        ranks_ours, ranks_tut = [], []
        for case in cases:
            history = [Turn(m.role, m.content) for m in case.history]
            query = rewrite_followup(case.question, history)
            anchors = [g.anchor for g in case.gold]
            r1 = gold_rank(ours.ask(case.question, history).contexts[:4], anchors)
            r2 = gold_rank(tutorial.search(query), anchors)
            ranks_ours.append(r1)
            ranks_tut.append(r2)
            if verbose and r1 != 1:
                print(f"  miss@1 {case.id}: rank {r1} (tutorial {r2}) q={query!r}")
    result = {"hybrid": score_ranks(ranks_ours).as_dict(),
              "tutorial": score_ranks(ranks_tut).as_dict()}
    print(f"{'retriever':<28}{'n':>4}{'recall@1':>10}{'recall@4':>10}{'MRR':>8}")
    for name, label in (("hybrid", "hybrid (this project)"),
                        ("tutorial", "LangChain tutorial top-4")):
        s = result[name]
        print(f"{label:<28}{s['n']:>4}{s['recall@1']:>10.2f}{s['recall@4']:>10.2f}{s['mrr']:>8.3f}")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verbose", action="store_true")
    run(parser.parse_args().verbose)
