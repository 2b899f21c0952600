"""A short "no" for a yes/no ask, only when a quoted sentence states it.

``verdict(ask, quoted)`` reads the ask as a proposition ("Will stretching fix my hamstring
pain?" -> "stretching will fix my hamstring pain"; "Should I stretch my hamstrings?" ->
"stretching my hamstrings helps") and checks it against each quoted sentence
with the negation-aware meaning check the generative mode and the evals use
(``core.meaning.check``). The lead is "no" when a quoted sentence states the opposite of the
proposition and no quoted sentence states the proposition itself. More conditions keep it
checkable by a reader:

- the ask asks whether something helps, works or can be relied on (not "Has my tendon been
  stressed correctly?": a question about the reader);
- the deciding sentence denies the effect asked about ("...and it does not help"), not another
  word the two share ("overusing the hamstrings instead of using the glutes" says nothing
  against "Should I use my glutes more?");
- it names each part of the ask's subject (the ask's words other than the topic words, the
  effect asked about and nouns such as "the problem", "a guide", "today") in the ask's own
  words, before the denial, as what it is about:
  "Passive treatments won't work" does not decide "Does foam rolling help?", although foam
  rolling is a passive treatment, and "hamstring stretching does not help" does not decide
  "Does dynamic stretching help?";
- the deciding sentence states it without a condition or a time limit ("if", "until",
  "initially"...): "Don't be afraid if the pain with sitting is not going away initially" does
  not answer "Will my sitting pain go away?";
- the ask is a plain, affirmative yes/no question: it opens with a verb such as "does",
  "will", "should", offers no alternatives with "or", and negates nothing ("Is stretching not
  the answer?" gets no lead: "no" would read both ways).

There is no "yes" lead: agreement between two sentences is a weaker signal than a contradiction
(the proposition is "supported" by any sentence on the same topic that negates nothing), so a
"yes" is left to the quotes. Pure: no model, no IO. The caller renders the lead
(``answer_texts.yaml``: ``short_answer``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.meaning.check import Statement, analyze, generic, polarity_conflict, proposition
from core.meaning.normalize import stem

_OPENER = r"^(?:(?:and|so|but|also|ok|okay)\b[\s,]*)?"  # "So is stretching the answer?"
# a yes/no question opens with its verb: "Will stretching fix it?", "Is a cortisone shot worth it?"
_YES_NO = re.compile(
    _OPENER + r"(?:do|does|did|is|are|was|were|will|would|can|could|should|must|has|have|am)\b",
    re.IGNORECASE,
)
_SHOULD = re.compile(_OPENER + r"should i (?P<act>.+?)\W*$", re.IGNORECASE)
_CHOICE = re.compile(r"\bor\b", re.IGNORECASE)  # "Is it X or Y?" is not answered by yes or no
# what a yes/no ask claims of its subject: "Does foam rolling help?" is about foam rolling, and
# "Passive treatments are not going to be the fix" shares only the effect with it
EFFECTS = frozenset({"@fix", "work"})
# a lead answers whether something helps, works or can be relied on, never a question about the
# reader ("Has my tendon been stressed correctly?" is theirs to ask a clinician)
ASKED = EFFECTS | {"reliabl", "effectiv", "worth", "good"}
# nouns that name no subject of their own ("Does foam rolling help the problem?" is about foam
# rolling, whatever sentence names "the problem")
_EMPTY = frozenset({
    "treatment", "problem", "condition", "thing", "issu", "injuri", "area", "way",
    # nor do words for a guide or a time: "Is pain a reliable guide?" is not about sitting pain
    "guid", "indicat", "indicator", "sign", "predictor", "measur", "todai", "tomorrow", "day",
    "week", "now",
})
# a negation under a condition, a time limit or a hedge does not decide a yes/no ("Don't be
# afraid if the pain with sitting is not going away initially" does not answer "Will it go away?")
_CONDITIONAL = re.compile(
    r"\b(?:if|unless|until|when|whenever|every time|initially|at first|yet|sometimes|usually|often|"
    r"could|perhaps|maybe|might|may)\b", re.IGNORECASE,
)


# an ask whether something helps a symptom ("help the pain", "help with my hamstring ache"),
# not whether it fixes the condition
_SYMPTOM_WORDS = r"(?:pain|aches?|aching|soreness|discomfort|symptoms?|flare[- ]?ups?)"
_RELIEF = re.compile(rf"\bhelp(?:s|ed)?\b(?:\s+[^\s,;.?!]+){{0,8}}?\s+{_SYMPTOM_WORDS}\b",
                     re.IGNORECASE)
_SYMPTOM = re.compile(rf"\b{_SYMPTOM_WORDS}\b", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    answer: str  # "no"
    marker: int  # the citation number of the quoted sentence that states it


def is_yes_no(ask: str) -> bool:
    """Whether ``ask`` is a plain yes/no question.

    >>> is_yes_no("Will stretching fix it?"), is_yes_no("Is it PHT or sciatica?")
    (True, False)
    >>> is_yes_no("How many sets?"), is_yes_no("Stretching fixes it.")
    (False, False)
    """
    text = ask.strip()
    return text.endswith("?") and bool(_YES_NO.match(text)) and not _CHOICE.search(text)


def verdict(ask: str, quoted: Sequence[tuple[int, str]]) -> Verdict | None:
    """The "no" the ``quoted`` sentences ((citation number, text), in answer order) give
    ``ask``, or None when they do not state it.

    >>> verdict("Will stretching fix my high hamstring pain?",
    ...         [(1, "Most runners have already tried hamstring stretching and it does not help.")])
    Verdict(answer='no', marker=1)
    >>> verdict("Does foam rolling help PHT?", [(1, "Passive treatments won't work!")]) is None
    True
    """
    if not is_yes_no(ask):
        return None
    claim = _claim(ask)
    if any(p < 0 for p in claim.polarity):
        return None  # "Is stretching not the answer?": a "no" would read both ways
    if not claim.concept_set() & ASKED:
        return None
    sources = [(marker, analyze(text)) for marker, text in quoted]
    if any(_states(claim, s) for _m, s in sources):
        return None
    # "Will injections help the pain?" asks about relief: a sentence denying that they fix the
    # problem decides it only when it speaks of the pain as well
    relief = bool(_RELIEF.search(ask))
    against = [marker for marker, s in sources
               if _decides(claim, s) and (not relief or _SYMPTOM.search(s.text))]
    return Verdict("no", against[0]) if against else None


def _claim(ask: str) -> Statement:
    """The ask's proposition. "Should I stretch my hamstrings?" asks whether stretching them
    helps: an ask for advice on doing something claims that it helps, unless it names an
    effect of its own ("Should I expect it to help?")."""
    m = _SHOULD.match(ask.strip())
    if m and not any(c in EFFECTS for c in analyze(m["act"]).concepts):
        return analyze(f"{m['act']} helps.")
    return proposition(ask, "yes")


def _subject(claim: Statement) -> dict[str, set[str]]:
    """The claim's subject: its words other than topic words, the effect asked about and nouns
    that name nothing ("the problem"), as stems grouped by concept ("cortisone injection" is
    one group, @passive)."""
    groups: dict[str, set[str]] = {}
    for w, c in zip(claim.words, claim.concepts, strict=True):
        if c and c not in generic() and c not in ASKED and stem(w) not in _EMPTY:
            groups.setdefault(c, set()).add(stem(w))
    return groups


def _decides(claim: Statement, source: Statement) -> bool:
    """``source`` states the opposite of ``claim``, unconditionally, and names each part of the
    claim's subject in one of the claim's own words: "hamstring stretching does not help" does
    not decide "Does dynamic stretching help?", nor "Passive treatments won't work ... for this
    problem" "Does foam rolling help the problem?"; "injections ... are not going to be the fix"
    decides "Will a cortisone injection fix PHT?"."""
    if not polarity_conflict(claim, source) or _CONDITIONAL.search(source.text):
        return False
    # what the sentence denies is the effect asked about ("...and it does not help"), not some
    # other word the two share ("overusing the hamstrings instead of using the glutes")
    denied = [i for i, c in enumerate(source.concepts)
              if c in ASKED and source.polarity[i] < 0 and claim.polarity_of(c) > 0]
    if not denied:
        return False
    subject = _subject(claim)
    # the subject is named before the denial, as what it is about: "what your dad did back in
    # the day does not help today" says nothing of running today
    named = {stem(w) for w in source.words[: denied[0]]}
    return bool(subject) and all(words & named for words in subject.values())


def _states(claim: Statement, source: Statement) -> bool:
    """``source`` affirms all of the claim's subject and effect and negates none of it."""
    wanted = claim.concept_set() - generic()
    return bool(wanted) and all(source.polarity_of(c) == 1 for c in wanted)
