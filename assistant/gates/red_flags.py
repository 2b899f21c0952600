"""Red-flag gate: does the user report a symptom that means "stop running, get evaluated"?

Deterministic and data-driven (``assistant/data/red_flags.yaml``; texts in
``escalation.yaml``). It checks the article's own list (fracture, bone stress injury,
nerve pain, pain greater than 5/10 with running) plus urgent signs (a sudden pop with
bruising or trouble walking, loss of bladder/bowel control, not being able to bear
weight, swelling after a fall, night/rest pain with fever or weight loss). Policy: a
flag fires on a *report or suspicion*; a question *about* red flags ("what are the red
flags?") is answered normally, negated mentions ("no numbness") and past ones ("a stress
fracture years ago") do not fire, and pain numbers are parsed ("6/10", "7 out of 10",
"a 8", "pain is 9"); ratings ("10/10 would recommend") and old injuries the writer says they
recovered from ("tore it years ago, fine since") do not fire.

Where a rule cannot be made precise, its hit is *tentative* and the learned layer
(``red_flag_model.py``) decides: a verb with common figurative uses ("snapped", "tore"), a
clause about someone else ("my son felt a pop", "her foot goes numb"), a past sentence with
no word of now, a question in a message that reports nothing, a score after another score
word ("my sleep score was 8/10"), a condition name in a sentence that reports or suspects
nothing. ``detect`` / ``check_red_flag`` return only the hits the rules decide;
``tentative`` the others; ``detect_all`` both. It reads only the current message, not the
history, and does not decide what the rest of the answer says (the service does).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast

from assistant.gate_data import load_data
from core.text import normalize

Severity = Literal["urgent", "see_clinician"]


@dataclass(frozen=True)
class RedFlag:
    """A red flag found in a question; ``message`` opens the answer."""

    flag: str
    severity: Severity
    message: str
    evidence: str  # the (normalised) words that triggered it
    tentative: bool = False  # a rule hit the rules cannot make precise: the learned layer decides


@dataclass(frozen=True)
class _Rule:
    groups: tuple[tuple[re.Pattern[str], ...], ...]  # every group must match (any pattern)
    needs_report: bool
    resolvable: bool


@dataclass(frozen=True)
class _Flag:
    id: str
    severity: Severity
    rules: tuple[_Rule, ...]


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class RedFlagRules:
    """Compiled rules from the YAML data; ``detect`` is pure."""

    def __init__(self, data: Mapping[str, Any], messages: Mapping[str, Any]):
        neg = data["negation"]
        self.window = int(neg["window"])
        self.post_window = int(neg["post_window"])
        self.cues, self.pseudo = _rx(neg["cues"]), _rx(neg["pseudo"])
        self.adjacent_cues = _rx(neg["adjacent_cues"])
        self.list_joiners = _rx(neg["list_joiners"])
        self.post_cues, self.terminators = _rx(neg["post_cues"]), _rx(neg["terminators"])
        self.resolved = _rx(data["resolved"])
        self.recovered, self.present = _rx(data["recovered"]), _rx(data["present"])
        self.recovered_negated = _rx(data["recovered_negated"])
        self.resolved_negatable = _rx(data["resolved_negatable"])
        self.resolved_healed_later = _rx(data["resolved_healed_later"])
        self.dated = _rx(data["dated"])
        self.imprecise = _rx(data["imprecise_evidence"])
        self.other_person, self.first_person = _rx(data["other_person"]), _rx(data["first_person"])
        self.clause_split = _rx(data["clause_split"])
        self.report = tuple(_rx(p) for p in data["report_markers"])
        self.about = tuple(_rx(p) for p in data["about_patterns"])
        self.sentence_split = _rx(data["sentence_split"])
        self.sentence_report = tuple(_rx(p) for p in data["sentence_report_markers"])
        self.suspicion = tuple(_rx(p) for p in data["sentence_suspicion_markers"])
        self.flags = tuple(
            _Flag(
                id=str(f["id"]),
                severity=cast(Severity, f["severity"]),
                rules=tuple(
                    _Rule(
                        groups=tuple(tuple(_rx(p) for p in g) for g in r["all"]),
                        needs_report=bool(r.get("needs_report", False)),
                        resolvable=bool(r.get("resolvable", False)),
                    )
                    for r in f["rules"]
                ),
            )
            for f in data["flags"]
        )
        pain = data["pain_scale"]
        self.pain = pain
        self.pain_strong = tuple(_rx(p) for p in pain["strong"])
        self.pain_weak = tuple(_rx(p) for p in pain["weak"])
        self.pain_words, self.units = _rx(pain["pain_words"]), _rx(pain["units"])
        self.counted, self.pain_before = _rx(pain["counted"]), _rx(pain["pain_before"])
        self.lower_bound, self.upper_bound = _rx(pain["lower_bound"]), _rx(pain["upper_bound"])
        self.sitting, self.running = _rx(pain["sitting_words"]), _rx(pain["running_words"])
        self.exercise = _rx(pain["exercise_words"])
        self.not_pain_score = _rx(pain["not_pain_score"])
        self.not_pain_after = _rx(pain["not_pain_after"])
        self.other_score = _rx(pain["other_score"])
        self.hypothetical = _rx(pain["hypothetical"])
        self.pain_clause_split = _rx(pain["clause_split"])
        words = {str(k): str(v) for k, v in pain["number_words"].items()}
        self.number_words = words
        self.number_rx = _rx(r"\b(" + "|".join(words) + r")\b")
        self.reasons: Mapping[str, str] = messages["reason"]
        self.actions: Mapping[str, str] = messages["action"]
        for fid in [f.id for f in self.flags] + [pain["id"]]:
            if fid not in self.reasons:
                raise KeyError(f"escalation.yaml has no red_flag.reason for {fid!r}")

    # --- text helpers ---------------------------------------------------------------
    def prepare(self, question: str) -> str:
        """Lower-case, plain typography, number words as digits.

        >>> default_rules().prepare("Pain is SEVEN out of ten\\u2019")
        "pain is 7 out of 10'"
        """
        text = normalize(unicodedata.normalize("NFKC", question), lower=True)  # full-width etc.
        return self.number_rx.sub(lambda m: self.number_words[m.group(1)], text)

    def _clause(self, text: str, pos: int, split: re.Pattern[str] | None = None) -> tuple[int, int]:
        start, end = 0, len(text)
        for m in (split or self.clause_split).finditer(text):
            if m.end() <= pos:
                start = m.end()
            elif m.start() >= pos:
                end = m.start()
                break
        return start, end

    def _negated(self, text: str, start: int, end: int) -> bool:
        c0, c1 = self._clause(text, start)
        before = text[c0:start]
        cut = [m.end() for m in self.terminators.finditer(before)]
        before = self.pseudo.sub(" _ ", before[cut[-1] :] if cut else before)
        if self.adjacent_cues.search(before):
            return True
        words = before.split()
        comma = max((i for i, w in enumerate(words) if w.endswith(",")), default=-1)
        words = words[: comma + 1] + [w for w in words[comma + 1 :] if not self.list_joiners.match(w)]
        if self.cues.search(" ".join(words[-self.window :])):
            return True
        after = " ".join(text[end:c1].split()[: self.post_window])
        return bool(self.post_cues.search(after))

    def _is_past(self, text: str, pos: int) -> bool:
        c0, c1 = self._clause(text, pos)
        return self._past(text[c0:c1])

    def _asks_about(self, text: str, pos: int) -> bool:
        """The sentence around ``pos`` asks ABOUT red flags and reports nothing itself
        ("What are the signs of a stress fracture?" inside a longer story)."""
        s0, s1 = self._clause(text, pos, self.sentence_split)
        sentence = text[s0:s1]
        return any(rx.search(sentence) for rx in self.about) and not any(
            rx.search(sentence) for rx in self.sentence_report
        )

    def _long_resolved(self, text: str, pos: int) -> bool:
        """The sentence around ``pos`` is set in the past (or dated by a year), the message says
        the writer recovered ("tore it years ago, fine since", "tingling in 2017, long
        resolved"), and the sentence says nothing of now."""
        s0, s1 = self._clause(text, pos, self.sentence_split)
        sentence = text[s0:s1]
        # a negated state that the sentence itself then ends is past too: "wasn't healed for
        # 8 weeks, no problems since"
        past = self._past(sentence) or self.dated.search(sentence) or (
            self.resolved.search(sentence) and self._says_recovered(sentence))
        return bool(past and self._says_recovered(text) and not self.present.search(sentence))

    def _past(self, text: str) -> bool:
        """``text`` has a past marker ("years ago", "healed") with no negation just before it:
        "it hasn't healed" and "never healed" are now.

        >>> r = default_rules()
        >>> [r._past(t) for t in ("a fracture years ago, healed", "my fracture hasn't healed")]
        [True, False]
        """
        return any(not self.resolved_negatable.match(m.group(0))
                   or self.resolved_healed_later.match(text, m.end()) or not self._denied(text, m)
                   for m in self.resolved.finditer(text))

    def _says_recovered(self, text: str) -> bool:
        """``text`` says the writer recovered: a recovery word with no negation just before it
        ("fine since" does, "it never went away" and "hasn't healed" do not).

        >>> r = default_rules()
        >>> [r._says_recovered(t) for t in ("fully healed, fine since", "it never went away")]
        [True, False]
        """
        return any(not self._denied(text, m) for m in self.recovered.finditer(text))

    def _denied(self, text: str, m: re.Match[str]) -> bool:
        """A negation stands just before the recovery or past word ``m`` ("never went away")."""
        return bool(self.recovered_negated.search(text[max(0, m.start() - 30) : m.start()]))

    def _uncertain(self, text: str, start: int, end: int, reported: bool,
                   resolvable: bool = True) -> bool:
        """What no rule can settle about a hit: someone else named last; for a rule whose
        finding can be over (``resolvable``: a fracture, a pop), a past sentence with no word of
        now ("couldn't walk for days after my first ultra, five years ago"); a question in a
        message that reports nothing ("what causes tingling down the leg?"). "It started two
        months ago and my pain is 7/10" is a report of now: a pain score is not resolvable."""
        if self.someone_else(text, start, end):
            return True
        s0, s1 = self._clause(text, start, self.sentence_split)
        sentence = text[s0:s1]
        if resolvable and self._past(sentence) and not self.present.search(sentence):
            return True
        return not reported and text[s1 : s1 + 1] == "?"

    def _other_score(self, text: str, pos: int) -> bool:
        """A score word other than pain before the number in its clause, and no pain word."""
        s0, s1 = self._clause(text, pos, self.pain_clause_split)
        return bool(self.other_score.search(text[s0:pos]) and not self.pain_words.search(text[s0:s1]))

    def someone_else(self, text: str, start: int, end: int) -> bool:
        """The person the sentence names last, up to the end of the hit, is someone else (his,
        her, my brother's...), not the writer: a rule cannot tell "my son felt a pop" (a parent
        writing: escalate) from "my dad has shooting pain down his leg", so the learned layer
        decides."""
        s0, _s1 = self._clause(text, start, self.sentence_split)
        span = text[s0:end]
        last = {m.start(): False for m in self.other_person.finditer(span)}
        last.update({m.start(): True for m in self.first_person.finditer(span)})
        return bool(last) and not last[max(last)]

    def _sentence_reports(self, text: str, pos: int) -> bool:
        s0, s1 = self._clause(text, pos, self.sentence_split)
        return any(rx.search(text[s0:s1]) for rx in (*self.sentence_report, *self.suspicion))

    def _first_live(
        self, text: str, group: Sequence[re.Pattern[str]], resolvable: bool,
        needs_report: bool = False, reported: bool = True,
    ) -> tuple[str, bool]:
        """The first live hit of ``group`` (a precise one before an imprecise one) and whether
        it is tentative; ("", False) when nothing live matches. A condition name (a rule that
        ``needs_report``) in a sentence that reports nothing itself is tentative: "people
        mention stress fractures" in a story that says "I" elsewhere."""
        fallback: tuple[str, bool] = ("", False)
        for rx in group:
            for m in rx.finditer(text):
                if self._negated(text, m.start(), m.end()):
                    continue
                if resolvable and self._is_past(text, m.start()):
                    continue
                if self._asks_about(text, m.start()) or self._long_resolved(text, m.start()):
                    continue
                tentative = bool(self.imprecise.fullmatch(m.group(0).strip())) or self._uncertain(
                    text, m.start(), m.end(), reported, resolvable)
                tentative = tentative or (needs_report and not self._sentence_reports(text, m.start()))
                if not tentative:
                    return m.group(0), False
                if not fallback[0]:
                    fallback = (m.group(0), True)
        return fallback

    # --- pain numbers ---------------------------------------------------------------
    def pain_over_threshold(self, text: str, reported: bool) -> str:
        """The words reporting pain above the threshold in prepared ``text``, or "".

        >>> r = default_rules()
        >>> [r.pain_over_threshold(r.prepare(q), True) for q in ("it's 6/10", "is 2/10 ok?")]
        ['6/10', '']
        >>> r.pain_over_threshold(r.prepare("New shoes: 10/10 would recommend"), True)
        ''
        """
        return self._pain_hit(text, reported)[0]

    def _pain_said_before(self, text: str, m: re.Match[str]) -> bool:
        """A pain word right before the score ``m``, written N/10 or N out of 10 ("hamstring
        pain 7/10 intervals today"): pain on those efforts, not a count of them."""
        bare_of = "of 10" in m.group(0).replace("out of 10", "")  # "some aches 7 of 10 attempts"
        return not bare_of and bool(self.pain_before.search(text[max(0, m.start() - 30) : m.start()]))

    def _pain_hit(self, text: str, reported: bool) -> tuple[str, int]:
        patterns = [(rx, self.counted) for rx in self.pain_strong]
        if self.pain_words.search(text):
            patterns += [(rx, self.units) for rx in self.pain_weak]
        for rx, units in patterns:
            for m in rx.finditer(text):
                if units.match(text, m.end()) and not (
                        units is self.counted and self._pain_said_before(text, m)):
                    continue  # "a 10 mile run"; "7 out of 10 intervals" is a count
                values = [float(v) for v in (m.group("n"), _opt(m, "m")) if v]
                if not values or max(values) > 10:
                    continue
                value = max(values)
                prefix = text[max(0, m.start("n") - 25) : m.start("n")]
                if self.not_pain_score.search(prefix):
                    continue  # "RPE 8/10", "effort 9 out of 10", "since 6/10" (a date)
                comparator = bool(self.lower_bound.search(prefix))
                if comparator:
                    value += 0.5
                elif self.upper_bound.search(prefix):
                    value -= 0.5
                if value <= float(self.pain["threshold"]):
                    continue
                c0, _ = self._clause(text, m.start())
                hypothetical = self.hypothetical.search(text[c0 : m.start()])
                strict = bool(self.pain.get("comparator_needs_report", True))
                if comparator and strict and (not reported or hypothetical):
                    continue
                if self._negated(text, m.start(), m.end()) or self._asks_about(text, m.start()):
                    continue
                if self.not_pain_after.match(text, m.end()) or self._long_resolved(text, m.start()):
                    continue  # "10/10 would recommend", "a 7/10 injury years ago, fine since"
                s0, s1 = self._clause(text, m.start(), self.pain_clause_split)
                clause = text[s0:s1]
                # the flag is pain WITH RUNNING: a clause about sitting or about an exercise
                # (whose own limit is 3/10) without running words is not it
                other = self.sitting.search(clause) or self.exercise.search(clause)
                sitting_only = other and not self.running.search(clause)
                if sitting_only and value < float(self.pain["sitting_exempt_below"]):
                    continue
                if self._past(clause):  # "it was 7/10 last year, now 2/10"
                    continue
                return m.group(0).strip(), m.start()
        return "", -1

    # --- the gate -------------------------------------------------------------------
    def _make(self, fid: str, severity: Severity, evidence: str, tentative: bool = False) -> RedFlag:
        message = f"{self.reasons[fid].strip()} {self.actions[severity].strip()}"
        return RedFlag(fid, severity, message, evidence, tentative)

    def flag_ids(self) -> tuple[str, ...]:
        """Every flag id that has an escalation message."""
        return (*(f.id for f in self.flags), str(self.pain["id"]))

    def flag(self, fid: str, evidence: str) -> RedFlag:
        """The red flag ``fid`` with its escalation message (for the learned layer's hits)."""
        severity = next((f.severity for f in self.flags if f.id == fid), None)
        if severity is None:
            severity = cast(Severity, self.pain["severity"])
        return self._make(fid, severity, evidence)

    def detect(self, question: str) -> list[RedFlag]:
        """Every red flag the rules decide, most severe first (YAML order, pain last)."""
        return [f for f in self.detect_all(question) if not f.tentative]

    def tentative(self, question: str) -> list[RedFlag]:
        """Rule hits the rules cannot make precise (an imprecise word like "snapped", or a
        clause about someone else): the learned layer confirms or vetoes them.

        >>> [(f.flag, f.evidence) for f in default_rules().tentative("My brother's leg is numb")]
        [('nerve', 'numb')]
        """
        found = self.detect_all(question)
        decided = {f.flag for f in found if not f.tentative}
        return [f for f in found if f.tentative and f.flag not in decided]

    def detect_all(self, question: str) -> list[RedFlag]:
        """Decided and tentative hits, most severe first; a flag appears once (decided if any
        of its rules decides)."""
        text = self.prepare(question)
        reported = any(rx.search(text) for rx in self.report)
        if not reported and any(rx.search(text) for rx in self.about):
            return []  # a question ABOUT red flags, answered normally
        found: list[RedFlag] = []
        for flag in self.flags:
            best: RedFlag | None = None
            for rule in flag.rules:
                if rule.needs_report and not reported:
                    continue
                hits = [self._first_live(text, g, rule.resolvable, rule.needs_report, reported)
                        for g in rule.groups]
                if all(h for h, _t in hits):
                    # an urgent sign (bladder/bowel control, fever with night pain...) always
                    # escalates when a live rule finds it: no model may veto it
                    tentative = flag.severity != "urgent" and any(t for _h, t in hits)
                    if best is None or (best.tentative and not tentative):
                        best = self._make(flag.id, flag.severity, " … ".join(h for h, _t in hits),
                                          tentative)
                    if not tentative:
                        break
            if best is not None:
                found.append(best)
        evidence, pos = self._pain_hit(text, reported)
        if evidence:
            found.append(self._make(self.pain["id"], self.pain["severity"], evidence,
                                    self._uncertain(text, pos, pos + len(evidence), reported,
                                                    resolvable=False)
                                    or self._other_score(text, pos)))
        order = {"urgent": 0, "see_clinician": 1}
        return sorted(found, key=lambda f: order[f.severity])


def _opt(m: re.Match[str], name: str) -> str | None:
    return m.groupdict().get(name)


@lru_cache(maxsize=1)
def default_rules() -> RedFlagRules:
    """Rules from the packaged ``red_flags.yaml`` and ``escalation.yaml`` (cached)."""
    return RedFlagRules(load_data("red_flags.yaml"), load_data("escalation.yaml")["red_flag"])


def detect_red_flags(question: str, rules: RedFlagRules | None = None) -> list[RedFlag]:
    """All red flags in ``question``, most severe first.

    >>> [f.flag for f in detect_red_flags("I felt a pop and now there's a huge bruise")]
    ['tendon_tear', 'sudden_pop']
    """
    return (rules or default_rules()).detect(question)


def check_red_flag(question: str, rules: RedFlagRules | None = None) -> RedFlag | None:
    """The red flag that opens the answer, or ``None``.

    >>> check_red_flag("Pain is 7 out of 10 when I run").flag
    'pain_over_5'
    >>> check_red_flag("What are the red flags for not running?") is None
    True
    >>> check_red_flag("No numbness, just achy after long runs") is None
    True
    """
    found = detect_red_flags(question, rules)
    return found[0] if found else None
