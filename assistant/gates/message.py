"""Understand a message before retrieving: what the reader reports and what they ask.

``read_message`` splits a message into its narrative (history, symptoms, what was tried)
and its asks (the questions, at most ``MAX_ASKS``), and tags each ask with the kind of answer
it wants (what / why / advice / should / can / how / how_many / how_long / which / other), from its
opening words. An indirect question near the end ("I have no idea what this spot is called.")
is an ask; a hedging "(?)" is not. An ask with no subject of its own ("What do you recommend?",
"What is my next step?"), or one that points back at the story ("the name for that spot"), is
retrieved with the narrative's words. Pure and rule-based on sentence shape, plus a few words
for places and complaints an ask can point back at; the gates read the whole message,
retrieval and selection read the asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.text import normalize

MAX_ASKS = 4
_SENTENCE = re.compile(r"[^.?!\n]+(?:[.?!]+|$)")
# the openers that make a sentence an ask ("I wonder...") and those of an indirect question
# ("I have no idea what..."); both are also the words that open an ask without being its kind
_WONDERING = r"i(?:'d| would) (?:like|love) to know|i(?: also)? wonder|(?:i'?m |i was )?wondering"
_UNSURE = (r"(?:i (?:have|had) |i've )?no idea|(?:i(?:'m| am)(?: really)? )?not sure|"
           r"i (?:really )?(?:don'?t|do not) know")
_ASK_OPENERS = re.compile(
    r"^(?:any (?:ideas|tips|advice|thoughts|suggestions)|please (?:advise|help)|"
    rf"(?:{_WONDERING}|help)\b)",
    re.IGNORECASE,
)
# an indirect question asks too ("I have no idea what this spot is called."), when it is one of
# the message's last sentences and not the opening of a story ("Not sure how, but I felt a pop")
_INDIRECT = re.compile(
    rf"^(?:{_UNSURE}) (?:what|why|how|when|which|where|whether|if)\b", re.IGNORECASE,
)
# the words linking an ask to what came before ("And how long...", "Also why...")
_LINKED = re.compile(r"^(?:and|so|but|also|ok|okay|then)\b[\s,]*", re.IGNORECASE)
_STORY_GOES_ON = re.compile(r",\s*(?:but|and|so|though|then)\b", re.IGNORECASE)
# the words that open an ask without being its kind ("I wonder how long..." asks how long)
_PREFIX = re.compile(rf"^(?:{_WONDERING}|{_UNSURE})\s+", re.IGNORECASE)
_KINDS = (
    ("how_many", r"^(?:how many|how much|how often)\b"),
    ("how_long", r"^(?:how long|when (?:can|will|should|do)|how soon)\b"),
    ("why", r"^(?:why|what causes|what caused|how come)\b"),
    ("advice", r"^(?:what (?:do|would) you (?:recommend|suggest|advise)|what (?:should|can|do) i do|"
               r"what(?:'s| is| are) (?:my|the) next steps?|what to do|any (?:ideas|tips|advice)|how (?:can|do) i "
               r"(?:get better|fix|heal|recover|treat))\b"),
    ("what", r"^(?:what|what's|whats)\b"),
    ("should", r"^(?:should|do i need|must|would you|is it (?:ok|okay|safe|bad|wise|worth))\b"),
    ("can", r"^(?:can|could|is it possible|am i able)\b"),
    ("how", r"^(?:how|any (?:ideas|tips|advice))\b"),
    ("which", r"^(?:which|where)\b"),
)
_FUNCTION = frozenset(
    "a an the i me my you your it is are am be do does did can could should would will what "
    "how why when where which who any ideas tips advice think thoughts recommend suggest next "
    "step steps problem issue going on this that there here to of for and or so now get better "
    "else anything something help please is it ok okay safe keep do you actually really just "
    "doing happening wrong best way need guys everyone anyone someone thanks thank yes yeah "
    "yep cool sure alright hi hey hello lol "
    # words that judge what the story told ("Good idea?", "Who is right?")
    "idea right".split()
)
# "should I keep icing it or is that pointless?": an alternative pointing back, one ask
_SAME_QUESTION = re.compile(r",?\s+or\s+(?:is|are|does|do|will|would)\s+(?:that|it|this)\b",
                            re.IGNORECASE)
# "What is this and what should I be doing?": one sentence, two asks
_COMPOUND = re.compile(
    r",?\s+(?:and|or|also)\s+(?=(?:what|how|why|when|which|where)\b|(?:is|are|should|can|could|"
    r"do|does|will|would)\s+(?:i|you|it|this|that|there|we|my|the)\b)", re.IGNORECASE,
)


# a question: a question word then a verb ("what is", "how do", "what actually is", "when
# can"), or a verb then its subject ("can I", "is it"); "When I sit, why...", "When it is sore,
# should I...", "..., when sitting", "What I did was..." open none
_AUX = r"(?:is|are|was|were|do|does|did|can|could|should|would|will|must|shall)"
_PRONOUN = r"(?:i|you|we|he|she|they|it)"
_WH_QUESTION = (rf"(?:(?:what|how|why|which|who)(?:'s|\s+(?:(?!{_PRONOUN}\s)\w+\s+)?{_AUX})\b|"
                rf"(?:when|where)\s+{_AUX}\b)")
_SUBJECT = r"(?:i|you|it|this|that|there|we)"
_NOT_REPORTING = r"(?!\s+(?:reckon|think)\b)"  # "Can I run, do you reckon?" asks once
_QUESTION = rf"(?:{_WH_QUESTION}|{_AUX}\s+(?:{_SUBJECT}|my|the)\b{_NOT_REPORTING})"
_QUESTION_START = re.compile(rf"^\W*{_QUESTION}", re.IGNORECASE)
# without its "?", a sentence opens a question only with a question word or a verb before a
# pronoun ("should i be icing it"); "Does my head in", "Was my own fault" are remarks
_BARE_QUESTION_START = re.compile(
    rf"^\W*(?:{_WH_QUESTION}|{_AUX}\s+{_SUBJECT}\b{_NOT_REPORTING})", re.IGNORECASE)
_COMMA_ASK = re.compile(rf",\s+(?={_QUESTION})", re.IGNORECASE)


# what a subject-less ask of a kind is asking for, said plainly ("What do you think the problem
# is?" after a story asks what the condition is; "Any ideas how I can get better?" for treatment)
_SUBJECTLESS = {
    "what": "What is this condition?",
    "why": "What causes this?",
    "how": "How is it treated?",
    "advice": "How is it treated?",
    "should": "Can I keep running?",
    "can": "Can I keep running?",
}


# an ask that points back at what the story describes ("the name for that spot", "is this
# pain normal?") is read with the story even when it names something of its own
_POINTS_BACK = re.compile(
    r"\b(?:this|that|these|those)\s+(?:spot|area|place|location|region|point|part|bit|side|pain|"
    r"ache|soreness|injury|thing|problem|issue|condition|feeling|sensation)s?\b"
    # "...keep training through it?", "...run with it?": the story's complaint
    r"|\b(?:through|with|on)\s+it\s*[?.!]*$"
    # "what would you do in my shoes?": the reader's situation is the story
    r"|\b(?:do|were|be) in (?:my|our) (?:shoes|position|situation|place)\b"
    # "is that ok to keep training?", "is this normal?": a judgement of what the story told
    r"|^(?:\w+\s+)?(?:is|was|would|will|does|could)\s+(?:that|this)\s+(?:ok|okay|fine|normal|"
    r"bad|good|safe|a problem|an issue|a concern|serious|worrying|wise|sensible|enough|too much)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Ask:
    text: str
    kind: str
    has_subject: bool  # names something of its own beyond question words


@dataclass(frozen=True)
class Message:
    narrative: str
    asks: tuple[Ask, ...]
    # per ask, what a pronoun in it points back at: the first half of its own sentence when
    # that names something ("Is this plantar fasciitis and how do I get rid of it?"), else the
    # narrative sentences written before it
    antecedents: tuple[str, ...]
    # the earliest asks of a message asking more than ``MAX_ASKS`` questions: not answered,
    # and named to the reader as such
    dropped: tuple[str, ...] = ()

    def queries(self, max_narrative_words: int = 40) -> list[str]:
        """One retrieval query per ask; a subject-less ask borrows the narrative's words (after
        saying plainly what it asks for), and so does an ask pointing back at the story.

        >>> m = read_message("My butt hurts after long runs and sitting. What do you recommend?")
        >>> m.queries()
        ['How is it treated? What do you recommend? My butt hurts after long runs and sitting.']
        """
        def last_words(text: str) -> str:
            return " ".join(text.split()[-max_narrative_words:])

        out = []
        for n, (a, before) in enumerate(zip(self.asks, self.antecedents, strict=True)):
            # what an ask without a subject of its own points back at: its antecedent (the
            # story told before it); else the asks before it when one names something ("What
            # actually is PHT, can I still run on it? My doctor said it in passing"); else the
            # story told after it ("Is this normal? Ran 10k and my sit bone aches."); with no
            # story, the asks before
            earlier = self.asks[:n]
            named = " ".join(b.text for b in earlier) if any(_named(b.text) for b in earlier) else ""
            context = (last_words(before) or named or last_words(self.narrative)
                       or " ".join(b.text for b in earlier))
            out.append(
                a.text if not context or (a.has_subject and not _POINTS_BACK.search(a.text))
                else f"{a.text} {context}" if a.has_subject  # "the name for that spot": the story's
                else f"{_SUBJECTLESS.get(a.kind, a.text)} {a.text} {context}"
            )
        return out


def last_sentence(text: str) -> str:
    """The last sentence of ``text`` ("" for none).

    >>> last_sentence("I bought HEAL. It was pricey."), last_sentence("")
    ('It was pricey.', '')
    """
    told = [t.strip() for t in _SENTENCE.findall(normalize(text)) if t.strip()]
    return told[-1] if told else ""


def ask_kind(sentence: str) -> str:
    """The kind of answer an ask wants, from its opening words.

    >>> [ask_kind(s) for s in ("How many sets?", "Should I stretch?", "Why does it hurt?")]
    ['how_many', 'should', 'why']
    """
    text = normalize(sentence).lower().lstrip("- ,")
    text = _LINKED.sub("", text)
    text = _PREFIX.sub("", text)  # "I wonder how long..." asks how long
    for kind, pattern in _KINDS:
        if re.match(pattern, text):
            return kind
    return "other"


@lru_cache(maxsize=1024)  # the service reads one message's asks at several steps
def read_message(text: str) -> Message:
    """Narrative and asks of a message; a message with no question is one ask.

    >>> m = read_message("Ran 10k, sit bone aches. Is it safe to keep running? How do I fix it?")
    >>> [a.kind for a in m.asks], m.narrative
    (['should', 'advice'], 'Ran 10k, sit bone aches.')
    """
    plain = re.sub(r"\(\s*\?+\s*\)", "", normalize(text))  # "(?)" hedges a word, it asks nothing
    sentences = [s.strip() for s in _SENTENCE.findall(plain) if s.strip()]
    last = sentences[-2:]
    # the message's last sentence is an ask when it opens as a question, "?" or not ("Also
    # why does sitting still hurt when running feels fine now", "should i be icing it")
    asks = [s for s in sentences if s.endswith("?") or _ASK_OPENERS.match(s)
            or (s in last and _INDIRECT.match(s) and not _STORY_GOES_ON.search(s))
            or (s == sentences[-1] and _BARE_QUESTION_START.match(_LINKED.sub("", s)))]
    if not asks:
        return Message("", (Ask(text.strip(), ask_kind(text), True),), ("",))
    narrative = " ".join(s for s in sentences if s not in asks)
    # an ask joining two questions ("What is this and what should I be doing?") is two asks;
    # each keeps its antecedent
    kept: list[tuple[str, str]] = []
    told: list[str] = []
    for s in sentences:
        if s not in asks:
            told.append(s)
            continue
        parts = _split_compound(s)
        kept += [(part, parts[i - 1] if i and _named(parts[i - 1]) else " ".join(told))
                 for i, part in enumerate(parts)]
    if len(kept) > MAX_ASKS:  # "Help!", "any advice?": asks of nothing in particular go first
        kept = [k for k in kept if has_subject(k[0]) or ask_kind(k[0]) not in ("advice", "other")
                ] or kept
    answered = {a.lower() for a, _ in kept[-MAX_ASKS:]}  # an ask repeated later is answered
    dropped = tuple(dict.fromkeys(a for a, _ in kept[:-MAX_ASKS] if a.lower() not in answered))
    kept = kept[-MAX_ASKS:]
    return Message(
        narrative,
        tuple(Ask(a, ask_kind(a), has_subject(a)) for a, _ in kept),
        tuple(before for _, before in kept),
        dropped,
    )


def _split_compound(ask: str) -> list[str]:
    """An ask split where "and"/"or", or a comma after a question, opens a second question.

    >>> _split_compound("What is this and what should I be doing??")
    ['What is this?', 'what should I be doing??']
    >>> _split_compound("Does rest and ice help?")
    ['Does rest and ice help?']
    >>> _split_compound("Can I run and do hills?")
    ['Can I run and do hills?']
    >>> _split_compound("What is PHT, can I still run on it?"), _split_compound("If it hurts, can I run?")
    (['What is PHT?', 'can I still run on it?'], ['If it hurts, can I run?'])
    >>> _split_compound("When I sit, why does it hurt?"), _split_compound("Can I run, do you reckon?")
    (['When I sit, why does it hurt?'], ['Can I run, do you reckon?'])
    >>> _split_compound("When it is sore after a run, should I ice it?")
    ['When it is sore after a run, should I ice it?']
    >>> _split_compound("Should I keep icing it or is that pointless?")
    ['Should I keep icing it or is that pointless?']
    """
    cuts = [c for c in _COMPOUND.finditer(ask) if not _SAME_QUESTION.match(ask, c.start())]
    # "ok and what about hills?": a first part that names nothing and asks nothing is no ask
    if cuts and not _named(ask[: cuts[0].start()]) and not _QUESTION_START.match(ask):
        cuts = cuts[1:]
    edges = [0, *(c.end() for c in cuts)], [*(c.start() for c in cuts), len(ask)]
    parts = [ask[a:b].strip() for a, b in zip(*edges, strict=True) if ask[a:b].strip()]
    # "What is PHT, can I still run on it?": a question, a comma, another question
    parts = [q.strip() for p in parts
             for q in (_COMMA_ASK.split(p) if _QUESTION_START.match(p) else [p]) if q.strip()]
    if len(parts) < 2:
        return [ask]
    return [p if p.endswith(("?", ".", "!")) else p + "?" for p in parts]


def has_subject(ask: str) -> bool:
    """True when a text names something of its own: two words beyond question words.

    >>> has_subject("What do you recommend?"), has_subject("Which stretch for my sore glute?")
    (False, True)
    """
    return _named(ask) >= 2


def _named(text: str) -> int:
    """How many words of ``text`` name something (are not question or function words)."""
    words = re.findall(r"[a-z']+", _PREFIX.sub("", normalize(text).lower()))
    return sum(w not in _FUNCTION for w in words)
