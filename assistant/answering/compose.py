"""Composing an answer's parts from retrieved passages: quotes, citations and notices.

``Composer`` is made for one question over one index build (so a reload in the middle
of a question cannot mix two builds). It picks and quotes the extractive answer's
sentences, names promotions for what they are, cites the article's own red-flag list,
and turns editorial notes into notices that cite the superseding passage. ``Draft``
is the answer being assembled. It decides nothing about gates, scope or the LLM:
``assistant.service`` does, and calls these steps in order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from assistant.answering.extractive import (
    STATES,
    Candidate,
    Weights,
    compose_answer,
    grounded,
    leans_on_unnamed,
    points_forward,
    relevance,
    select,
    states,
)
from assistant.answering.informative import FillerFilter
from assistant.answering.lexical import LexicalIndex, terms, words
from assistant.answering.notes import (
    EditorialNote,
    edition_conflicts,
    names_older_article,
    superseded,
    touched,
)
from assistant.answering.retrieval import Retriever
from assistant.answering.verdict import verdict
from assistant.gates.intents import product_words
from assistant.gates.message import ask_kind
from assistant.models import Citation, Passage, QuoteSpan
from core.settings import Settings
from core.text import normalize


@dataclass
class Draft:
    """An answer being assembled (mutable), turned into an ``Answer`` at the end."""

    status: str = "answered"
    parts: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Passage] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    # (source, sentence): superseded older-edition advice left unquoted; its note is shown
    withheld: list[tuple[str, str]] = field(default_factory=list)
    backend: str = "extractive"
    prompt: dict[str, str] = field(default_factory=dict)


def merge(a: Sequence[str], b: Sequence[str]) -> list[str]:
    """``a`` then ``b``, without empty strings or repeats, in order.

    >>> merge(["x", "y"], ["y", "", "z"])
    ['x', 'y', 'z']
    """
    out: list[str] = []
    for n in [*a, *b]:
        if n and n not in out:
            out.append(n)
    return out


@dataclass
class Composer:
    """The composition steps for one question over one index build."""

    retriever: Retriever
    settings: Settings
    texts: dict[str, Any]
    notes: Sequence[EditorialNote]
    filler: FillerFilter | None = None  # drops sentences that inform nobody

    def retrieve_asks(
        self, asks: Sequence[tuple[str, np.ndarray]]
    ) -> tuple[list[Passage], list[dict[str, int]]]:
        """Passages for several asks at once: each ask's best passages in turn, no repeats;
        and, per ask, the rank each passage had for that ask (what its sentences are scored
        with for that ask: the merged order would favour the first ask's passages)."""
        self.retriever.prefetch([v for _q, v in asks], sentences=True)
        return self.merge([self.retrieve(q, v) for q, v in asks])

    def merge(
        self, lists: Sequence[Sequence[Passage]]
    ) -> tuple[list[Passage], list[dict[str, int]]]:
        """``retrieve_asks`` over passage lists already retrieved, one per ask."""
        out: list[Passage] = []
        for rank in range(self.settings.top_k):
            for ps in lists:
                if rank < len(ps) and all(p.id != ps[rank].id for p in out):
                    out.append(ps[rank])
        ranks = [{p.id: i for i, p in enumerate(ps)} for ps in lists]
        return out[: self.settings.top_k + len(lists) - 1], ranks

    def retrieve(self, query: str, vec: np.ndarray | None = None) -> list[Passage]:
        """Hybrid search, then editorial notes: a passage that supersedes older advice on a
        topic the question touches goes first (the newer edition's word on a conflict)."""
        k = self.settings.top_k
        passages = self.retriever.search(query, k=k, vector=vec)
        for note in reversed(touched(self.notes, query)):
            hit = self._anchor_span(note.superseded_by.source, note.superseded_by.anchor)
            if hit is None:
                continue
            first = hit[0]
            rest = [p for p in passages if p.id != first.id and p.dup_group != first.dup_group]
            passages = [replace(first, score=passages[0].score if passages else 0.0), *rest]
        return passages[:k]

    def red_flag_info(self, flag: Any, draft: Draft) -> None:
        """After the escalation, the article's own list of red flags for not running, cited.
        Nothing else: general exercise advice has no place next to an escalation."""
        if flag is None:
            return
        passage = self.red_flag_list(draft)
        if passage is not None:
            draft.contexts = [passage]

    def red_flag_list(self, draft: Draft) -> Passage | None:
        """The article's own list of red flags for not running, said plainly and cited (what
        an escalation ends with, and what opens the answer to "what are the red flags?"); the
        passage it cites, or None when the corpus lacks it."""
        a = self.texts["red_flag_anchor"]
        hit = self._anchor_span(str(a["source"]), str(a["anchor"]))
        if hit is None:
            return None
        passage, quote = hit
        marker = len(draft.citations) + 1
        draft.citations.append(
            Citation(marker, passage.source, passage.title, passage.edition, quote.text,
                     quote.start, quote.end, section=passage.section)
        )
        draft.parts.append(self.texts["red_flag_list"].format(marker=marker))
        return passage

    def extractive(
        self, query: str, vec: np.ndarray, passages: Sequence[Passage], draft: Draft,
        intents: frozenset[str], asks: Sequence[tuple[str, np.ndarray]] = (),
        ranks: Sequence[dict[str, int]] = (), yes_no: str = "",
    ) -> None:
        """Choose and quote the sentences that answer; with several ``asks``, each ask's best
        sentence opens the answer and a sentence scores by the ask it answers best (ranked by
        its passage's rank for that ask, ``ranks`` from ``retrieve_asks``). ``yes_no`` is the
        message's one ask as written: when it is a yes/no question that the quoted sentences
        decide (``assistant.answering.verdict``), a short answer citing the deciding sentence
        goes first."""
        pinned = self.superseding_ids(query)
        if intents & {"diagnosis", "evaluation"}:  # the articles' advice to get evaluated opens
            hit = self._anchor_span(*self._evaluation_anchor())
            if hit is not None:
                pinned.add(hit[1].id)
                # Contexts are in the order the answer uses them: the pinned passage first.
                passages = [hit[0], *(p for p in passages if p.id != hit[0].id)]
                draft.contexts = list(passages)
        # the older edition's superseded advice is not quoted (see _withhold)
        stale = self.superseded_spans(passages, query)
        pool = self.candidates(passages)
        # a sentence the draft already cites (the red-flag list that opens it) is not quoted again
        cited = {(c.source, c.start) for c in draft.citations}
        cands = [c for c in pool if c.span.id not in stale
                 and (c.passage.source, c.span.start) not in cited]
        asked = list(asks) or [(query, vec)]
        cols = [  # each ask's scores, its passages ranked as it retrieved them
            relevance(cands, v, self.retriever.lexical.query_terms(q),
                      ranks=ranks[n] if n < len(ranks) else None)
            for n, (q, v) in enumerate(asked)
        ]
        lexical, w = self.retriever.lexical, Weights()
        asks_for = [set(lexical.own_terms(q)) - lexical.topic - ASK_WORDS for q, _v in asked]
        # a sentence that leans on something its answer would not show ("... 3/10 when
        # performing these") answers an ask only about that: the exercises' pain limit is not
        # one for running
        loose = [i for i, c in enumerate(cands) if leans_on_unnamed(c.passage, c.order)]
        for wanted, col in zip(asks_for, cols, strict=True):
            for i in loose:
                if not _names_referent(wanted, cands[i], cands, lexical):
                    col[i] *= w.unnamed_referent
        scores = cols[0]
        if len(cols) > 1 and cands:
            # several questions in one message: each ask's best sentence opens the answer,
            # and a sentence scores by the ask it answers best
            scores = [max(col) for col in zip(*cols, strict=True)]
            for col in cols:
                pinned.add(cands[max(range(len(col)), key=col.__getitem__)].span.id)
        # an ask for an amount, a duration or a cause opens with its best sentence stating one,
        # and with a grounded one unless the ask names what it leans on (above)
        for (q, _v), wanted, col in zip(asked, asks_for, cols, strict=True):
            kind = ask_kind(q)
            if kind not in STATES or not cands:
                continue
            fits = [i for i, c in enumerate(cands) if states(kind, c.span.text)
                    and (grounded(cands, i) or _names_referent(wanted, c, cands, lexical))
                    and col[i] >= max(col) * w.states_relative]
            if fits:
                pinned.add(cands[max(fits, key=col.__getitem__)].span.id)
        picked = select(
            cands, scores, max_words=self.settings.answer_max_words, is_list="list" in intents,
            pinned=pinned,
        )
        if not picked:
            draft.parts.append(self.texts["nothing_found"])
            return
        # the weakest sentence quoted for its score (a pinned one may be weaker)
        at = {id(c): i for i, c in enumerate(cands)}
        chosen = [scores[at[id(c)]] for c in picked if c.span.id not in pinned]
        floor = min(chosen) if chosen else max(scores[at[id(c)]] for c in picked)
        self._withhold([c for c in pool if c.span.id in stale], stale, asked, ranks, floor, draft)
        text, cites = compose_answer(
            picked, lead=self.texts["lead"], first_marker=len(draft.citations) + 1
        )
        short = verdict(yes_no, [(c.marker, c.quote) for c in cites if c.kind != "heading"])
        if short is not None:
            draft.parts.append(self.texts["short_answer"][short.answer].format(marker=short.marker))
        draft.parts.append(text)
        draft.citations.extend(cites)

    def superseding_ids(self, query: str) -> set[str]:
        """Sentences that must open the answer: the newer word on a conflict the query touches."""
        ids = set()
        for note in touched(self.notes, query):
            hit = self._anchor_span(note.superseded_by.source, note.superseded_by.anchor)
            if hit is not None:
                ids.add(hit[1].id)
        return ids

    def _withhold(
        self, others: Sequence[Candidate], stale: dict[str, tuple[str, str]],
        asked: Sequence[tuple[str, np.ndarray]], ranks: Sequence[dict[str, int]], floor: float,
        draft: Draft,
    ) -> None:
        """Record in ``draft.withheld`` the superseded advice (``others``, candidates left out)
        that would have been quoted: it scores, for one of the ``asked``, at least as well as
        the weakest sentence quoted for its score (``floor``); its edition note is then shown.
        Superseded advice the question does not reach is left alone, and so is its note."""
        if not others:
            return
        lexical = self.retriever.lexical
        reach = [max(col) for col in zip(*(
            relevance(others, v, lexical.query_terms(q), ranks=ranks[n] if n < len(ranks) else None)
            for n, (q, v) in enumerate(asked)), strict=True)]
        draft.withheld.extend(stale[c.span.id] for c, r in zip(others, reach, strict=True) if r >= floor)

    def superseded_spans(self, passages: Sequence[Passage], query: str) -> dict[str, tuple[str, str]]:
        """The older edition's advice that a newer one supersedes, in ``passages``: span id ->
        (source, sentence). A sentence affirming a topic of an edition conflict note
        ("Foam rolling is a great self treatment technique"), and every sentence of a section
        headed by such advice ("Foam Roll the Hamstrings"). None when ``query`` asks what the
        older article says."""
        stale = [] if names_older_article(query) else edition_conflicts(self.notes)
        out: dict[str, tuple[str, str]] = {}
        for p in passages:
            notes = [n for n in stale if n.supersedes is not None and n.supersedes.source == p.source]
            if not notes:
                continue
            section = p.heading is not None and bool(superseded(p.heading.text, notes))
            for span in p.sentences:
                if span.kind == "content" and (section or superseded(span.text, notes)):
                    out[span.id] = (p.source, span.text)
        return out

    def candidates(self, passages: Sequence[Passage]) -> list[Candidate]:
        """Content sentences of the passages, with their precomputed embeddings, less the
        sentences the filler scorer says inform nobody (lead-ins, anecdotes, media, plugs) and
        the lead-ins that only announce a sentence to come (it stands as a candidate itself)."""
        table = self.retriever.sentences
        out = []
        for rank, p in enumerate(passages):
            for order, span in enumerate(p.sentences):
                if span.kind != "content" or points_forward(span.text):
                    continue
                out.append(
                    Candidate(span, p, rank, order, table.vector(span.id),
                              str(table.meta[span.id]["dup_key"]))
                )
        if self.filler is not None and out:
            drop = self.filler.filler([c.span.id for c in out], [c.span.text for c in out])
            out = [c for c in out if c.span.id not in drop]
        return out

    def promotion_block(self, query: str) -> Passage | None:
        """The promotional block the question is about: the closest one naming the product the
        question names (HEAL), or None when the question names none or a product the articles
        do not promote ("How much collagen?", "my iron supplement", "20% off my new shoes")."""
        named = product_words(query)
        promos = self.retriever.promotions(query, k=PROMOTION_CANDIDATES)
        if not named:  # "Is there a discount code?", "the supplement you mentioned"
            return None if _OTHER_PRODUCT.search(normalize(query, lower=True)) else (
                promos[0] if promos else None)
        return next((p for p in promos if named & set(words(p.text))), None)

    def promotion(self, query: str, draft: Draft, p: Passage | None) -> None:
        """Name the promotional block the question is about (``p``, from ``promotion_block``:
        a sponsorship or a sales pitch) for what it is, citing it with its kind; no advice is
        drawn from it."""
        marker = len(draft.citations) + 1
        if p is None:
            draft.parts.append(self.texts["promotion_absent"])
            return
        qterms = set(self.retriever.lexical.query_terms(query))
        spans = [s for s in p.sentences if s.kind == p.kind]
        if not spans:
            return
        # The first sentence naming the product asked about: where the article introduces it
        # and says who recommends it, not the marketing claims that follow it; without a
        # product name, the sentence that names most of what was asked (not the
        # "Sponsored by:" header).
        named = product_words(query)
        span = next((s for s in spans if named & set(words(s.text))), None) or max(
            spans, key=lambda s: (len(qterms & set(terms(s.text))), len(s.text)))
        draft.citations.append(
            Citation(marker, p.source, p.title, p.edition, span.text, span.start, span.end,
                     kind=p.kind, section=p.section)
        )
        template = "promotion" if p.kind == "sponsorship" else "sales_pitch"
        draft.parts.append(self.texts[template].format(marker=marker))
        draft.contexts = [p, *draft.contexts][: self.settings.top_k]

    def edition_notes(self, query: str, draft: Draft) -> None:
        for note in self.notes_for(query, draft.citations, draft.withheld):
            span = self._anchor_span(note.superseded_by.source, note.superseded_by.anchor)
            if span is None:
                draft.notices.append(note.note)
                continue
            passage, quote = span
            existing = next(
                (c for c in draft.citations if (c.source, c.start) == (passage.source, quote.start)),
                None,
            )
            if existing is None:
                existing = Citation(
                    len(draft.citations) + 1, passage.source, passage.title, passage.edition,
                    quote.text, quote.start, quote.end, section=passage.section,
                )
                draft.citations.append(existing)
                if all(c.id != passage.id for c in draft.contexts):
                    draft.contexts = [*draft.contexts, replace(passage, score=0.0)]
            draft.notices.append(f"{note.note} [{existing.marker}]")

    def notes_for(
        self, query: str, citations: Sequence[Citation], withheld: Sequence[tuple[str, str]] = (),
    ) -> list[EditorialNote]:
        """Notes the question touches, or that a quote touches, or the superseded advice
        left unquoted (``withheld``: (source, sentence))."""
        out = touched(self.notes, query)
        for note in self.notes:
            old = note.supersedes.source if note.supersedes else None
            quotes = [c.quote for c in citations]
            quotes += [text for source, text in withheld if source == old]
            if note not in out and quotes and touched([note], *quotes):
                out.append(note)
        return out

    def _anchor_span(self, source: str, anchor: str) -> tuple[Passage, QuoteSpan] | None:
        return self.retriever.passages.anchor_span(source, anchor)

    def _evaluation_anchor(self) -> tuple[str, str]:
        a = self.texts["evaluation_anchor"]
        return str(a["source"]), str(a["anchor"])


# what an amount/duration ask is, and the verbs of asking ("remind me how many sets...")
ASK_WORDS = frozenset(terms("how much many long often remind tell explain wonder wondering know"))


PROMOTION_CANDIDATES = 64  # promotional blocks ranked for the one naming the product
# a supplement or a discount that names something the articles do not promote: "an iron
# supplement", "vitamin D supplements", "20% off my new shoes"
_OTHER_PRODUCT = re.compile(
    r"\b(?!(?:the|a|an|this|that|these|those|your|my|his|her|their|our|any|some|which|what|"
    r"good|best|new|daily|same|one|other)\b)[a-z]+ supplements?\b|\boff (?:my|our|his|her|"
    r"their|a|an|the|these|those) "
)


def _names_referent(
    asks_for: set[str], c: Candidate, cands: Sequence[Candidate], lexical: LexicalIndex
) -> bool:
    """Whether ``c``, a sentence that leans on something it does not name, answers the ask (it
    may then open the answer and keeps its full score): yes when the ask wants nothing the
    sentence lacks ("How many reps should I start with?"), or when a distinctive word of what
    it wants (in under a quarter of the chunks: not "run" or "pain") is in the sentence's
    section, its heading and the retrieved passages of that article under it (with no section,
    its passage before it): "eccentric" or "nordic" for "... when performing these" in the
    section on eccentric exercises, which lists the Nordic curl. "How much pain is ok while
    running?" names nothing of that section, and a number names nothing at all."""
    wanted = asks_for - set(terms(c.span.text))
    if not wanted:
        return True
    # a number names nothing ("4/10" in the story is no referent for the "4." of a heading);
    # an ask wanting only numbers ("How many reps, 8 or 12?") is answered by a sentence naming
    # a distinctive word of it ("reps")
    words = {w for w in wanted if w.isalpha()}
    if not words:
        return bool(lexical.distinctive({w for w in asks_for if w.isalpha()})
                    & set(terms(c.span.text)))
    if c.passage.section:
        heading = c.passage.heading.text if c.passage.heading is not None else ""
        texts = {o.passage.id: o.passage.text for o in cands
                 if (o.passage.source, o.passage.section) == (c.passage.source, c.passage.section)}
        context = " ".join([heading, *texts.values()])
    else:
        context = c.passage.text[: max(0, c.span.start - c.passage.start)]
    return bool(lexical.distinctive(words) & set(terms(context)))
