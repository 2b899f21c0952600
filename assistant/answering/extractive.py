"""The default, deterministic answerer: choose and quote the sentences that answer best.

Pure core. Candidates are the *content* sentences of the retrieved passages;
each is scored by the cosine of its precomputed embedding with the question,
the share of (expanded) query terms it contains, and its passage's rank, then
picked with maximal marginal relevance so the answer does not repeat itself.
The picked sentences are shown in source order within each passage, each with
its own citation marker, so every statement is exactly its quote. A word budget
(~120 words, more for list questions) bounds the answer. It does no retrieval,
gating or IO; ``compose_answer`` only renders what was chosen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answering.lexical import terms
from assistant.models import Citation, Passage, QuoteSpan
from core.text import normalize


@dataclass(frozen=True)
class Candidate:
    span: QuoteSpan
    passage: Passage
    rank: int  # rank of its passage, 0 = best
    order: int  # position of the sentence within its passage
    vector: np.ndarray
    dup_key: str


@dataclass(frozen=True)
class Weights:
    dense: float = 0.6
    lexical: float = 0.3
    rank: float = 0.3
    mmr_lambda: float = 0.75
    min_relative: float = 0.6  # keep sentences scoring at least this share of the best
    states_relative: float = 0.5  # a sentence stating what an ask wants opens from this share
    unnamed_referent: float = 0.0  # "... when performing these", the ask naming none of "these"
    max_sentences: int = 5
    list_max_sentences: int = 8


# what a sentence must state to answer an ask for an amount, a duration or a cause ("6-8 reps
# for 1-2 sets", "up to a year", "due to overloading"): the form of the articles' sentences,
# not words of the question
STATES = {
    "how_many": re.compile(
        r"\b\d+(?:\s*[-–]\s*\d+)?\s*(?:reps?|repetitions?|sets?|times|x|seconds?|minutes?|"
        r"days?|miles?|km)\b|\b\d+\s*/\s*10\b", re.IGNORECASE),
    "how_long": re.compile(
        r"(?<!times )(?<!once )(?<!twice )(?<!per )"  # "3 times a week" is a frequency
        r"\b(?:\d+|an?|one|two|three|four|five|six|several|few|couple of)\s*(?:[-–]\s*\d+\s*)?"
        r"(?:weeks?|months?|years?)\b", re.IGNORECASE),
    "why": re.compile(
        r"\b(?:due to|because|reasons?|result of|caused by|causes? of|overuse|overload\w*)\b",
        re.IGNORECASE),
}


def states(kind: str, text: str) -> bool:
    """True when ``text`` states what an ask of ``kind`` wants (an amount, a duration, a cause);
    asks of other kinds want no particular form.

    >>> states("how_many", "Start with lower reps (6-8 reps) for 1-2 sets."), states("how_many", "Do it.")
    (True, False)
    >>> states("how_long", "It could take up to a year."), states("how_long", "Run 3 times a week.")
    (True, False)
    >>> states("why", "It is due to overloading."), states("why", "Stretch every day.")
    (True, False)
    """
    rx = STATES.get(kind)
    return rx is None or bool(rx.search(normalize(text)))


def word_count(text: str) -> int:
    return len(normalize(text).split())


def relevance(
    candidates: Sequence[Candidate], query_vec: np.ndarray, query_terms: Sequence[str],
    w: Weights = Weights(), ranks: Mapping[str, int] | None = None,
) -> list[float]:
    """Score each candidate sentence for the question (higher is better). ``ranks`` (passage id
    -> rank for this question; a passage it did not retrieve ranks last) replaces the
    candidates' own passage rank when one message's asks are scored one by one.

    Rhetorical questions and fragments of under four words are scored down: they rarely answer.
    """
    qset = set(query_terms)
    scores = []
    last = len(ranks) if ranks is not None else 0
    for c in candidates:
        dense = float(np.dot(c.vector, query_vec))
        sent_terms = set(terms(c.span.text)) | set(terms(c.passage.section))
        lexical = len(qset & sent_terms) / len(qset) if qset else 0.0
        rank = c.rank if ranks is None else ranks.get(c.passage.id, last)
        score = w.dense * dense + w.lexical * lexical + w.rank / (1 + rank)
        text = normalize(c.span.text)
        if text.endswith("?") or word_count(text) < 4:
            score *= 0.5
        scores.append(score)
    return scores


ANAPHORA = re.compile(
    # after a comment word ("Unfortunately, that is probably the worst thing you can do")
    r"^(?:(?:unfortunately|fortunately|sadly|honestly|obviously|of course|again|still)\b,?\s+)?"
    r"(?:these|this|that|those|they|them|it|its|both|also|in fact|however|but|and|so|then|"
    r"which|such|here)\b",
    re.IGNORECASE,
)


# "these"/"those"/"them" ending a clause: a pronoun for something named before ("those, who"
# is not one; closing quotes and an ellipsis may follow)
ENDS_POINTING_BACK = re.compile(
    r"\b(?:these|those|them)\s*[\"'\u201d\u2019)\]]*\s*(?:[.!?;:\u2026]|$)", re.IGNORECASE)

FORWARD = re.compile(  # verbs of announcing; "Here is a teaser... you don't need X" says something
    r"^(?:below|in the following|the following|next,? (?:i|we)|let me|let's)\b",
    re.IGNORECASE,
)


def points_forward(text: str) -> bool:
    """True when a sentence only announces what comes next ("Below, I will outline...",
    "Here is how...:"): it says nothing by itself, and the content it announces is a sentence
    of its own. A lead-in that holds its content after a colon ("Here is how: head up, ...")
    is not one.

    >>> points_forward("Below, I will outline the plan."), points_forward("Load the tendon.")
    (True, False)
    >>> points_forward("Here is how to land: \U0001f539 Head up, chest tall.")
    False
    """
    sentence = display_sentence(text)
    if re.search(r":\s*\S", sentence):
        return False
    return sentence.endswith(":") or bool(FORWARD.match(sentence))


def leans_on_previous(text: str) -> bool:
    """True when a sentence opens by pointing back ("These are the KEY...", "Both increase...").

    >>> leans_on_previous("In fact, these are the KEY to getting over it!")
    True
    >>> leans_on_previous("Unfortunately, that is probably the worst thing you can do!")
    True
    >>> leans_on_previous("Eccentric exercises are fantastic for tendons.")
    False
    """
    return bool(ANAPHORA.match(display_sentence(text)))


def ends_pointing_back(text: str) -> bool:
    """True when a clause ends on a pronoun whose noun is further back ("... no pain greater
    than 3/10 when performing these."): the sentence just before need not name it either, so
    bringing that sentence along does not say what the sentence is about.

    >>> ends_pointing_back("Keep the pain under 3/10 when performing these.")
    True
    >>> ends_pointing_back('Do "these"\u2026'), ends_pointing_back("Runners like those, who overstride.")
    (True, False)
    >>> ends_pointing_back("Do these exercises twice a week."), ends_pointing_back("These help.")
    (False, False)
    """
    return bool(ENDS_POINTING_BACK.search(display_sentence(text)))


def select(
    candidates: Sequence[Candidate], scores: Sequence[float], *, max_words: int,
    is_list: bool = False, w: Weights = Weights(), pinned: set[str] | None = None,
) -> list[Candidate]:
    """Maximal-marginal-relevance pick within the word budget; at least one sentence.

    ``pinned`` sentence ids are taken first and open the answer. A picked sentence that
    leans on the one before it ("These are the key...") brings that sentence along when the
    budget allows (a pinned one brings it even past the budget: the answer may then run over
    by a sentence per pinned sentence), and an unpinned one is dropped otherwise; a pinned
    sentence whose previous sentence is not a candidate, or leans on another, stays alone.
    """
    if not candidates:
        return []
    best = max(scores)
    limit = w.list_max_sentences if is_list else w.max_sentences
    budget = max_words * (2 if is_list else 1)
    pool = [
        i for i, s in enumerate(scores)
        if s >= best * w.min_relative and (is_list or word_count(candidates[i].span.text) >= 4)
    ]
    if not pool:
        pool = [max(range(len(scores)), key=lambda i: scores[i])]
    first = [i for i, c in enumerate(candidates) if pinned and c.span.id in pinned]
    chosen: list[int] = []
    words = 0
    keys: set[str] = set()
    for i in first:
        if candidates[i].dup_key not in keys:
            chosen.append(i)
            keys.add(candidates[i].dup_key)
            words += word_count(candidates[i].span.text)
    pool = [i for i in pool if i not in chosen]
    while pool and len(chosen) < limit:

        def mmr(i: int) -> float:
            if not chosen:
                return scores[i]
            redundancy = max(float(np.dot(candidates[i].vector, candidates[j].vector)) for j in chosen)
            return w.mmr_lambda * scores[i] - (1 - w.mmr_lambda) * redundancy

        i = max(pool, key=lambda i: (mmr(i), -candidates[i].rank, -candidates[i].order))
        pool.remove(i)
        c = candidates[i]
        n = word_count(c.span.text)
        if c.dup_key in keys or (chosen and words + n > budget):
            continue
        chosen.append(i)
        keys.add(c.dup_key)
        words += n
    chosen = _resolve_anaphora(candidates, chosen, budget - words, keep=set(first))
    # Passages holding a pinned sentence open the answer; sentences keep source order.
    opening = {candidates[i].passage.id for i in first}
    return sorted(
        (candidates[i] for i in chosen),
        key=lambda c: (c.passage.id not in opening, c.rank, c.order),
    )


def leans_on_unnamed(passage: Passage, order: int) -> bool:
    """True when sentence ``order`` of ``passage``, or a sentence it leans on (walking back
    through sentences that open by pointing back), ends pointing back: what it is about is
    named somewhere before that ("These require more force..." after "Also, start with 6-8
    reps." after "... when performing these.").

    >>> from assistant.models import QuoteSpan
    >>> texts = ["Tendonitis is an overuse injury!", "This happens due to load.",
    ...          "Keep pain under 3/10 when performing these.", "Also, start with 6-8 reps."]
    >>> s = tuple(QuoteSpan(str(n), n, n + 1, t) for n, t in enumerate(texts))
    >>> p = Passage("p", "x.txt", 0, 9, "", 0.0, "content", "", "T", "new", 0, sentences=s)
    >>> [leans_on_unnamed(p, n) for n in range(4)]
    [False, False, True, True]
    """
    for i in range(order, -1, -1):
        text = passage.sentences[i].text
        if ends_pointing_back(text):
            return True
        if not leans_on_previous(text):
            return False
    return False


def grounded(candidates: Sequence[Candidate], i: int) -> bool:
    """True when what candidate ``i`` is about is named in it or shown with it in an answer
    (``select``'s rule, ``_resolve_anaphora``): a sentence that opens by pointing back ("This
    happens due to...") is grounded by the candidate sentence just before it when that one does
    not lean on another, or, opening a passage of a section, by the heading shown with it; a
    sentence that ends pointing back ("... when performing these") is not grounded.

    >>> from assistant.models import QuoteSpan
    >>> texts = ["Tendonitis is an overuse injury!", "This happens due to load.",
    ...          "Keep pain under 3/10 when performing these.", "Also, start with 6-8 reps.",
    ...          "It takes weeks."]
    >>> s = tuple(QuoteSpan(str(n), n, n + 1, t) for n, t in enumerate(texts))
    >>> p = Passage("p", "x.txt", 0, 9, "", 0.0, "content", "", "T", "new", 0, sentences=s)
    >>> cands = [Candidate(q, p, 0, n, np.zeros(2), str(n)) for n, q in enumerate(s)]
    >>> [grounded(cands, n) for n in range(5)]
    [True, True, False, False, False]
    """
    c = candidates[i]
    if ends_pointing_back(c.span.text):
        return False
    if not leans_on_previous(c.span.text):
        return True
    if c.order == 0:
        return bool(c.passage.section)  # shown under its heading (see _resolve_anaphora)
    prev = next((p for p in candidates
                 if p.passage.id == c.passage.id and p.order == c.order - 1), None)
    return prev is not None and not leans_on_previous(prev.span.text) and not ends_pointing_back(
        prev.span.text)


def _resolve_anaphora(
    candidates: Sequence[Candidate], chosen: list[int], spare: int, keep: set[int]
) -> list[int]:
    index = {(c.passage.id, c.order): i for i, c in enumerate(candidates)}
    out = list(chosen)
    for i in chosen:
        c = candidates[i]
        if not leans_on_previous(c.span.text):
            continue
        prev = index.get((c.passage.id, c.order - 1))
        if prev is not None and prev in out:
            continue
        if c.order == 0 and c.passage.section:
            continue  # it opens its passage: the section heading, shown with it, is what it means
        n = word_count(candidates[prev].span.text) if prev is not None else 0
        # a pinned sentence opens the answer whatever the budget: so does what it leans on
        if prev is not None and (n <= spare or i in keep) and not leans_on_previous(
                candidates[prev].span.text):
            out.append(prev)
            spare -= n
        elif len(out) > 1 and i not in keep:
            out.remove(i)
    return out


def compose_answer(
    picked: Sequence[Candidate], *, lead: str = "", first_marker: int = 1
) -> tuple[str, list[Citation]]:
    """Render picked sentences as Markdown with one ``[n]`` marker per quoted sentence.

    Sentences of the same passage share a paragraph; every marker cites exactly the
    sentence before it, so the answer says nothing its citations do not.
    """
    paragraphs: list[str] = [lead] if lead else []
    citations: list[Citation] = []
    current: list[str] = []
    headed: set[int] = set()  # headings already shown
    last_passage = None
    for c in picked:
        if last_passage is not None and c.passage.id != last_passage and current:
            paragraphs.append(" ".join(current))
            current = []
        last_passage = c.passage.id
        if (not current and c.order == 0 and c.passage.heading is not None
                and c.passage.heading.start not in headed
                and normalize(c.passage.heading.text) != normalize(c.passage.title)
                and (leans_on_previous(c.span.text) or is_statement(c.passage.heading.text))):
            # A paragraph that opens its section is introduced by its heading when the heading
            # says something ("Hills and Speed will be Last!") or the paragraph leans on it
            # ("Both increase hip flexion..."): quote and cite the heading too.
            h = c.passage.heading
            headed.add(h.start)
            marker = first_marker + len(citations)
            citations.append(
                Citation(marker=marker, source=c.passage.source, title=c.passage.title,
                         edition=c.passage.edition, quote=h.text, start=h.start, end=h.end,
                         kind="heading", section=c.passage.section)
            )
            current.append(f"{heading_label(h.text)} [{marker}]")
        marker = first_marker + len(citations)
        citations.append(
            Citation(
                marker=marker, source=c.passage.source, title=c.passage.title,
                edition=c.passage.edition, quote=c.span.text, start=c.span.start, end=c.span.end,
                kind=c.span.kind, section=c.passage.section,
            )
        )
        current.append(f"{display_sentence(c.span.text)} [{marker}]")
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs), citations


def is_statement(heading: str) -> bool:
    """A heading that states advice or a fact, not a question or a bare topic label.

    >>> is_statement("2. Dynamically Warm-Up the Hamstrings Before a Run")
    True
    >>> is_statement("What Causes Hamstring Tendonitis?"), is_statement("Related posts")
    (False, False)
    """
    label = heading_label(heading)
    return not label.endswith("?") and len(label.split()) >= 4


def heading_label(section: str) -> str:
    """A section heading as a label: list numbering and trailing colon removed.

    >>> heading_label("  1. Hills and Speed will be Last!")
    'Hills and Speed will be Last!'
    """
    return re.sub(r"^\d{1,2}[.)]\s*", "", display_sentence(section)).rstrip(":").strip()


def display_sentence(text: str) -> str:
    """The quote as shown in an answer: same words, plain spacing, no leading bullet symbols.

    >>> display_sentence("\\U0001f539 Shoulders back\\u00a0")
    'Shoulders back'
    """
    return normalize(text).lstrip("-\u2022*\u2013 ").strip()
