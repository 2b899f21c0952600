"""The assistant: gates -> retrieval -> answerer -> notices, one ``Answer`` per question.

``Assistant`` implements ``AnswerService`` (``ask`` and ``stream``). Order per
question: input validation and red flags (``assistant.gates.check``) before anything
else; the follow-up rewrite; the scope gate (calibrated, fed by the best dense
similarity); then a promotion reply, or the extractive answer (or the LLM one,
falling back to extractive with a notice on any failure); last the notices:
edition conflicts (citing the newer passage), not-a-diagnosis, disclaimer. The
composition steps themselves live in ``assistant.answering.compose``; a running assistant
follows a newer index build written by ``pht ingest``. ``build_assistant(settings)``
wires the real parts. It does no rendering.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from assistant.answering.compose import Composer, Draft, merge
from assistant.answering.informative import FillerFilter, load_model
from assistant.answering.notes import EditorialNote, load_notes, touched
from assistant.answering.retrieval import Retriever
from assistant.gate_data import load_data
from assistant.gates.check import check_question, notices_for, standalone_query
from assistant.gates.conversation import Entity, default_followup_rules
from assistant.gates.intents import detect_intents, product_words
from assistant.gates.message import ask_kind, has_subject, last_sentence, read_message
from assistant.gates.red_flag_model import load_red_flag_model, sentences
from assistant.gates.red_flags import RedFlag, default_rules
from assistant.gates.scope import ScopeFeatures, ScopeGate, load_calibration
from assistant.gates.scope_model import load_scope_model, scope_vector
from assistant.message_vectors import MessageVectors
from assistant.models import Answer, Passage, Turn
from core.errors import ConfigError, LLMError
from core.settings import Settings
from core.text import normalize
from ingest.embed import Embedder
from ingest.pipeline import fingerprint_of
from ingest.store import IndexStore


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
        if scope is not None:  # an other-domain word the articles themselves use is in domain
            scope.covers = lambda term: self.retriever.lexical.covers(term)
        self.llm = llm
        self.texts = load_data("answer_texts.yaml")
        self.backend_name = "extractive" if llm is None else f"llm:{settings.llm_model}"
        self.scope_model = (load_scope_model(embedder.fingerprint(), dimension=embedder.dimension)
                            if scope is not None else None)
        self.red_flag_model = load_red_flag_model(embedder.fingerprint(), default_rules().flag_ids())
        model = load_model(embedder.fingerprint())
        self.filler = (  # the build's stored vectors, else embedded when first seen
            FillerFilter(model, embedder.embed, lambda ids: self.retriever.filler_vectors(ids))
            if model is not None else None
        )

    # --- public API ---------------------------------------------------------
    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        final: Answer | None = None
        for item in self.stream(question, history):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def _learned_red_flag(self, question: str, vectors: MessageVectors | None = None) -> RedFlag | None:
        """The red-flag gate's learned layer over the message's sentences (None when it is off)."""
        if self.red_flag_model is None:
            return None
        parts = sentences(question)
        vectors = vectors or MessageVectors(self.embedder.embed)
        hit = self.red_flag_model.detect(parts, vectors.get(parts)) if parts else None
        return default_rules().flag(hit.flag, hit.sentence) if hit else None

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
        # one model call per message: the texts a self-contained message needs are embedded
        # together with its sentences when the red-flag layer asks for those, or with the query
        vectors = MessageVectors(self.embedder.embed, self.retriever.remember)
        if len(question) <= self.settings.max_question_chars:
            intents = detect_intents(question)
            # the query check_question will hand on, foreseen so its texts join the one batch
            # (a wrong guess only costs one more embedding call)
            expected = standalone_query(question, history, intents)
            vectors.want(self._query_texts(expected) if expected.strip() else [])
            if "promotion" in intents:  # the promotion search embeds the query as it is
                vectors.want([expected])
        gate = check_question(question, history, max_chars=self.settings.max_question_chars,
                              second_opinion=lambda q: self._learned_red_flag(q, vectors))
        if gate.status == "invalid_input":
            yield self._finish(question, Draft("invalid_input", [gate.message]), t0, timings, "")
            return
        query = gate.query or question
        told = query  # as the reader put it: the body-part rule reads that
        if gate.status is None and self.scope is not None:
            # "Not hamstring related: can I run with a blister?" is judged and answered
            # without the words that set the topic aside (the gates above read them all)
            query = self.scope.without_denied_topic(query)
        t = time.perf_counter()
        vectors.want(self._query_texts(query))  # when it was not foreseen
        vec = vectors.one(self._repaired(query))
        timings["embed"] = _ms(t)
        asks = self._asks(query, vec, vectors)
        compose = self.composer()
        # the promotional block a product message is about, found by its sentences naming the
        # product; it decides whether a message of uncovered asks is about the product
        promoted = _product_text(query) if "promotion" in gate.intents else ""
        block = compose.promotion_block(promoted) if promoted else None
        if (promoted and block is None and gate.status is None
                and not self._asks_about(query, "promotion")):
            # a product the articles do not promote, named in the story only ("someone swears
            # by collagen"): not the question, and no "the articles don't discuss that product"
            # (one they promote, HEAL, is still named for the advertising it is)
            intents = gate.intents - {"promotion"}
            gate = replace(gate, intents=intents, notices=notices_for(intents))
            promoted = ""
        draft = Draft()
        draft.notices.extend(gate.notices)
        if gate.status == "red_flag":
            draft.status = "red_flag"
            draft.parts.append(gate.message)
            draft.notices.insert(0, gate.message)
        quote = True  # whether the articles are quoted for the message's asks
        if gate.status != "red_flag":
            if self.scope is not None and self.scope.elsewhere(told):
                # another body part and nothing of the PHT region ("the outside of my knee
                # hurts at 8k, what is causing it?"): refused, diagnosis asks included
                covered = []
            elif "diagnosis" in gate.intents:
                covered = asks
            elif "promotion" in gate.intents:
                # the product asks are answered by the promotion note; the message's other
                # asks ("...and how long before training?") face the scope gate on their own
                covered = [a for a in asks if "promotion" in detect_intents(a[0])
                           or self._covered_alone(query, a)]
            else:
                covered = self._covered(query, vec, asks, vectors)
            # a product message none of whose asks is covered is about the product only when
            # the articles' promotion names it ("I bought the HEAL supplement. How long before
            # a run should I take it?"); an iron supplement or a 10k's sponsor is not covered
            product = "promotion" in gate.intents and (
                bool(covered) or (bool(product_words(promoted)) and block is not None))
            if gate.status == "out_of_scope" or (not covered and not product):
                draft.status = "out_of_scope"
                draft.parts.append(self.scope.reply if self.scope else self.texts["out_of_scope"])
                draft.notices = []
                yield self._finish(question, draft, t0, timings, query)
                return
            kept = {id(ask) for ask in covered}
            for ask in asks:
                if id(ask) not in kept:  # a mixed message: answer what is covered, say the rest
                    draft.notices.append(self.texts["not_covered"].format(ask=ask[0]))
            for extra in read_message(query).dropped:  # asks past the limit: said, not lost
                draft.notices.append(self.texts["too_many_asks"].format(ask=extra))
            # a product message none of whose asks is covered ("I bought the HEAL supplement.
            # How long before a run should I take it?"): the promotion note alone answers it
            quote = bool(covered)
            asks = covered or asks[:1]
        t = time.perf_counter()
        queries = [(q, v) for _a, q, v in asks]
        main = queries[0]
        if len(queries) > 1:
            passages, ranks = compose.retrieve_asks(queries)
        else:
            passages, ranks = compose.retrieve(*main), []
        # a treatment or exercise named among other words is what is asked about: when the
        # ask's best passages do not mention it, its passages and best sentence come first
        # (in the quoted answer; an escalation, a promotion note or the LLM take no focus)
        plain = draft.status != "red_flag" and self.llm is None and "promotion" not in gate.intents
        focus = self._focus(asks, vectors, passages) if plain else []
        if focus:  # the ask's own passages are already retrieved
            queries = focus + queries
            passages, ranks = compose.merge([compose.retrieve(*focus[0]), passages])
        timings["retrieve"] = _ms(t)
        draft.contexts = passages
        if "promotion" in gate.intents:
            compose.promotion(promoted, draft, block)
        if draft.status == "red_flag":
            compose.red_flag_info(gate.red_flag, draft)
            for part in draft.parts:
                yield part + "\n\n"
        elif self.llm is not None and "promotion" not in gate.intents:
            yield from self._llm_or_fallback(compose, question, history, query, vec, gate, draft)
        elif "promotion" in gate.intents:
            # the product question is answered by the promotion note; the message's other asks
            # ("...and should I take time off?") are answered from the articles after it
            other = [n for n, (a, _q, _v) in enumerate(asks) if "promotion" not in detect_intents(a)]
            if len(other) == len(asks):  # the product is named in the story: an ask pointing
                # back at it ("Should I take it before a run?") is about the product, answered by
                # the note; any other ("What exercises should I do?") is answered from the articles
                back = default_followup_rules().refers_back
                other = [n for n in other if not back(asks[n][0])]
            if other and quote:
                others = [queries[n] for n in other]  # no focus query on this path
                own = [ranks[n] for n in other] if ranks else []
                compose.extractive(*others[0], passages, draft, gate.intents - {"promotion"},
                                   others, own)
            for part in draft.parts:
                yield part + "\n\n"
        else:
            t = time.perf_counter()
            # the message's one ask, as the reader wrote it, may get a short answer (not a
            # follow-up rewritten with the history: "Will they help?" may have lost a word)
            one = asks[0][0] if len(asks) == 1 and normalize(asks[0][0]) in normalize(question) else ""
            # "what are the red flags?" (or, in the same message, "what are they?" right after
            # naming them): the article's list first
            if self._asks_about(query, "red_flags"):
                compose.red_flag_list(draft)
            compose.extractive(*main, passages, draft, gate.intents, queries, ranks, yes_no=one)
            timings["compose"] = _ms(t)
            for part in draft.parts:
                yield part + "\n\n"
        # an escalation's notes come from what it quotes, not from the reader's words ("numb
        # like after a dental injection" is no question about injections)
        compose.edition_notes("" if draft.status == "red_flag" else query, draft)
        yield self._finish(question, draft, t0, timings, query)

    def _repaired(self, query: str) -> str:
        """The text embedded for a retrieval query: its typos repaired."""
        return self.retriever.lexical.repaired_query(query) or query

    def _query_texts(self, query: str) -> list[str]:
        """Every text ``_asks``, ``_focus`` and ``scope_inputs`` embed for ``query``: the repaired
        query, the focus query if any, and for a story or several asks each ask's repaired query
        and the asks together."""
        texts = [self._repaired(query)]
        message = read_message(query)
        split = bool(message.narrative) or len(message.asks) > 1
        queries = message.queries() if split else [a.text for a in message.asks]
        # the focus text is embedded with the rest even when retrieval turns out not to need it
        focus = self.focus_entity([(a.text, q) for a, q in zip(message.asks, queries, strict=True)])
        texts += [self.focus_phrase(focus)] if focus else []
        if split:
            texts += [self._repaired(q) for q in queries]
            if self.scope is not None:
                texts.append(" ".join(a.text for a in message.asks))
        return texts

    @staticmethod
    def _asks_about(query: str, intent: str) -> bool:
        """Whether one of the message's asks is about ``intent``'s subject: it names it, or it
        points back at it right after the sentence naming it ("I bought the HEAL supplement.
        Should I take it before a run?"), or, for a product, it takes or uses "it" and the
        story before names one ("I take collagen every day. My sit bone hurts. Should I keep
        taking it?"). A subject named earlier in the story and not pointed at is context ("one
        guy swears by collagen ... What should I actually be doing?")."""
        message = read_message(query)
        back = default_followup_rules().refers_back
        return any(
            intent in detect_intents(ask.text)
            or (back(ask.text) and intent in detect_intents(last_sentence(before)))
            or (intent == "promotion" and _USES_IT.search(ask.text) is not None
                and intent in detect_intents(before))
            for ask, before in zip(message.asks, message.antecedents, strict=True)
        )

    def _asks(self, query: str, vec: np.ndarray, vectors: MessageVectors | None = None) -> list[Ask]:
        """What the scope gate, retrieval and selection work on: the message's asks as
        (ask as written, retrieval query, query vector); the retrieval query of an ask with no
        subject of its own carries the narrative's words. A plain question is its own ask."""
        message = read_message(query)
        if not message.narrative and len(message.asks) == 1:
            return [(query, query, vec)]
        queries = message.queries()
        vectors = vectors or MessageVectors(self.retriever.embedder.embed)
        vecs = vectors.get([self._repaired(q) for q in queries])
        return [(a.text, q, v) for a, q, v in zip(message.asks, queries, vecs, strict=True)]

    def _focus(
        self, asks: list[Ask], vectors: MessageVectors, retrieved: Sequence[Passage],
    ) -> list[tuple[str, np.ndarray]]:
        """The focus query (``focus_entity``) with its vector, unless one of the first
        ``FOCUS_TOP`` passages retrieved for the ask already mentions what it names."""
        entity = self.focus_entity([(a, q) for a, q, _v in asks])
        if entity is None or any(entity.find(p.text) for p in retrieved[:FOCUS_TOP]):
            return []
        phrase = self.focus_phrase(entity)
        return [(phrase, vectors.one(phrase))]

    def focus_phrase(self, entity: Entity) -> str:
        """The retrieval query for a focus: whether the treatment or exercise helps."""
        return str(self.texts["focus_query"].format(topic=entity.phrase))

    def focus_entity(self, asks: Sequence[tuple[str, str]]) -> Entity | None:
        """A treatment or exercise that a message's one ask (as written, and as retrieved: with
        the story when it points back at it) names among words of its own ("which stretch is
        best for the deep ache under my glute?", "cortisone shot worth it for a tendon that
        won't settle?"): whether it helps is what is asked, and the words about the ache can
        outrank it. Not for asks about an amount, a duration or a method ("how many sets of
        nordics?"), which are about the thing itself."""
        if len(asks) != 1:
            return None
        text, query = normalize(asks[0][0]), normalize(asks[0][1])
        if ask_kind(text) in ("how_many", "how_long", "how"):
            return None
        named = [e for e in default_followup_rules().entities_in(text)
                 if e.kind in FOCUS_KINDS and e.anchors and e.id not in FOCUS_SKIP]
        if not named:
            return None
        rest = query
        for e in named:
            for rx in e.patterns:
                rest = rx.sub(" ", rest)
        if not has_subject(rest):
            return None  # "is stretching good?": the ask is already about the thing
        return named[0]

    def scope_inputs(
        self, query: str, vec: np.ndarray, asks: list[Ask], vectors: MessageVectors | None = None,
    ) -> list[tuple[str, ScopeFeatures, np.ndarray]]:
        """Per ask: (ask as written, rule-layer features, the learned layer's input vector).
        A message with several asks gets one more row first, for all its asks together."""
        assert self.scope is not None
        single = len(asks) == 1 and asks[0][0] == query
        rows = []
        if not single:
            joined = " ".join(a for a, _q, _v in asks)
            jv = (vectors or MessageVectors(self.retriever.embedder.embed)).one(joined)
            self.retriever.prefetch([jv, *(v for _a, _q, v in asks)])  # one query, not one each
            f = self.scope.features(query, self.retriever.max_similarity(jv), joined)
            rows.append((joined, f, scope_vector(jv, vec, f)))
        for a, q, v in asks:
            # an ask without a subject of its own is about the story: judge it with the story
            f = self.scope.features(query, self.retriever.max_similarity(v), None if single else q)
            rows.append((a, f, scope_vector(v, vec, f)))
        return rows

    def _covered(
        self, query: str, vec: np.ndarray, asks: list[Ask], vectors: MessageVectors | None = None,
    ) -> list[Ask]:
        """The asks the articles cover (all of them when there is no scope gate). The learned
        layer decides when it is trained for this embedder: a story with one ask is refused only
        when the ask's bare words and the ask as retrieved (with the story it points back at)
        are both out of scope; a message with several asks is refused only when its asks
        together and each ask alone are out of scope, and otherwise keeps the asks judged in
        scope; without it, or for a message using an other-domain word
        the corpus itself covers, the calibrated rule layer decides per ask. (A message about
        another body part never gets here: ``stream`` refuses it first.)"""
        if self.scope is None:
            return asks
        rows = self.scope_inputs(query, vec, asks, vectors)
        # the learned layer knows the shipped articles' neighbours; a message using a neighbour
        # word that the corpus itself covers (a clinic's own page on it) goes to the rule layer
        if self.scope_model is not None and not self.scope.corpus_terms(query):
            whole_out = self.scope_model.out_of_scope(rows[0][2])
            if len(rows) == 1:
                return [] if whole_out else asks
            if len(asks) == 1:  # one ask in a story: refused when its bare words and the ask
                # as retrieval reads it (with the story it points back at) are both out of scope
                return [] if whole_out and self.scope_model.out_of_scope(rows[1][2]) else asks
            # when the asks together read as out of scope, an ask is kept only when it is
            # clearly covered on its own (half the model's threshold); in a message read as in
            # scope, an ask naming nothing of its own ("What should I actually be doing?") is
            # about the message, whatever story words it is retrieved with, unless the sentence
            # just before it names a neighbour topic ("My wife has plantar fasciitis. What
            # should she do?")
            limit = self.scope_model.threshold / (2 if whole_out else 1)
            before = read_message(query).antecedents
            kept = [ask for ask, row, told in zip(asks, rows[1:], before, strict=True)
                    if self.scope_model.p_out(row[2]) < limit
                    or (not whole_out and not has_subject(ask[0])
                        and not self.scope.features(last_sentence(told), 0.0).out)]
            return kept if kept or whole_out else asks
        decide = self.scope.decide_features
        return [ask for ask, row in zip(asks, rows[-len(asks):], strict=True) if decide(row[1])]

    def _covered_alone(self, query: str, ask: Ask) -> bool:
        """Whether the articles cover ``ask`` of the message ``query``, judged by its own words
        and embedding (the message's embedding, which its product question dominates, would
        make every ask look out of scope); the story's in-domain words count, as they do for
        every ask (``ScopeGate.features``)."""
        if self.scope is None:
            return True
        text, _query, v = ask
        f = self.scope.features(query, self.retriever.max_similarity(v), text)
        if self.scope_model is not None and not self.scope.corpus_terms(text):
            return not self.scope_model.out_of_scope(scope_vector(v, v, f))
        return self.scope.decide_features(f)

    def composer(self) -> Composer:
        """The composition steps over the index build loaded now (one per question)."""
        return Composer(self.retriever, self.settings, self.texts, self.notes, self.filler)

    def retrieve(self, query: str, vec: np.ndarray | None = None) -> list[Passage]:
        """The passages an answer to ``query`` is built from (see ``Composer.retrieve``)."""
        return self.composer().retrieve(query, vec)

    def _llm_or_fallback(
        self, compose: Composer, question: str, history: Sequence[Turn], query: str,
        vec: np.ndarray, gate: Any, draft: Draft,
    ) -> Iterator[str | Answer]:
        assert self.llm is not None
        conflicts = [n.note for n in touched(self.notes, query)]
        try:
            result: Answer | None = None
            for item in self.llm.stream(
                question, history, compose.retrieve, [*draft.notices, *conflicts],
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
            draft.notices = merge(draft.notices, [n for n in result.notices if n not in conflicts])
            draft.prompt = dict(result.prompt)
            draft.backend = result.backend
        except LLMError as err:
            draft.notices.append(self.texts["llm_fallback"].format(reason=err.message))
            compose.extractive(query, vec, draft.contexts, draft, gate.intents)
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
            citations=draft.citations, contexts=draft.contexts, notices=merge([], notices),
            backend=draft.backend, prompt=draft.prompt, timings_ms=timings, standalone_question=query,
        )


Ask = tuple[str, str, np.ndarray]  # (ask as written, retrieval query, query vector)
FOCUS_KINDS = frozenset({"exercise", "treatment"})
FOCUS_SKIP = frozenset({"glutes"})  # "under my glute" names a place, not glute activation
FOCUS_TOP = 2  # a focus is added when none of the ask's first passages mentions it


# an ask that takes or uses "it": about a product named earlier in the story
_USES_IT = re.compile(str(load_data("intents.yaml")["uses_it"]), re.IGNORECASE)


def _product_text(query: str) -> str:
    """The sentences of ``query`` that name a product (the promotion block is found by them)."""
    named = [s for s in sentences(query) if "promotion" in detect_intents(s)]
    return " ".join(named) or query


def _ms(t: float) -> float:
    return (time.perf_counter() - t) * 1000.0


def build_assistant(settings: Settings, *, embedder: Embedder | None = None,
                    backend: str | None = None) -> Assistant:
    """Load the model and the index (checking its fingerprint) and wire the parts."""
    from ingest.embed import SentenceTransformerEmbedder
    from ingest.store import make_client

    embedder = embedder or SentenceTransformerEmbedder(
        settings.embedding_model, device=settings.embedding_device,
        batch_size=settings.embedding_batch_size, onnx_cache=settings.onnx_cache_dir,
    )
    if not settings.corpus_dir.is_dir():
        raise ConfigError(
            f"Corpus folder {settings.corpus_dir} not found (it holds the editorial notes).",
            "Run pht from the project folder, or set PHT_CORPUS_DIR.",
        )
    getattr(embedder, "prepare", lambda: True)()  # the question runtime, before the first question
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

