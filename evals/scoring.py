"""Score one eval case: claim verdicts, citation checks, gold rank and the pass/fail rule.

Pure: it takes a ``Case``, the ``Answer`` the assistant gave and the raw corpus texts (already
read by the runner) and returns a ``CaseResult``. Claims are judged by ``evals.matcher`` on the
answer text plus the *cited* notices (a notice holding a ``[n]`` marker, e.g. an edition note or
"the articles say ... get evaluated [6]"); uncited notices (the disclaimer, gate messages) are
boilerplate and are not judged, but forbidden patterns are checked on everything shown. A
citation marker followed by a capitalised word ends a sentence (quoted list items). A case
PASSES when: status == expected_status; no vital claim is CONTRADICTED; every vital claim is
SUPPORTED (okay claims are reported, never gating); no forbidden pattern matches; every
citation is verbatim; no citation is promotional. Citation support (reported, not part of the
rule): a SUPPORTED claim is backed when its evidence sentence cites ``[n]`` and a cited quote
overlaps the claim's support anchor (same file and offsets, or one contains the other once
normalised, which accepts the other edition's copy), or the cited quotes on their own SUPPORT
the claim according to the matcher. It does not aggregate (``evals.metrics``),
compare with a baseline (``evals.gates``) or do IO.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from assistant.models import Answer, Citation
from core.text import normalize as plain
from evals.dataset import Case, Claim
from evals.matcher import Label, Similarity, Verdict, find_forbidden, match_claims
from evals.normalize import split_sentences
from evals.retrieval import gold_rank
from ingest.models import BlockKind

_MARK = re.compile(r"\[(\d+)\]")
_LEAD = re.compile(r"^\s*((?:\[\d+\]\s*)+)")
_BREAK = re.compile(r"(\[\d+\])[ \t]+(?=[A-Z\"“‘'])")
SpanKind = Mapping[str, Sequence[tuple[int, int, str]]]  # source -> [(start, end, kind)]


@dataclass(frozen=True)
class CitationCheck:
    """One citation of an answer and what the runner found out about it."""

    marker: int
    source: str
    start: int
    end: int
    quote: str
    kind: str  # as the assistant labelled it
    corpus_kind: str  # kind of the cited span in the ingested corpus ("" when unknown)
    verbatim: bool
    promotional: bool
    why: str = ""  # why it is not verbatim / promotional ("" when fine)


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    verdict: Verdict
    cited: tuple[int, ...] = ()  # markers the evidence sentence cites
    supported_by_citation: bool | None = None  # None unless the claim is SUPPORTED


@dataclass
class CaseResult:
    """Everything the reports show about one case; ``reasons`` is empty when it passed."""

    case: Case
    answer: Answer
    claims: list[ClaimResult] = field(default_factory=list)
    citations: list[CitationCheck] = field(default_factory=list)
    gold_rank: int | None = None
    peer_gold_rank: int | None = None
    forbidden_hits: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def latency_ms(self) -> float:
        return float(self.answer.timings_ms.get("total", 0.0))


def sentence_markers(text: str) -> list[tuple[str, list[int]]]:
    """Sentences (as ``split_sentences`` cuts them) with the citation markers they carry.

    A marker run at the very start of a sentence belongs to the sentence before it (the
    extractive answer writes ``Sentence. [1]``).

    >>> sentence_markers("Load it. [1] Rest is not the answer [2].")
    [('Load it.', [1]), ('[1] Rest is not the answer [2].', [2])]
    """
    out: list[tuple[str, list[int]]] = []
    for s in split_sentences(text):
        lead = _LEAD.match(s)
        if lead and out:
            out[-1][1].extend(int(m) for m in _MARK.findall(lead.group(1)))
        tail = s[lead.end() :] if lead else s
        out.append((s, [int(m) for m in _MARK.findall(tail)]))
    return out


def judged_text(answer: Answer) -> str:
    """The text claims are judged on: the answer plus its cited notices, with a line break
    after a citation marker that is followed by a capitalised word (quoted list items such as
    ``Head straight [1] Slight bend at the hips and NOT the trunk [2]`` are separate claims).

    >>> judged_text(Answer("q", "answered", "Head up [1] Bend the hips [2] but [3] not more."))
    'Head up [1]\\nBend the hips [2] but [3] not more.'
    """
    cited = [n for n in answer.notices if _MARK.search(n)]
    text = "\n\n".join([answer.answer, *cited]).strip()
    return _BREAK.sub(r"\1\n", text)


def shown_text(answer: Answer) -> str:
    """Everything the user sees as prose (forbidden patterns are checked on it)."""
    return "\n\n".join([answer.answer, *answer.notices]).strip()


def overlaps_anchor(
    quote: str,
    q_source: str,
    q_span: tuple[int, int],
    anchor: str,
    a_source: str,
    a_span: tuple[int, int] | None,
) -> bool:
    """Does a cited quote back a claim's support anchor (same span, or same text normalised)?

    >>> overlaps_anchor("Rest won't help.", "b.txt", (0, 16), "Rest won’t help. Load it.", "a.txt", None)
    True
    >>> overlaps_anchor("Buy now.", "a.txt", (50, 58), "Load it.", "a.txt", (0, 8))
    False
    """
    if (
        a_span is not None
        and q_source == a_source
        and q_span[0] < a_span[1]
        and a_span[0] < q_span[1]
    ):
        return True
    q, a = plain(quote, lower=True), plain(anchor, lower=True)
    return bool(q) and bool(a) and (q in a or a in q)


def span_kind(kinds: SpanKind, source: str, start: int) -> str:
    """Kind of the corpus unit (sentence or block) holding offset ``start`` ("" if unknown).

    >>> span_kind({"a.txt": [(0, 10, "content"), (10, 30, "sponsorship")]}, "a.txt", 12)
    'sponsorship'
    """
    for s, e, kind in kinds.get(source, ()):
        if s <= start < e:
            return kind
    return ""


# Kinds an answer may cite when it names them for what they are ("a paid promotion").
LABELLABLE_KINDS = frozenset({"sponsorship", "call_to_action"})


def check_citation(c: Citation, raw: str | None, kinds: SpanKind, labelled: bool) -> CitationCheck:
    """Verbatim (``raw[start:end] == quote``) and promotional checks of one citation.

    A citation is promotional when its kind (the assistant's label, or the corpus kind of
    the span when the assistant says "content") is a promotional kind, unless it is a
    "sponsorship" or "call_to_action" citation, so labelled by the assistant, that the
    answer's sentence calls a promotion or sales pitch (``labelled``).
    """
    whys = []
    if raw is None:
        verbatim, whys = False, [f"source file {c.source} not found"]
    else:
        verbatim = 0 <= c.start <= c.end <= len(raw) and raw[c.start : c.end] == c.quote
        if not verbatim:
            whys.append(f"quote differs from {c.source}[{c.start}:{c.end}]")
    corpus_kind = span_kind(kinds, c.source, c.start)
    effective = c.kind if c.kind != "content" else (corpus_kind or "content")
    promo_kind = effective in BlockKind._value2member_map_ and BlockKind(effective).is_promotional
    labelled_kind = effective == c.kind and c.kind in LABELLABLE_KINDS
    promotional = promo_kind and not (labelled_kind and labelled)
    if promotional:
        whys.append(
            f"cites {effective} text" + ("" if c.kind == effective else " labelled content")
        )
    return CitationCheck(
        c.marker,
        c.source,
        c.start,
        c.end,
        c.quote,
        c.kind,
        corpus_kind,
        verbatim,
        promotional,
        "; ".join(whys),
    )


def _labelled_markers(text: str, label: Sequence[str]) -> set[int]:
    out = set()
    for sentence, markers in sentence_markers(text):
        if any(re.search(p, sentence.lower()) for p in label):
            out.update(markers)
    return out


def score_case(
    case: Case,
    answer: Answer,
    *,
    raws: Mapping[str, str],
    kinds: SpanKind,
    anchor_spans: Mapping[tuple[str, str], tuple[int, int]],
    promotion_label: Sequence[str],
    peer_rank: int | None = None,
    similarity: Similarity | None = None,
) -> CaseResult:
    """Judge one answer against its case (see the module docstring for the pass rule).

    ``raws`` maps a citation source to its raw text; ``anchor_spans`` maps
    ``(case_id, claim_id)`` to the claim's support span in its source.
    """
    text = judged_text(answer)
    verdicts = match_claims(case.claims, text, similarity=similarity, status=answer.status)
    marks = dict(sentence_markers(text))
    labelled = _labelled_markers(shown_text(answer), promotion_label)
    checks = [
        check_citation(c, raws.get(c.source), kinds, c.marker in labelled) for c in answer.citations
    ]
    by_marker = {c.marker: c for c in answer.citations}
    claims = []
    for claim, v in zip(case.claims, verdicts, strict=True):
        cited = tuple(marks.get(v.evidence, ())) if v.label is Label.SUPPORTED else ()
        backed = None
        if v.label is Label.SUPPORTED:
            span = anchor_spans.get((case.id, claim.id))
            quotes = [by_marker[m] for m in cited if m in by_marker]
            backed = any(
                overlaps_anchor(
                    q.quote,
                    q.source,
                    (q.start, q.end),
                    claim.support.anchor,
                    claim.support.source,
                    span,
                )
                for q in quotes
            ) or (
                bool(quotes)
                and match_claims(
                    [claim], "\n".join(q.quote for q in quotes), similarity=similarity
                )[0].label
                is Label.SUPPORTED
            )
        claims.append(ClaimResult(claim, v, cited, backed))
    result = CaseResult(
        case,
        answer,
        claims,
        checks,
        gold_rank=gold_rank(answer.contexts, [g.anchor for g in case.gold]) if case.gold else None,
        peer_gold_rank=peer_rank,
        forbidden_hits=find_forbidden(case.forbidden, shown_text(answer)),
    )
    result.reasons = fail_reasons(result)
    return result


def fail_reasons(r: CaseResult) -> list[str]:
    """Why a case fails, one line per broken rule (empty when it passes)."""
    out = []
    if r.answer.status != r.case.expected_status:
        out.append(f"status {r.answer.status}, expected {r.case.expected_status}")
    for c in r.claims:
        if c.claim.weight != "vital" or c.verdict.label is Label.SUPPORTED:
            continue
        label = c.verdict.label.value
        said = f': "{c.verdict.evidence}"' if c.verdict.evidence else f" ({c.verdict.reason})"
        out.append(f"vital claim {c.claim.id} {label}{said}")
    out += [f"forbidden pattern {p!r} matches" for p in r.forbidden_hits]
    out += [f"citation [{c.marker}] not verbatim: {c.why}" for c in r.citations if not c.verbatim]
    out += [f"citation [{c.marker}] promotional: {c.why}" for c in r.citations if c.promotional]
    return out
