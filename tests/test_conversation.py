"""Offline follow-up rewriting: worked examples, held-out phrasings, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.gates.conversation import default_followup_rules, rewrite_followup
from assistant.models import Turn


def user(text: str) -> Turn:
    return Turn("user", text)


def bot(text: str) -> Turn:
    return Turn("assistant", text)


SITTING = [user("Why does my butt hurt when I sit at work?"), bot("Sitting puts pressure ...")]
PHT = [user("What is PHT?"), bot("Proximal hamstring tendinopathy is ...")]


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        # the brief's examples
        ("and how do I fix it?", SITTING, "How do I fix pain when sitting?"),
        (
            "what about hills?",
            [user("Can I run with PHT?")],
            "Can I run with PHT — what about hills?",
        ),
        (
            "how long does that take?",
            [user("How do I get rid of sitting pain?")],
            "How long does pain when sitting take?",
        ),
        ("is it bad?", SITTING, "Is pain when sitting bad?"),
        (
            "what exercises help with that?",
            PHT,
            "What exercises help with proximal hamstring tendinopathy (PHT)?",
        ),
        # named exercise, determiner phrase, plural pronoun
        (
            "how many reps of that exercise?",
            [user("Is the fire hydrant exercise good?")],
            "How many reps of the fire hydrant exercise?",
        ),
        (
            "how often should I do them?",
            [user("Which exercises help PHT?")],
            "How often should I do strengthening exercises for PHT?",
        ),
        ("are they safe?", [user("Do injections work for PHT?")], "Are injections safe?"),
        # elliptical swap of a same-kind entity
        (
            "what about single leg bridges?",
            [user("How many reps of nordic curls should I do?")],
            "How many reps of single leg bridges should I do?",
        ),
        (
            "and speed work?",
            [user("When can I add hills back?")],
            "When can I add speed work back?",
        ),
        # expletive "it": the question borrows the topic instead
        (
            "Is it ok to run?",
            [user("I think I have PHT")],
            "Is it ok to run with proximal hamstring tendinopathy (PHT)?",
        ),
    ],
)
def test_rewrites(question: str, history: list[Turn], expected: str) -> None:
    assert rewrite_followup(question, history) == expected


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        (
            "So can I still run with it?",
            [user("my sit bone hurts after runs")],
            "Can I still run with high hamstring pain at the sit bone?",
        ),
        (
            "why does that happen?",
            [user("I get pain in my butt after long runs")],
            "Why does high hamstring pain at the sit bone happen?",
        ),
        (
            "ok, does it work?",
            [user("I read about dry needling for hamstrings")],
            "Does dry needling work?",
        ),
        (
            "What about foam rolling?",
            [user("Does stretching help high hamstring tendinopathy?")],
            "Does foam rolling help high hamstring tendinopathy?",
        ),
        (
            "how do I do it properly?",
            [user("Tell me about the single leg RDL")],
            "How do I do the single leg Romanian deadlift properly?",
        ),
        (
            "Any tips?",
            [user("I'm dealing with hamstring tendonitis")],
            "Any tips with proximal hamstring tendinopathy (PHT)?",
        ),
    ],
)
def test_held_out_phrasings(question: str, history: list[Turn], expected: str) -> None:
    assert rewrite_followup(question, history) == expected


def test_topic_carries_through_a_chain_of_followups() -> None:
    history = [user("What is PHT?"), bot("..."), user("and how do I fix it?"), bot("...")]
    assert (
        rewrite_followup("is it bad?", history) == "Is proximal hamstring tendinopathy (PHT) bad?"
    )


def test_latest_topic_wins() -> None:
    history = [user("What is PHT?"), bot("..."), user("Does foam rolling help?"), bot("...")]
    assert rewrite_followup("how often should I do it?", history) == (
        "How often should I do foam rolling the hamstrings?"
    )


def test_assistant_turns_do_not_supply_topics() -> None:
    history = [user("hello"), bot("Dry needling and foam rolling are ...")]
    assert rewrite_followup("is it bad?", history) == "is it bad?"


@pytest.mark.parametrize(
    "question",
    [
        "What is PHT?",
        "Can I run with proximal hamstring tendinopathy?",
        "My hamstring hurts, should I stretch it?",
        "How should hill running be added back after a hamstring injury?",
        "thanks!",
        "Why does my glute feel weak during single leg bridges on the left side only?",
    ],
)
def test_standalone_questions_unchanged(question: str) -> None:
    assert rewrite_followup(question, SITTING) == question
    assert rewrite_followup(question, PHT) == question


def test_no_history_means_no_rewrite() -> None:
    assert rewrite_followup("is it bad?", []) == "is it bad?"


@pytest.mark.parametrize(("question", "expected"), [
    ("How is it treated?", "How is PHT treated?"),
    ("so how do I fix it?", "How is PHT treated?"),
    ("how serious is it?", "How serious is PHT?"),
    # a bare ask for advice asks how PHT is treated
    ("What should I do?", "How is PHT treated?"),
    ("what is my next step", "How is PHT treated?"),
    ("Any tips?", "How is PHT treated?"),
    ("What causes it?", "What causes PHT?"),
    ("What is the treatment for it?", "What is the treatment for PHT?"),
    ("What's the treatment for it?", "What's the treatment for PHT?"),
    ("Will it go away on its own?", "Will PHT go away on its own?"),
])
def test_a_first_message_about_it_asks_about_pht(question: str, expected: str) -> None:
    assert rewrite_followup(question, []) == expected


def test_only_the_first_message_takes_the_default_topic() -> None:
    knee = [user("My knee hurts after every run."), Turn("assistant", "...")]
    assert rewrite_followup("What should I do?", knee) == "What should I do?"
    assert rewrite_followup("How is it treated?", knee) == "How is it treated?"


@pytest.mark.parametrize("question", [
    "What time is it?", "Is it raining?", "Is it contagious?", "Is it ok to run?",
    "I rolled my ankle, how do I fix it?", "Does stretching fix it?", "Who is it?",
    "I am bored, what should I do?", "My knee hurts. What should I do?", "Help?",
    "What should I do for dinner?", "Any tips for my marathon?", "What should I do if it is 8/10?",
    "Is it you?", "How did it go?", "IT?", "Is it крапива?", "Is it 2024?", "What is it?",
    "Will it fix it?", "Should I keep it?", "Is it still running?", "Any tips to run?",
    "What should I do to run?", "Should I take it?", "How often should I take it?",
    "How much of it should I take?",
])
def test_a_first_message_naming_anything_else_is_left_as_written(question: str) -> None:
    assert rewrite_followup(question, []) == question


def test_entities_are_data_driven() -> None:
    ids = [e.id for e in default_followup_rules().entities]
    assert {"pht", "sitting_pain", "nordic", "hills"} <= set(ids)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80), st.lists(st.text(max_size=60), max_size=3))
def test_never_raises_and_empty_history_is_identity(question: str, past: list[str]) -> None:
    first = rewrite_followup(question, [])  # only a bare question about "it" names the subject
    assert first == question or ("PHT" in first and "pht" not in question.lower())
    out = rewrite_followup(question, [user(p) for p in past])
    assert isinstance(out, str)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_deterministic(question: str) -> None:
    assert rewrite_followup(question, SITTING) == rewrite_followup(question, SITTING)


@pytest.mark.parametrize(
    ("history", "question"),
    [
        (["When can I add hills back after my hamstring tendinopathy?"], "Can I keep running?"),
        (["Does foam rolling help PHT?"], "What's the capital of France?"),
        (["How many reps of nordic curls should I do?"], "Write me a python script"),
        (["Is hill running bad for PHT?", "What about speed work?"], "Should I see a physio?"),
        (["Does foam rolling help?"], "Is stretching good for high hamstring pain?"),
    ],
)
def test_a_question_that_stands_alone_is_never_rewritten_with_an_old_sub_topic(
    history: list[str], question: str
) -> None:
    got = rewrite_followup(question, [user(h) for h in history])
    for leaked in ("hill", "foam", "nordic", "speed"):
        assert leaked not in got.lower() or leaked in question.lower(), got


def test_a_bare_measure_question_borrows_the_exercise() -> None:
    got = rewrite_followup("How many sets?", [user("How do I do nordic curls?")])
    assert "nordic" in got.lower()


@pytest.mark.parametrize("question", [
    "with sore knees, can I still do them?", "Stiff hips in the morning, should I still do them?",
])
def test_a_plural_pronoun_after_a_sore_body_part_still_points_at_the_exercises(question: str) -> None:
    history = [user("Which exercises help PHT?")]
    assert rewrite_followup(question, history) != question


@pytest.mark.parametrize(
    "question",
    [
        "different thing - rolled my ankle on a trail yesterday and it's swollen. can i run on it?",
        "My knee clicks on the stairs, is that normal?",
        "I have a bad knee, can I run on it?",
        "My IT band is tight, should I roll it?",
        "Ankle feels unstable since I rolled it last month. How do I get back to trail running?",
        "Left knee clicks on the stairs, should I get it checked?",
        "Lower back is stiff since I tweaked it, can I run?",
        "also random q, my son wakes up at night with aching shins. is that normal?",
    ],
)
def test_a_pronoun_after_a_thing_the_message_names_refers_to_that_thing(question: str) -> None:
    for history in (SITTING, PHT):
        assert rewrite_followup(question, history) == question


@pytest.mark.parametrize(
    "question",
    ["What's the point of it?", "Is there a cure for it?", "Does the research support it?",
     "Should I do it on that side too?"],
)
def test_a_pronoun_after_a_noun_that_is_no_complaint_still_refers_back(question: str) -> None:
    assert "sit" in rewrite_followup(question, SITTING).lower()


@pytest.mark.parametrize("question", [
    "is that the same in the older article?",
    "Was that a tear then?",
    "isn't that a bad sign?",
])
def test_that_after_is_or_was_points_back(question: str) -> None:
    assert "sit" in rewrite_followup(question, SITTING).lower()


@pytest.mark.parametrize("question", [
    "What is that a sign of?", "Why is that a problem for runners?", "How is that the same as PHT?",
])
def test_that_after_a_question_word_and_is_points_back(question: str) -> None:
    assert "sit" in rewrite_followup(question, SITTING).lower()


@pytest.mark.parametrize("question", [
    "I read that the tendon needs load. How often should I train?",
    "The advice is that you rest. Do you agree?",
])
def test_that_opening_a_clause_of_its_own_does_not_point_back(question: str) -> None:
    assert rewrite_followup(question, SITTING) == question


@pytest.mark.parametrize("question", [
    "Knee bent or straight when I do them?",
    "Do calf raises help it too?",
    "Would heel lifts in my shoes ease it?",
])
def test_a_body_part_word_that_names_no_complaint_of_its_own_leaves_the_pronoun_pointing_back(
    question: str,
) -> None:
    history = [user("How do I do single leg bridges?"), bot("Lie on your back ...")]
    assert "bridge" in rewrite_followup(question, history).lower()


def test_a_word_in_the_list_that_is_no_body_part_here_does_not_hold_the_pronoun() -> None:
    assert "sit" in rewrite_followup("Does cold weather make it worse?", SITTING).lower()


def test_a_pronoun_with_nothing_before_it_still_refers_back() -> None:
    got = rewrite_followup("so is it worse after a long run?", SITTING)
    assert got != "so is it worse after a long run?" and "sit" in got.lower()


@pytest.mark.parametrize(
    "question",
    [
        "another thing: my IT band on the outside of the knee flares at mile 4. any tips?",
        "that spot at the top of the back of my thigh is sore on hills again. ok to keep going?",
        "this area under my glute aches when I drive, is that normal?",
    ],
)
def test_words_that_look_like_pronouns_but_name_a_thing_are_kept(question: str) -> None:
    assert rewrite_followup(question, SITTING) == question


def test_a_demonstrative_phrase_is_what_is_referred_to() -> None:
    history = [user("How many reps of nordic curls should I do?")]
    got = rewrite_followup("is the pain from that exercise normal?", history)
    assert got.lower().startswith("is the pain from") and "nordic" in got.lower()


@pytest.mark.parametrize(
    "question",
    [
        "Different question: is it genetic?",
        "off-topic but is it worth it?",
        "one more, nothing to do with my hamstring: how do I fix it?",
        "Switching gears, is that normal?",
        "totally unrelated - can I still do them?",
    ],
)
def test_a_message_that_opens_by_changing_the_subject_is_not_rewritten(question: str) -> None:
    # each would borrow the topic without its opening words
    for history in (SITTING, PHT):
        assert rewrite_followup(question, history) == question


@pytest.mark.parametrize(
    "question",
    [
        "while I have you, how long should I rest it?",
        "side note: it hurts more after hills, should I stop doing them?",
        "is it a different thing from a hamstring strain?",
        "I only have resistance bands at home, can I still do them?",
    ],
)
def test_the_same_words_inside_a_follow_up_do_not_stop_it(question: str) -> None:
    history = [user("How many reps of nordic curls should I do?")]
    assert rewrite_followup(question, history) != question


def test_how_long_it_takes_refers_to_the_topic_but_extraposed_it_does_not() -> None:
    # "it is ok to", "does it help to" are the empty "it" of English; "how long does it take
    # to heal" asks how long the thing talked about takes (it was masked, then judged alone)
    assert rewrite_followup("How long does it take to heal?", PHT) == (
        "How long does proximal hamstring tendinopathy (PHT) take to heal?")
    assert rewrite_followup("How long does it take to heal?", []) == "How long does PHT take to heal?"
    assert rewrite_followup("Does it help to stretch?", PHT) == "Does it help to stretch?"
