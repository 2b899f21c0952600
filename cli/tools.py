"""Maintenance commands: ``pht calibrate-scope``, ``pht feedback export`` and ``pht serve``.

``calibrate-scope`` computes the scope gate's features for the labelled questions of
``evals/datasets/scope.yaml`` with the real index, picks the threshold on the
calibration split, reports precision/recall on both splits and writes
``assistant/data/scope_calibration.yaml``. ``feedback export --jsonl`` turns the web
app's feedback into candidate eval cases (flagged for review). ``serve`` starts the app.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.settings import Settings


def cmd_calibrate_scope(args: argparse.Namespace) -> int:
    import numpy as np

    from assistant.gates.scope import ScopeFeatures, calibrate, evaluate, save_calibration
    from assistant.gates.scope_model import ScopeModel, save_scope_model
    from assistant.service import build_assistant
    from assistant.ui.faq import load_faq
    from core.learn import choose_by_cv, fit
    from evals.dataset import DATASETS, ScopeItem, load_scope

    settings = Settings()
    service = build_assistant(settings, backend="extractive")
    gate = service.scope
    assert gate is not None
    paths = [Path(p) for p in args.dataset] if args.dataset else [
        DATASETS / "scope.yaml", DATASETS / "scope_narratives.yaml",
        DATASETS / "scope_training.yaml",  # calibration only: training data, never reported
    ]
    items = [item for path in paths for item in load_scope(path)]
    if not args.dataset:  # the clinic's own FAQ questions are in scope by definition
        items += [ScopeItem(question=f.question, in_scope=True, split="calibration")
                  for f in load_faq(settings.corpus_dir)]

    rows: dict[str, list[tuple[ScopeFeatures, np.ndarray, bool]]] = {"calibration": [], "test": []}
    for item in items:
        message = gate.without_denied_topic(item.question)  # as the assistant judges it
        vec = service.retriever.embed_query(message)
        inputs = service.scope_inputs(message, vec, service._asks(message, vec))
        # a message is refused only when every ask is: the rule layer sees its most in-scope ask
        best = max((f for _a, f, _x in inputs), key=gate.weights.score)
        rows[item.split].append((best, inputs[0][2], item.in_scope))

    def features(split: str) -> list[tuple[ScopeFeatures, bool]]:
        return [(f, inside) for f, _x, inside in rows[split]]

    cal = calibrate(features("calibration"), gate.weights,
                    embedder=service.embedder.fingerprint(), lexicon=gate.lexicon)
    test = evaluate(cal, features("test"))
    path = save_calibration(cal, Path(args.out)) if args.out else save_calibration(cal)
    m = cal.metrics
    print(f"Scope gate rule layer (positive = out of scope), rule: {cal.rule}")
    print(f"  threshold            {cal.threshold:.4f}")
    print(f"  calibration split    precision {m.precision:.2f}  recall {m.recall:.2f}  (n={m.n})")
    print(f"  test split           precision {test.precision:.2f}  recall {test.recall:.2f}  (n={test.n})")
    # the learned layer: logistic regression; regularisation, epochs and threshold chosen by
    # 5-fold cross-validation on the calibration split (max recall at precision >= 0.95)
    x = np.array([xv for _f, xv, _i in rows["calibration"]])
    y = np.array([not inside for _f, _x, inside in rows["calibration"]])
    (l2, epochs, threshold), (cv_p, cv_r) = choose_by_cv(x, y, min_precision=0.95)
    w, b = fit(x, list(y), l2=l2, epochs=epochs)
    model = ScopeModel(w, b, threshold, service.embedder.fingerprint())
    print(f"Scope gate learned layer: l2 {l2:g}, {epochs} epochs, threshold {threshold:.3f} "
          f"(5-fold CV on calibration: precision {cv_p:.2f}, recall {cv_r:.2f})")
    # the layer alone on each message's first row (all its asks together); the service also
    # reads each ask on its own before refusing (Assistant._covered), which `pht eval` measures
    for split in ("calibration", "test"):
        out = [(model.out_of_scope(xv), not inside) for _f, xv, inside in rows[split]]
        tp = sum(p and t for p, t in out)
        fp = sum(p and not t for p, t in out)
        fn = sum(t and not p for p, t in out)
        print(f"  {split:12s} split  precision {tp / max(tp + fp, 1):.2f}  "
              f"recall {tp / max(tp + fn, 1):.2f}  (n={len(out)})")
    if not args.out:
        print(f"Wrote {save_scope_model(model)}")
    print(f"Wrote {path}")
    return 0


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from assistant.feedback import FeedbackStore

    settings = Settings()
    if not settings.feedback_db.exists():
        print(f"pht: no feedback yet ({settings.feedback_db} does not exist).", file=sys.stderr)
        return 0
    store = FeedbackStore(settings.feedback_db)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            n = store.export_candidates(fh)
    else:
        n = store.export_candidates(sys.stdout)
    print(f"Exported {n} candidate eval case(s), each flagged needs_review.", file=sys.stderr)
    return 0


def cmd_train_informative(args: argparse.Namespace) -> int:
    """Fit the filler-vs-informative sentence scorer on the labelled sentences' train split,
    pick the threshold that keeps ``--keep`` of the informative train sentences, report both
    splits and write ``assistant/data/informative_model.json``."""
    import json

    import numpy as np
    import yaml

    from assistant.answering.informative import (
        MODEL_FILE,
        InformativeModel,
        features,
        head,
        rates,
    )
    from assistant.gate_data import DATA_DIR
    from core.learn import fit
    from ingest.embed import SentenceTransformerEmbedder

    settings = Settings()
    embedder = SentenceTransformerEmbedder(settings.embedding_model, device=settings.embedding_device)
    items = yaml.safe_load((DATA_DIR / "sentence_kinds.yaml").read_text(encoding="utf-8"))["items"]
    split = {name: [i for i in items if i["split"] == name] for name in ("train", "test")}
    x = {
        k: features(embedder.embed([i["text"] for i in v]), embedder.embed([head(i["text"]) for i in v]))
        for k, v in split.items()
    }
    y = {k: [bool(i["informative"]) for i in v] for k, v in split.items()}
    w, b = fit(x["train"], y["train"])
    model = InformativeModel(w, b, 0.5, embedder.fingerprint())
    p_train = model.probability(x["train"])
    informative = np.sort(p_train[np.asarray(y["train"])])
    cut = informative[int((1 - args.keep) * len(informative))]
    model = InformativeModel(w, b, float(min(0.5, cut)), embedder.fingerprint())
    out = Path(args.out) if args.out else MODEL_FILE
    out.write_text(json.dumps(model.to_json()) + "\n", encoding="utf-8")
    print(f"threshold P(informative) < {model.threshold:.3f} is filler")
    for name in ("train", "test"):
        r = rates(model.probability(x[name]), y[name], model.threshold)
        print(f"  {name:5s} n={int(r['n'])}  filler caught {r['filler_recall']:.2f}  "
              f"informative kept {r['informative_kept']:.2f}")
    print(f"Wrote {out}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import app

    app.main()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("calibrate-scope", help="calibrate the out-of-scope gate on labelled questions")
    c.add_argument(
        "--dataset", nargs="+",
        help="labelled questions (default evals/datasets/scope.yaml and scope_narratives.yaml)",
    )
    c.add_argument("--out", help="where to write the calibration (default: the packaged file)")
    c.set_defaults(func=cmd_calibrate_scope)
    f = sub.add_parser("feedback", help="work with feedback collected by the web app")
    fsub = f.add_subparsers(dest="feedback_command", required=True)
    e = fsub.add_parser("export", help="write feedback as candidate eval cases (JSONL)")
    e.add_argument("--jsonl", action="store_true", help="JSON Lines output (the only format)")
    e.add_argument("--out", help="file to write (default: stdout)")
    e.set_defaults(func=cmd_feedback_export)
    t = sub.add_parser("train-informative", help="fit the filler-vs-informative sentence scorer")
    t.add_argument("--keep", type=float, default=0.97, help="share of informative train sentences kept")
    t.add_argument("--out", help="where to write the model (default: the packaged file)")
    t.set_defaults(func=cmd_train_informative)
    s = sub.add_parser("serve", help="start the web app (same as `python app.py`)")
    s.set_defaults(func=cmd_serve)
