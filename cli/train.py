"""``pht train-red-flags``: fit the red-flag gate's learned layer and report it.

Training data: the train split of ``assistant/data/red_flag_sentences.yaml`` (team-written
single sentences, labelled with a flag id or null) plus, as sentences that must not escalate,
every sentence of the calibration narratives labelled "no red flag". The logistic
regression's regularisation and epochs are chosen by cross-validation on those sentences
(``core.learn.choose_by_cv``); the threshold is then set on calibration MESSAGES: the lowest
one at which the layer adds no more than ``--max-false-alarms`` of escalations to messages that
must not escalate (the calibration narratives, the development splits of the shape and
real-question sets, the clinic's FAQ; the unit set ``red_flags.yaml`` has no splits and stays
out, since ``pht eval`` reports it). The held-out splits (sentence test split,
narrative test split) are only reported. Writes ``assistant/data/red_flag_model.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.settings import Settings


def _calibration_messages(settings: Settings) -> tuple[list[str], list[str]]:
    """(must escalate, must not escalate) messages that calibration may see."""
    import yaml

    from assistant.ui.faq import load_faq
    from core.errors import ConfigError
    from evals.dataset import DATASETS
    from evals.realq import load_labelled

    pos: list[str] = []
    neg: list[str] = []
    # red_flags.yaml (the unit set, no splits) stays out: `pht eval` reports it
    narratives = yaml.safe_load((DATASETS / "red_flag_narratives.yaml").read_text(encoding="utf-8"))
    for item in narratives["items"]:
        if item["split"] == "calibration":
            (pos if item["red_flag"] else neg).append(str(item["question"]))
    shared = Path(__file__).resolve().parents[2] / "shared" / "eval"  # beside the clone
    for path in (DATASETS / "shapes.yaml", shared / "real_questions_dev.json"):
        if not path.exists():
            raise ConfigError(f"{path} not found: the threshold is calibrated on it.",
                              "Run from a clone with ../shared/eval beside it.")
        print(f"  calibration messages from {path}")
        for case in load_labelled(path).cases:
            if case.split not in ("dev", "all") or case.history:
                continue
            if case.status == ("red_flag",):
                pos.append(case.q)
            elif "red_flag" not in case.status:  # a case allowed either way calibrates nothing
                neg.append(case.q)
    neg += [f.question for f in load_faq(settings.corpus_dir)]
    return pos, neg


def cmd_train_red_flags(args: argparse.Namespace) -> int:
    import numpy as np
    import yaml

    from assistant.gate_data import DATA_DIR
    from assistant.gates.red_flag_model import (
        MODEL_FILE,
        RedFlagModel,
        centroids,
        save_red_flag_model,
        sentences,
    )
    from assistant.gates.red_flags import check_red_flag
    from core.learn import choose_by_cv, fit
    from evals.dataset import DATASETS
    from ingest.embed import SentenceTransformerEmbedder

    settings = Settings()
    embedder = SentenceTransformerEmbedder(settings.embedding_model, device=settings.embedding_device)
    data = yaml.safe_load((DATA_DIR / "red_flag_sentences.yaml").read_text(encoding="utf-8"))
    by_split = {s: [i for i in data["sentences"] if i["split"] == s] for s in ("train", "test")}
    narratives = yaml.safe_load((DATASETS / "red_flag_narratives.yaml").read_text(encoding="utf-8"))
    quiet = [s for i in narratives["items"] if i["split"] == "calibration" and not i["red_flag"]
             for s in sentences(str(i["question"]))]
    texts = [str(i["text"]) for i in by_split["train"]] + quiet
    y = np.array([i["flag"] is not None for i in by_split["train"]] + [False] * len(quiet))
    x = embedder.embed(texts)
    (l2, epochs, _t), (cv_p, cv_r) = choose_by_cv(x, y, min_precision=0.9)
    w, b = fit(x, list(y), l2=l2, epochs=epochs)
    train = by_split["train"]
    flagged = [(v, str(i["flag"])) for v, i in zip(x[: len(train)], train, strict=True) if i["flag"]]
    names, cents = centroids(np.array([v for v, _f in flagged]), [f for _v, f in flagged])
    model = RedFlagModel(w, b, 1.0, names, cents, embedder.fingerprint())

    def top(msg: str) -> float:
        parts = sentences(msg)
        return float(model.probability(embedder.embed(parts)).max()) if parts else 0.0

    pos, neg = _calibration_messages(settings)
    # only messages the rules let through can get a false alarm from this layer
    neg_p = sorted((top(m) for m in neg if check_red_flag(m) is None), reverse=True)
    allowed = int(args.max_false_alarms * len(neg))
    threshold = max(0.5, (neg_p[allowed] + 1e-4) if allowed < len(neg_p) else 0.5)
    model = RedFlagModel(w, b, round(threshold, 4), names, cents, embedder.fingerprint())
    print(f"Red-flag learned layer: l2 {l2:g}, {epochs} epochs (sentence CV precision {cv_p:.2f}, "
          f"recall {cv_r:.2f}); threshold {model.threshold:.3f} "
          f"(adds at most {allowed} of {len(neg)} calibration messages that must not escalate)")
    test = by_split["test"]
    p_test = model.probability(embedder.embed([str(i["text"]) for i in test]))
    truth = np.array([i["flag"] is not None for i in test])
    rules = np.array([check_red_flag(str(i["text"])) is not None for i in test])
    for name, fired in (("rules", rules), ("rules + layer", rules | (p_test >= model.threshold))):
        print(f"  sentence test split, {name:13s} recall {(fired & truth).sum() / truth.sum():.2f}  "
              f"false alarms {(fired & ~truth).sum() / (~truth).sum():.2f}  (n={len(test)})")
    added = sum(check_red_flag(m) is None and top(m) >= model.threshold for m in pos)
    print(f"  calibration messages that must escalate: {len(pos)}, the layer alone catches {added} "
          "the rules miss")
    out = Path(args.out) if args.out else MODEL_FILE
    print(f"Wrote {save_red_flag_model(model, out)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train-red-flags", help="fit the red-flag gate's learned layer")
    t.add_argument("--max-false-alarms", type=float, default=0.0,
                   help="share of calibration messages that must not escalate the layer may add")
    t.add_argument("--out", help="where to write the model (default: the packaged file)")
    t.set_defaults(func=cmd_train_red_flags)
