"""Reading a message: narrative versus asks, the kind of answer each ask wants."""

from __future__ import annotations

import pytest

from assistant.gates.message import MAX_ASKS, ask_kind, read_message


@pytest.mark.parametrize(
    ("ask", "kind"),
    [
        ("How many sets of bridges?", "how_many"),
        ("how long will the sitting pain last?", "how_long"),
        ("Why does it hurt on hills?", "why"),
        ("What do you recommend?", "advice"),
        ("What is my next step?", "advice"),
        ("so what's going on?", "what"),
        ("Is it safe to keep running?", "should"),
        ("Can I do speed work?", "can"),
        ("Which exercise first?", "which"),
        ("Has anyone tried PRP?", "other"),
    ],
)
def test_ask_kinds(ask: str, kind: str) -> None:
    assert ask_kind(ask) == kind


def test_a_story_is_split_into_narrative_and_asks() -> None:
    m = read_message(
        "I've had a deep ache at my sit bone for 3 months. Sitting at work is the worst. "
        "I stopped running for 6 weeks and it came back. What is this? Is it safe to keep "
        "running? Any ideas how I can get better?"
    )
    assert m.narrative.startswith("I've had a deep ache") and "Sitting at work" in m.narrative
    assert [a.kind for a in m.asks] == ["what", "should", "advice"]
    # subject-less asks are retrieved with the story's words; each query keeps its own ask
    for ask, query in zip(m.asks, m.queries(), strict=True):
        assert ask.text in query and "sit bone" in query


def test_an_ask_with_its_own_subject_is_retrieved_as_written() -> None:
    m = read_message("My butt hurts after runs. Does foam rolling help high hamstring pain?")
    assert m.queries() == ["Does foam rolling help high hamstring pain?"]


@pytest.mark.parametrize("message", [
    "I take collagen every day for my sit bone pain.", "collagen", "What is PHT?",
    "Sit bone ache. What is it and how do I fix it? Also hills?",
])
def test_every_ask_has_an_antecedent(message: str) -> None:
    m = read_message(message)
    assert len(m.antecedents) == len(m.asks) and len(m.queries()) == len(m.asks)


def test_a_plain_question_is_one_ask_and_no_narrative() -> None:
    m = read_message("Should I stretch my hamstrings?")
    assert m.narrative == "" and [a.text for a in m.asks] == ["Should I stretch my hamstrings?"]
    assert read_message("tell me about PHT").asks[0].text == "tell me about PHT"


def test_many_questions_keep_the_last_few() -> None:
    m = read_message(" ".join(f"Question {i} about tendons?" for i in range(6)))
    assert len(m.asks) == MAX_ASKS and m.asks[-1].text == "Question 5 about tendons?"


def test_one_sentence_joining_two_questions_is_two_asks() -> None:
    m = read_message("Deep ache at the sit bone since March. What is this and what should I be doing??")
    assert [a.text for a in m.asks] == ["What is this?", "what should I be doing??"]
    assert m.narrative == "Deep ache at the sit bone since March."
    m = read_message("My sit bone hurts. Does rest and ice help, or should I keep running?")
    assert [a.text for a in m.asks] == ["Does rest and ice help?", "should I keep running?"]
    assert len(read_message("Does rest and ice help my sit bone pain?").asks) == 1


def test_an_alternative_pointing_back_is_the_same_ask() -> None:
    m = read_message("Foam rolling nightly. Should I keep foam rolling or is that pointless?")
    assert [a.text for a in m.asks] == ["Should I keep foam rolling or is that pointless?"]


def test_asks_past_the_limit_are_kept_as_dropped_in_order() -> None:
    asks = ["Can I do hills?", "Can I do tempo?", "How many nordics?", "Should I stretch?",
            "Why does sitting hurt?", "How long will it take?"]
    m = read_message("Sore sit bone. " + " ".join(asks))
    assert len(m.asks) == MAX_ASKS and m.asks[-1].text == "How long will it take?"
    assert m.dropped == tuple(asks[: len(asks) - MAX_ASKS])
    assert read_message("Can I run? Should I stretch?").dropped == ()
    assert read_message(" ".join(["Can I run?"] * (MAX_ASKS + 2))).dropped == ()  # answered
    # a cry for help or a sign-off asks nothing in particular: it makes way, and is not named
    m = read_message("Help! Sit bone pain. " + " ".join(asks[:MAX_ASKS]) + " Any advice?")
    assert [a.text for a in m.asks] == asks[:MAX_ASKS] and m.dropped == ()


def test_generic_words_do_not_make_a_subject() -> None:
    m = read_message("Sore sit bone after long runs. What should I actually be doing?")
    assert not m.asks[0].has_subject


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Sore at the top of my hamstring for weeks. I have no idea what this spot is called.", "what"),
        ("Ache deep in my glute after intervals. Not sure what to do.", "advice"),
        ("My sit bone aches on long runs. I wonder how long this takes to settle.", "how_long"),
    ],
)
def test_an_indirect_question_is_an_ask(message: str, kind: str) -> None:
    m = read_message(message)
    assert [a.kind for a in m.asks] == [kind]
    assert m.narrative and m.narrative not in m.asks[0].text


def test_a_hedging_question_mark_asks_nothing() -> None:
    m = read_message("It hurts where the hamstring meets the butt (?) after long runs. What is it?")
    assert [a.text for a in m.asks] == ["What is it?"]


def test_a_comma_between_two_questions_makes_two_asks() -> None:
    m = read_message("what actually is PHT, can i still run on it, and how do i get rid of it?")
    assert [a.text for a in m.asks] == [
        "what actually is PHT?", "can i still run on it?", "how do i get rid of it?"]
    # a clause before the comma that asks nothing is no question of its own
    assert len(read_message("If it hurts at the sit bone, can I still run?").asks) == 1


