"""The assistant: gates -> retrieval -> answerer -> notices, one ``Answer`` per question.

``Assistant`` implements ``AnswerService`` (``ask`` and ``stream``). Order per
question: input validation and red flags (``assistant.gates``) before anything
else; the follow-up rewrite; the scope gate (calibrated, fed by the best dense
similarity); then a promotion reply, or the extractive answer (or the LLM one,
falling back to extractive with a notice on any failure); last the notices:
edition conflicts (citing the newer passage), not-a-diagnosis, disclaimer.
``build_assistant(settings)`` wires the real parts. It does no rendering.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from assistant.errors import ConfigError, LLMError
from assistant.extractive import Candidate, compose_answer, relevance, select
from assistant.gate_data import load_data
from assistant.gates import check_question
from assistant.lexical import terms
from assistant.models import Answer, Citation, Passage, Turn
from assistant.notes import EditorialNote, load_notes, touched
from assistant.retrieval import Retriever
from assistant.scope import ScopeGate, load_calibration
from assistant.settings import Settings
from ingest.embed import Embedder
from ingest.pipeline import fingerprint_of
from ingest.store import IndexStore


@dataclass
class Draft:
    """An answer being assembled (mutable), turned into an ``Answer`` at the end."""

    status: str = "answered"
    parts: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Passage] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    backend: str = "extractive"
    prompt: dict[str, str] = field(default_factory=dict)


class Assistant:
    """Answers questions about PHT from the index, with citations and safety gates."""

    def __init__(
        self, settings: Settings, embedder: Embedder, retriever: Retriever, *,
        notes: Sequence[EditorialNote] = (), scope: ScopeGate | None = None,
        llm: Any | None = None, store: IndexStore | None = None, refresh_every: float = 1.0,
    ):
        self.settings = settings
        self.embedder = embedder
        self.retriever = retriever
        self.store = store
        self._reload = threading.Lock()
        self._checked = time.monotonic()
        self.refresh_every = refresh_every  # seconds between looks for a newer index build
        self.notes = list(notes)
        self.scope = scope
        self.llm = llm
        self.texts = load_data("answer_texts.yaml")
        self.backend_name = "extractive" if llm is None else f"llm:{settings.llm_model}"

    # --- public API ---------------------------------------------------------
    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        final: Answer | None = None
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def refresh(self) -> None:
        """Switch to a newer index build if `pht ingest` wrote one since this one was loaded."""
        if self.store is None:
            return
        now = time.monotonic()
        if now - self._checked < self.refresh_every:
            return
        self._checked = now
        active = self.store.active_build()
        if active == self.retriever.build:
            return
        with self._reload:
            if self.store.active_build() != self.retriever.build:
                self.store.check_compatible(fingerprint_of(self.embedder))
                self.retriever = Retriever(
                    self.store, self.embedder, candidates=self.settings.candidates,
                    rrf_k=self.settings.rrf_k,
                )

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[str | Answer]:
        t0 = time.perf_counter()
        self.refresh()
        timings: dict[str, float] = {}
        gate = check_question(question, history, max_chars=self.settings.max_question_chars)
        if gate.status == "invalid_input":
            yield self._finish(question, Draft("invalid_input", [gate.message]), t0, timings, "")
            return
        query = gate.query or question
        t = time.perf_counter()
        vec = self.retriever.embed_query(self.retriever.lexical.repaired_query(query) or query)
        timings["embed"] = _ms(t)
        draft = Draft()
        draft.notices.extend(gate.notices)
        if gate.status == "red_flag":
            draft.status = "red_flag"
            draft.parts.append(gate.message)
            draft.notices.insert(0, gate.message)
        elif gate.status == "out_of_scope" or (
            not gate.intents & {"promotion", "diagnosis"} and not self._in_scope(query, vec)
        ):
            draft.status = "out_of_scope"
            draft.parts.append(self.scope.reply if self.scope else self.texts["out_of_scope"])
            draft.notices = []
            yield self._finish(question, draft, t0, timings, query)
            return
        t = time.perf_counter()
        passages = self.retrieve(query, vec)
        timings["retrieve"] = _ms(t)
        draft.contexts = passages
        if "promotion" in gate.intents:
            self._promotion(query, draft)
        if draft.status == "red_flag":
            self._red_flag_info(gate.red_flag, draft)
            for part in draft.parts:
                yield part + "\n\n"
        elif self.llm is not None and "promotion" not in gate.intents:
            yield from self._llm_or_fallback(question, history, query, vec, gate, draft)
        elif "promotion" in gate.intents and draft.citations:
            yield draft.parts[0] + "\n\n"  # the product question is answered by the promotion note
        else:
            t = time.perf_counter()
            self._extractive(query, vec, passages, draft, gate.intents)
            timings["compose"] = _ms(t)
            for part in draft.parts:
                yield part + "\n\n"
        self._edition_notes(query, draft)
        yield self._finish(question, draft, t0, timings, query)

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

    # --- steps ----------------------------------------------------------------
    def _in_scope(self, query: str, vec: np.ndarray) -> bool:
        if self.scope is None:
            return True
        return self.scope.decide(query, self.retriever.max_similarity(vec)).in_scope

    def _red_flag_info(self, flag: Any, draft: Draft) -> None:
        """After the escalation, the article's own list of red flags for not running, cited.
        Nothing else: general exercise advice has no place next to an escalation."""
        if flag is None:
            return
        a = self.texts["red_flag_anchor"]
        hit = self._anchor_span(str(a["source"]), str(a["anchor"]))
        if hit is None:
            return
        passage, quote = hit
        marker = len(draft.citations) + 1
        draft.citations.append(
            Citation(marker, passage.source, passage.title, passage.edition, quote.text,
                     quote.start, quote.end, section=passage.section)
        )
        draft.parts.append(self.texts["red_flag_list"].format(marker=marker))
        draft.contexts = [passage]

    def _extractive(
        self, query: str, vec: np.ndarray, passages: Sequence[Passage], draft: Draft,
        intents: frozenset[str],
    ) -> None:
        pinned = self._superseding_ids(query)
        if "diagnosis" in intents:  # the articles' own advice to get evaluated opens the answer
            hit = self._anchor_span(*self._evaluation_anchor())
            if hit is not None:
                pinned.add(hit[1].id)
                # Contexts are in the order the answer uses them: the pinned passage first.
                passages = [hit[0], *(p for p in passages if p.id != hit[0].id)]
                draft.contexts = list(passages)
        cands = self.candidates(passages)
        scores = relevance(cands, vec, self.retriever.lexical.query_terms(query))
        picked = select(
            cands, scores, max_words=self.settings.answer_max_words, is_list="list" in intents,
            pinned=pinned,
        )
        if not picked:
            draft.parts.append(self.texts["nothing_found"])
            return
        lead = self.texts["lead_red_flag"] if draft.status == "red_flag" else self.texts["lead"]
        text, cites = compose_answer(picked, lead=lead, first_marker=len(draft.citations) + 1)
        draft.parts.append(text)
        draft.citations.extend(cites)

    def _superseding_ids(self, query: str) -> set[str]:
        """Sentences that must open the answer: the newer word on a conflict the query touches."""
        ids = set()
        for note in touched(self.notes, query):
            hit = self._anchor_span(note.superseded_by.source, note.superseded_by.anchor)
            if hit is not None:
                ids.add(hit[1].id)
        return ids

    def candidates(self, passages: Sequence[Passage]) -> list[Candidate]:
        """Content sentences of the passages, with their precomputed embeddings."""
        table = self.retriever.sentences
        out = []
        for rank, p in enumerate(passages):
            for order, span in enumerate(p.sentences):
                if span.kind != "content":
                    continue
                out.append(
                    Candidate(span, p, rank, order, table.vector(span.id),
                              str(table.meta[span.id]["dup_key"]))
                )
        return out

    def _promotion(self, query: str, draft: Draft) -> None:
        """Name the promotional block the question is about (a sponsorship or a sales pitch)
        for what it is, citing it with its kind; no advice is drawn from it."""
        promos = self.retriever.promotions(query, k=1)
        marker = len(draft.citations) + 1
        if not promos:
            draft.parts.append(self.texts["promotion_absent"])
            return
        p = promos[0]
        qterms = set(self.retriever.lexical.query_terms(query))
        spans = [s for s in p.sentences if s.kind == p.kind]
        if not spans:
            return
        # The sentence that names what was asked about, not the "Sponsored by:" header.
        span = max(spans, key=lambda s: (len(qterms & set(terms(s.text))), len(s.text)))
        draft.citations.append(
            Citation(marker, p.source, p.title, p.edition, span.text, span.start, span.end,
                     kind=p.kind, section=p.section)
        )
        template = "promotion" if p.kind == "sponsorship" else "sales_pitch"
        draft.parts.append(self.texts[template].format(marker=marker))
        draft.contexts = [p, *draft.contexts][: self.settings.top_k]

    def _edition_notes(self, query: str, draft: Draft) -> None:
        for note in self._notes_for(query, draft.citations):
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

    def _notes_for(self, query: str, citations: Sequence[Citation]) -> list[EditorialNote]:
        """Notes the question touches, or that a quote from a superseded article touches."""
        out = touched(self.notes, query)
        for note in self.notes:
            old = note.supersedes.source if note.supersedes else None
            quotes = [c.quote for c in citations if c.source == old]
            if note not in out and quotes and touched([note], *quotes):
                out.append(note)
        return out

    def _anchor_span(self, source: str, anchor: str) -> tuple[Passage, Any] | None:
        for p in self.retriever.passages.values():
            if p.source != source:
                continue
            at = p.text.find(anchor)
            if at < 0:
                continue
            pos = p.start + at
            for s in p.sentences:
                if s.start <= pos < s.end:
                    return p, s
        return None

    def _evaluation_anchor(self) -> tuple[str, str]:
        a = self.texts["evaluation_anchor"]
        return str(a["source"]), str(a["anchor"])

    def _llm_or_fallback(
        self, question: str, history: Sequence[Turn], query: str, vec: np.ndarray,
        gate: Any, draft: Draft,
    ) -> Iterator[str | Answer]:
        assert self.llm is not None
        conflicts = [n.note for n in touched(self.notes, query)]
        try:
            result: Answer | None = None
            for item in self.llm.stream(
                question, history, self.retrieve, [*draft.notices, *conflicts],
            ):
                if isinstance(item, Answer):
                    result = item
                else:
                    yield item
            if result is None:
                raise LLMError("The language model returned no answer.")
            draft.parts = [result.answer]
            draft.citations = list(result.citations)
            draft.contexts = list(result.contexts) or draft.contexts
            # Conflict notes come back with a citation from _edition_notes; drop the bare copies.
            draft.notices = _merge(draft.notices, [n for n in result.notices if n not in conflicts])
            draft.prompt = dict(result.prompt)
            draft.backend = result.backend
        except LLMError as err:
            draft.notices.append(self.texts["llm_fallback"].format(reason=err.message))
            self._extractive(query, vec, draft.contexts, draft, gate.intents)
            yield "\n\n".join(draft.parts)

    def _finish(
        self, question: str, draft: Draft, t0: float, timings: dict[str, float], query: str
    ) -> Answer:
        notices = list(draft.notices)
        if draft.status in ("answered", "red_flag"):
            notices.append(self.texts["disclaimer"])
        timings["total"] = _ms(t0)
        return Answer(
            question=question, status=draft.status,  # type: ignore[arg-type]
            answer="\n\n".join(p for p in draft.parts if p).strip(),
            citations=draft.citations, contexts=draft.contexts, notices=_merge([], notices),
            backend=draft.backend, prompt=draft.prompt, timings_ms=timings, standalone_question=query,
        )


def _merge(a: Sequence[str], b: Sequence[str]) -> list[str]:
    out: list[str] = []
    for n in [*a, *b]:
        if n and n not in out:
            out.append(n)
    return out


def _ms(t: float) -> float:
    return (time.perf_counter() - t) * 1000.0


def build_assistant(settings: Settings, *, embedder: Embedder | None = None,
                    backend: str | None = None) -> Assistant:
    """Load the model and the index (checking its fingerprint) and wire the parts."""
    from ingest.embed import SentenceTransformerEmbedder
    from ingest.store import make_client

    embedder = embedder or SentenceTransformerEmbedder(
        settings.embedding_model, device=settings.embedding_device,
        batch_size=settings.embedding_batch_size,
    )
    if not settings.corpus_dir.is_dir():
        raise ConfigError(
            f"Corpus folder {settings.corpus_dir} not found (it holds the editorial notes).",
            "Run pht from the project folder, or set PHT_CORPUS_DIR.",
        )
    store = IndexStore(make_client(settings), settings.collection_prefix)
    store.check_compatible(fingerprint_of(embedder))
    retriever = Retriever(store, embedder, candidates=settings.candidates, rrf_k=settings.rrf_k)
    scope = ScopeGate(calibration=load_calibration(), embedder=embedder.fingerprint())
    llm = None
    chosen = backend or settings.backend
    if chosen in ("llm", "auto"):
        from assistant.llm.setup import llm_answerer

        llm = llm_answerer(settings, embedder, required=chosen == "llm")
    return Assistant(settings, embedder, retriever, notes=load_notes(settings.corpus_dir),
                     scope=scope, llm=llm, store=store)

