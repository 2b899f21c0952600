"""Wall time of the full offline eval suite (`pht eval`), model load included. Target <= 60 s.

Builds a throwaway index of the shipped corpus in a temp folder first (not timed), then times
one ``pht eval`` process from start to exit: Python start-up, loading the embedding model and the index, the LangChain
tutorial retriever for the comparison, every case and both gate sets, and writing the four
reports. Prints the seconds, the split from report.json and whether the target is met; exits
1 when it is not. It does not compare with the baseline's verdict (the exit code of
``pht eval`` is printed, not enforced).

Usage: ``.venv/bin/python benchmarks/evals.py``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
TARGET_S = 60.0


def run() -> float:
    from core.settings import Settings
    from ingest.embed import SentenceTransformerEmbedder
    from ingest.pipeline import ingest

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus_dir=ROOT / "corpus", data_dir=Path(tmp), _env_file=None)  # type: ignore[call-arg]
        ingest(settings, SentenceTransformerEmbedder(settings.embedding_model))
        out_dir = Path(tmp) / "eval-out"
        env = {**os.environ, "PHT_DATA_DIR": tmp, "PHT_CORPUS_DIR": str(ROOT / "corpus")}
        command = [
            sys.executable,
            "-c",
            "import sys; from cli.main import main; sys.exit(main())",
            "eval",
            "--out",
            str(out_dir),
            "--quiet",
        ]
        t0 = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if not (out_dir / "report.json").exists():
            print(done.stdout + done.stderr, file=sys.stderr)
            raise SystemExit(2)
        report = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    split = ", ".join(f"{k} {v:.1f}" for k, v in report["run"]["timings_s"].items())
    questions = int(report["metrics"]["cases"]) + sum(s["n"] for s in report["gate_sets"].values())
    verdict = "OK" if seconds <= TARGET_S else "TOO SLOW"
    print(
        f"pht eval: {seconds:.1f} s wall for {questions} questions, process start and model "
        f"load included ({split}); exit code {done.returncode}"
    )
    print(f"target <= {TARGET_S:.0f} s: {verdict}")
    return seconds


if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__).parse_args()
    sys.exit(0 if run() <= TARGET_S else 1)