def test_a_later_ask_pointing_back_is_read_with_the_asks_before_it() -> None:
    first, second = read_message("What is PHT, can I still run on it?").queries()
    assert "What is PHT?" in second
    assert "can I still run" not in first  # an ask never borrows the ones after it
    # with a story, "it" is the story's complaint, not the ask before ("Should I stretch it?")
    m = read_message("Sit bone ache for 2 months. Should I stretch it? Is it OK to run on it?")
    assert "stretch" not in m.queries()[1] and "Sit bone ache" in m.queries()[1]


def test_a_pronoun_points_back_not_at_a_story_told_after_it() -> None:
    # the asks come first and an aside follows: "it" is the PHT of the first ask
    m = read_message("what actually is PHT, can i still run on it? my doctor said it in passing "
                     "and i was too embarrassed to ask lol")
    assert m.queries()[1] == "can i still run on it? what actually is PHT?"
    # with nothing named before it, an ask is read with the story told after it
    m = read_message("Is this normal?? Ran 10k yesterday and my sit bone aches when I sit.")
    assert "sit bone" in m.queries()[0]
    # each ask reads the story told before it, not what the reader says later
    m = read_message("Sit bone ache for 2 months. What is it? Then it flared after hills. "
                     "What should I do?")
    assert "hills" not in m.queries()[0] and "hills" in m.queries()[1]


@pytest.mark.parametrize(("message", "asks"), [
    ("ok and what about my hilly trail loop, same deal?",
     ["ok and what about my hilly trail loop, same deal?"]),
    ("Thanks, and what about hills?", ["Thanks, and what about hills?"]),
    # the words joining the two asks that are kept stay where they were
    ("yes and what about strides and how long until speedwork?",
     ["yes and what about strides?", "how long until speedwork?"]),
])
def test_a_leading_filler_word_is_no_ask_of_its_own(message: str, asks: list[str]) -> None:
    assert [a.text for a in read_message(message).asks] == asks


def test_the_second_half_of_a_question_points_at_the_first_half_when_it_names_something() -> None:
    m = read_message("The PHT is mostly sorted but now my heel hurts in the morning. "
                     "Is this plantar fasciitis and how do I get rid of it?")
    assert m.queries()[1].endswith("Is this plantar fasciitis?")
    assert "PHT" not in m.queries()[1]
    # a first half that names nothing leaves the story as what "it" points at
    m = read_message("My sit bone aches after runs. What is this and what should I do about it?")
    assert m.queries()[1].endswith("My sit bone aches after runs.")


@pytest.mark.parametrize(("message", "last"), [
    ("When can I do hills again? Also why does sitting still hurt when running feels fine now",
     "Also why does sitting still hurt when running feels fine now"),
    ("Rested six weeks and it came back. what is my next step", "what is my next step"),
])
def test_a_last_sentence_opening_as_a_question_asks_without_its_question_mark(
        message: str, last: str) -> None:
    assert read_message(message).asks[-1].text == last


@pytest.mark.parametrize(("message", "asks"), [
    ("Is it PHT? What I did was rest for a month.", ["Is it PHT?"]),
    # a verb first without "?" is a remark, not a question
    ("Is it PHT? Was my own fault for upping the mileage too fast", ["Is it PHT?"]),
])
def test_a_last_sentence_that_tells_is_not_an_ask(message: str, asks: list[str]) -> None:
    assert [a.text for a in read_message(message).asks] == asks


def test_a_clause_before_a_comma_that_asks_nothing_is_not_an_ask() -> None:
    for message in ("When I sit, why does it hurt?", "What can I do at work, when I am sitting all day?",
                    "Can I run, do you reckon?", "Where it hurts, is that the tendon?"):
        assert len(read_message(message).asks) == 1, message


def test_an_ask_about_running_through_it_is_read_with_the_story() -> None:
    m = read_message("Dull ache at my sit bone for 6 weeks, about 2/10 on runs. Can I keep training "
                     "through it?")
    assert "sit bone" in m.queries()[0]


def test_an_ask_pointing_back_at_the_story_is_read_with_it() -> None:
    m = read_message("The bony bit I sit on aches after runs. What's the proper name for that spot?")
    assert m.asks[0].has_subject
    assert "bony bit" in m.queries()[0]
    # a judgement of what the story told reads the story too
    judged = read_message("Running pain is 3/10, sitting 4/10. Is that ok to keep training?")
    assert "3/10" in judged.queries()[0]
    told = read_message("My sitting pain is worse after runs so I skip runs when it's bad. Good idea?")
    assert not told.asks[0].has_subject and "skip runs" in told.queries()[0]
    shoes = read_message("Ten weeks of heat and ice did nothing. What would you do in my shoes?")
    assert "heat and ice" in shoes.queries()[0]
    # an ask with a subject of its own that points at nothing in the story stays as written
    plain = read_message("The bony bit I sit on aches after runs. Are nordic curls good?")
    assert plain.queries() == ["Are nordic curls good?"]


@pytest.mark.parametrize("message", [
    "I don't know how it happened, but I felt a pop while sprinting and now it is bruised. Can I run?",
    "Not sure why, but the ache moved lower this week. It's worse after hills. Can I still run?",
])
def test_a_story_that_opens_with_not_knowing_is_not_an_ask(message: str) -> None:
    m = read_message(message)
    assert [a.text for a in m.asks] == [message.rsplit(". ", 1)[1]]
    assert m.narrative


def test_wondering_is_an_ask_without_a_question_word() -> None:
    m = read_message("My sit bone aches after runs. Wondering about nordic curls.")
    assert [a.text for a in m.asks] == ["Wondering about nordic curls."]
