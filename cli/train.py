"""``pht train-red-flags``: fit the red-flag gate's learned layer and report it.

Training data: the train split of ``assistant/data/red_flag_sentences.yaml`` and all of
``assistant/data/red_flag_training.yaml`` (team-written single sentences, labelled with a flag
id or null) plus, as sentences that must not escalate, every sentence of the calibration
narratives labelled "no red flag". Features: each sentence's embedding and the rule layer's
partial matches and its closeness to each flag's training sentences and to the quiet ones
(``red_flag_model.features``; a training sentence is not its own neighbour); one logistic
regression per flag
(``core.learn.fit_each``). Their regularisation and epochs are chosen by cross-validation on
those sentences (``core.learn.operating_point`` over each grid point's out-of-fold scores, which
also gives the sentence-level operating point at ``--min-precision``). Thresholds are then set on calibration MESSAGES: ``confirm`` (a
tentative rule hit's sentence) starts at the CV operating point and ``threshold`` (a sentence
alone) at 0.5 or, higher, above all but ``--max-false-sentences`` (default 2%, the issue's
false-alarm target) of the training sentences that must not escalate (rules silent), scored out
of fold; each rises until the layer escalates no more than ``--max-false-alarms`` (default none)
of the messages that must not escalate (the
calibration narratives, the development splits of the shape and real-question sets, the
clinic's FAQ; the unit set ``red_flags.yaml`` has no splits and stays out, since ``pht eval``
reports it). The held-out splits (sentence test split, narrative test and hard splits) are not looked
at here: ``pht eval`` reports them. Writes ``assistant/data/red_flag_model.json`` and its neighbour bank
``red_flag_model.npz``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from core.settings import Settings


def _calibration_messages(
    settings: Settings, shared: Path | None = None
) -> tuple[list[str], list[str]]:
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
    shared = shared or Path(__file__).resolve().parents[2] / "shared" / "eval"  # beside the clone
    for path in (DATASETS / "shapes.yaml", shared / "real_questions_dev.json"):
        if not path.exists():
            raise ConfigError(f"{path} not found: the threshold is calibrated on it.",
                              "Run from a clone with ../shared/eval beside it, or pass --shared-eval.")
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


# (l2, epochs) tried by cross-validation; full-batch descent needs many epochs to fit closely
# (one fit per flag per fold: each point costs about a minute and a half)
GRID = ((1e-4, 8000), (1e-5, 8000))


def _training_sentences() -> tuple[list[str], list[bool], list[str | None]]:
    """(texts, must escalate, flag) of every training sentence: the train split of
    ``red_flag_sentences.yaml``, all of ``red_flag_training.yaml`` and, as sentences that must
    not escalate, every sentence of the calibration narratives labelled "no red flag"."""
    import yaml

    from assistant.gate_data import DATA_DIR
    from assistant.gates.red_flag_model import sentences
    from evals.dataset import DATASETS

    items = [i for i in yaml.safe_load((DATA_DIR / "red_flag_sentences.yaml").read_text(
        encoding="utf-8"))["sentences"] if i["split"] == "train"]
    items += yaml.safe_load((DATA_DIR / "red_flag_training.yaml").read_text(
        encoding="utf-8"))["sentences"]
    narratives = yaml.safe_load((DATASETS / "red_flag_narratives.yaml").read_text(encoding="utf-8"))
    quiet = [s for i in narratives["items"] if i["split"] == "calibration" and not i["red_flag"]
             for s in sentences(str(i["question"]))]
    texts = [str(i["text"]) for i in items] + quiet
    flags = [i["flag"] for i in items] + [None] * len(quiet)
    return texts, [f is not None for f in flags], flags


def cmd_train_red_flags(args: argparse.Namespace) -> int:
    import numpy as np

    from assistant.gates.red_flag_model import (
        MODEL_FILE,
        Neighbours,
        RedFlagModel,
        features,
        save_red_flag_model,
        sentences,
    )
    from assistant.gates.red_flags import check_red_flag, default_rules
    from core.learn import fit_each, operating_point, out_of_fold
    from ingest.embed import SentenceTransformerEmbedder

    settings = Settings()
    embedder = SentenceTransformerEmbedder(settings.embedding_model, device=settings.embedding_device)
    texts, truth, flags = _training_sentences()
    y = np.array(truth)
    classes = [f or "" for f in flags]
    vecs = np.asarray(embedder.embed(texts), float)
    # the neighbour bank as it is stored (half precision), each sentence read without itself
    names = tuple(sorted({c for c in classes if c}))
    bank = Neighbours(vecs.astype(np.float16).astype(float), tuple(classes))
    x = features(texts, vecs, neighbours=bank, names=names, leave_out_self=True)
    # each grid point's out-of-fold scores: they choose the point, and the chosen point's set the
    # escalate-alone floor below
    cv_scores = {(l2, epochs): out_of_fold(x, y, l2=l2, epochs=epochs, classes=classes)
                 for l2, epochs in GRID}
    (l2, epochs, t_cv), (cv_p, cv_r) = operating_point(cv_scores, y,
                                                       min_precision=args.min_precision)
    w, b, fitted = fit_each(x, classes, l2=l2, epochs=epochs)
    assert fitted == names  # the closeness columns are in the same order as the models

    def scores(msg: str, model: RedFlagModel) -> tuple[float, float]:
        """(P of the sentence holding a tentative rule hit or -1, top sentence P) of a message,
        read without its own sentences in the neighbour bank (a calibration narrative's quiet
        sentences train the layer too: each would be its own nearest neighbour)."""
        parts = sentences(msg)
        if not parts:
            return -1.0, 0.0
        keep = ~np.isin(np.asarray(texts, dtype=object), parts)
        unseen = replace(model, neighbours=Neighbours(
            bank.vectors[keep], tuple(np.asarray(bank.labels, dtype=object)[keep])))
        p = unseen.probability(unseen.features(parts, embedder.embed(parts)))
        held = [p[i] for i, t in enumerate(parts) if default_rules().tentative(t)]
        return (max(held) if held else -1.0), float(p.max())

    draft = RedFlagModel(w, b, 1.0, names, embedder.fingerprint(), confirm=1.0, neighbours=bank)
    pos, neg = _calibration_messages(settings, Path(args.shared_eval) if args.shared_eval else None)
    # only messages the rules do not decide can get a false alarm from this layer; both
    # thresholds rise until no more than the allowed share of them escalates
    quiet = [scores(m, draft) for m in neg if check_red_flag(m) is None]
    allowed = int(args.max_false_alarms * len(neg))
    held = sorted((c for c, _t in quiet), reverse=True)
    tops = sorted((t for _c, t in quiet), reverse=True)
    confirm = max(t_cv, held[allowed] + 1e-4 if allowed < len(held) else 0.0)
    # alone, a sentence must also clear all but the allowed share of the training sentences that
    # must not escalate and that the rules leave silent, scored out of fold (the CV's folds)
    free = np.array([check_red_flag(t) is None for t in texts]) & ~y
    oof = cv_scores.get((l2, epochs))
    if oof is None:  # no point reached the precision: the default one was not scored
        oof = out_of_fold(x, y, l2=l2, epochs=epochs, classes=classes)
    quiet_oof = sorted(oof[free], reverse=True)
    n_oof = int(args.max_false_sentences * len(quiet_oof))
    floor = quiet_oof[n_oof] + 1e-4 if n_oof < len(quiet_oof) else 0.5
    threshold = max(0.5, confirm, floor, tops[allowed] + 1e-4 if allowed < len(tops) else 0.5)
    model = RedFlagModel(w, b, round(threshold, 4), names, embedder.fingerprint(),
                         confirm=round(confirm, 4), neighbours=bank)
    print(f"Red-flag learned layer: {len(texts)} training sentences ({int(y.sum())} escalate, "
          f"{len(names)} flags, one model each); "
          f"l2 {l2:g}, {epochs} epochs (sentence CV precision {cv_p:.2f}, recall {cv_r:.2f} at "
          f"{t_cv:.3f}); confirms a tentative rule hit at {model.confirm:.3f}, escalates alone at "
          f"{model.threshold:.3f} (at most {allowed} of {len(neg)} calibration messages that must "
          f"not escalate; out-of-fold floor {floor:.3f}, above all but {n_oof} of "
          f"{len(quiet_oof)} training sentences)")
    caught = sum(check_red_flag(m) is not None or model.detect(sentences(m), embedder.embed(
        sentences(m))) is not None for m in pos if sentences(m))
    print(f"  calibration messages that must escalate: {caught}/{len(pos)} do (rules + layer); "
          "held-out figures: `pht eval`")
    out = Path(args.out) if args.out else MODEL_FILE
    print(f"Wrote {save_red_flag_model(model, out)}")
    return 0


def _share(text: str) -> float:
    """A share in [0, 1) for argparse (a clear message otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train-red-flags", help="fit the red-flag gate's learned layer")
    t.add_argument("--max-false-alarms", type=_share, default=0.0,
                   help="share of calibration messages that must not escalate the layer may add "
                   "(default 0: none)")
    t.add_argument("--max-false-sentences", type=_share, default=0.02,
                   help="share of training sentences that must not escalate (rules silent, scored "
                   "out of fold) that may reach the escalate-alone threshold (default 0.02)")
    t.add_argument("--min-precision", type=float, default=0.9,
                   help="sentence-level precision the cross-validated operating point must keep")
    t.add_argument("--out", help="where to write the model (default: the packaged file)")
    t.add_argument("--shared-eval", help="the shared evaluation folder (default: ../shared/eval "
                   "beside the clone)")
    t.set_defaults(func=cmd_train_red_flags)
