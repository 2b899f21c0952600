"""The real assistant on real-language shapes: stories, follow-ups, neighbours, red flags.

The issue's own examples, end to end with the real model and index (the labelled sets in
``pht eval`` measure the rest). Assertions are about behaviour, not wording.
"""

from __future__ import annotations

import re

import pytest

from assistant.models import Turn
from assistant.service import Assistant, build_assistant

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def assistant(real_index, real_embedder) -> Assistant:  # type: ignore[no-untyped-def]
    return build_assistant(real_index, embedder=real_embedder, backend="extractive")


def test_off_topic_after_a_pht_question_is_out_of_scope(assistant: Assistant) -> None:
    history = [Turn("user", "Does foam rolling help my high hamstring pain?"),
               Turn("assistant", "The newer article says passive treatments won't fix it.")]
    a = assistant.ask("What's the capital of France?", history)
    assert a.status == "out_of_scope"
    assert "foam" not in a.standalone_question.lower()


def test_a_self_contained_follow_up_is_answered_as_asked(assistant: Assistant) -> None:
    history = [Turn("user", "When can I add hills back after PHT?"),
               Turn("assistant", "Hills and speed come last, after a base of 2-4 months.")]
    a = assistant.ask("Can I keep running?", history)
    assert a.status == "answered"
    assert "hill" not in a.standalone_question.lower()


def test_a_new_subject_in_the_middle_of_a_conversation_is_judged_as_written(
    assistant: Assistant,
) -> None:
    history = [Turn("user", "Should I stretch my high hamstring tendinopathy?"),
               Turn("assistant", "The articles say stretching doesn't fix it.")]
    a = assistant.ask("different question - jammed my thumb in the car door yesterday and it's "
                      "throbbing and purple. can I still do my long run with it like this?", history)
    assert "stretch" not in a.standalone_question.lower()  # "it" is the thumb
    assert a.status in ("out_of_scope", "red_flag")
    # the rewrite leaves every message that names its own subject alone, and the scope gate
    # judges it as written: another body part, whatever running it talks about
    b = assistant.ask("Separate issue: I've had a stiff neck since sleeping funny on the plane, "
                      "it cracks when I turn my head. Is it safe to run with it?", history)
    assert "stretch" not in b.standalone_question.lower()
    assert b.status == "out_of_scope"


@pytest.mark.parametrize("history", [(), (
    Turn("user", "Should I stretch my high hamstring tendinopathy?"),
    Turn("assistant", "The articles say stretching doesn't fix it."),
)])
def test_a_running_story_about_another_body_part_is_out_of_scope(
    assistant: Assistant, history: tuple[Turn, ...],
) -> None:
    for message in (
        "The top of my foot aches after my runs, right over the laces, and it's a bit puffy in "
        "the evening. What could be causing it?",
        "Ankle feels unstable since I rolled it on a root last month, no swelling now. How do I "
        "get back to trail running?",
        "I get a cramp in my stomach halfway through long runs, usually around 15k. What causes it?",
        # a diagnosis ask about another body part is refused too, not answered about PHT
        "The outside of my knee hurts at 8k on every run. What is causing my pain?",
    ):
        assert assistant.ask(message, list(history)).status == "out_of_scope", message
    # the PHT region named beside another part: answered
    a = assistant.ask("The pain is right at my sit bone and sometimes it spreads a little towards "
                      "the back of my knee. Is that still PHT?", list(history))
    assert a.status == "answered"


def test_a_message_that_sets_the_topic_aside_is_judged_without_it(assistant: Assistant) -> None:
    # "hamstring" here says what the message is NOT about: the blister question is refused
    a = assistant.ask("Not hamstring related: I've got a blister on my heel, should I pop it "
                      "before my race?")
    assert a.status == "out_of_scope"
    # a denial beside the PHT region keeps the region: answered
    a = assistant.ask("I don't think it has anything to do with my hamstring, the pain is right "
                      "at my sit bone when I sit. What is it?")
    assert a.status == "answered"


def test_superseded_older_advice_is_not_quoted_as_advice(assistant: Assistant) -> None:
    older = "corpus/is-it-ok-to-run-with-hamstring-pain.txt"
    for question in ("Is foam rolling my hamstring worth doing for PHT?",
                     "Will dry needling or sports massage fix my high hamstring tendinopathy?",
                     # story words are no question about the older article
                     "I used to foam roll my hamstrings every day, should I keep doing it?",
                     "My previous physio did dry needling. Should I get more needling for PHT?"):
        a = assistant.ask(question)
        # the newer word is quoted, the older article's foam rolling / needling / massage
        # advice is not; the edition notice says what the older article recommended
        assert any("not going to be the fix" in c.quote for c in a.citations), question
        stale = [c.quote for c in a.citations if c.source == older and re.search(
            r"(?i)foam roll|needling|massage", c.quote)]
        assert stale == [], question
        assert any(n.startswith("Edition conflict") for n in a.notices), question
    # asked what the older article says: its sentences are quoted
    a = assistant.ask("What did the older article say about dry needling?")
    assert any(c.source == older and "needl" in c.quote.lower() for c in a.citations)
    # superseded advice the question does not reach brings no edition notice
    for question in ("why does my upper hamstring hurt so much more going up hills than on the flat?",
                     "my hamstrings are so tight i can't touch my toes. surely stretching them helps?"):
        a = assistant.ask(question)
        assert not any(n.startswith("Edition conflict") for n in a.notices), question


def test_a_number_of_years_is_not_numbness(assistant: Assistant) -> None:
    a = assistant.ask(
        "I have battled chronic hamstring tendinopathy for a number of years. I've done the "
        "rehab, the number one thing people told me was to strengthen. Has anyone tried PRP?"
    )
    assert a.status != "red_flag"


@pytest.mark.parametrize(
    "story",
    [
        "Yesterday I was sprinting at the track and felt a sudden sharp pain at the top of my "
        "hamstring, I pulled up and I've been limping since. What should I do?",
        "My butt pain is getting worse every day, now it hurts even at rest and when I put "
        "weight on the leg. Is this still tendinopathy?",
        "I crashed my bike and landed on my sit bone, walking is painful now. Can I run?",
    ],
)
def test_acute_stories_escalate(assistant: Assistant, story: str) -> None:
    a = assistant.ask(story)
    assert a.status == "red_flag", a.answer


def test_nothing_has_worked_is_in_scope(assistant: Assistant) -> None:
    a = assistant.ask(
        "I've had high hamstring pain for two years, tried rest, stretching, massage and an "
        "injection. Nothing has worked, what else can I try?"
    )
    assert a.status == "answered" and a.citations


@pytest.mark.parametrize(
    "question",
    [
        "I had surgical reattachment of my hamstring tendon 8 weeks ago. How long until I can "
        "run again after the reattachment surgery?",
        "What is the rehab timeline after proximal hamstring repair surgery?",
        "My hamstring gets tight on the bike. What saddle height should I use?",
        "My high hamstring tendinopathy is sore after runs and my GP gave me pregabalin 75mg. "
        "Can I take 150mg before a long run?",
    ],
)
def test_neighbouring_topics_are_not_covered(assistant: Assistant, question: str) -> None:
    assert assistant.ask(question).status == "out_of_scope"


@pytest.mark.parametrize("question", [
    # the articles say what to do before seeking surgery; its rehab timeline they don't cover
    "Do I need surgery for my high hamstring tendinopathy?",
    # a neighbour said not to be needed: what to do instead is covered
    "The surgeon said surgery isn't needed for my high hamstring tendinopathy, so what exercises "
    "should I do?",
    "My doctor said I don't need an MRI for my PHT. What should I do instead?",
])
def test_whether_to_have_surgery_and_what_instead_are_covered(
    assistant: Assistant, question: str,
) -> None:
    assert assistant.ask(question).status == "answered"


def test_a_mixed_message_answers_the_covered_part_and_names_the_rest(assistant: Assistant) -> None:
    a = assistant.ask(
        "I've had sit bone pain for months and sitting at work is the worst. Should I stretch "
        "my hamstrings? And what saddle height should I use on my road bike?"
    )
    assert a.status == "answered" and a.citations
    assert any("saddle" in n for n in a.notices)


def test_no_quote_is_filler(assistant: Assistant) -> None:
    from evals.filler import filler_sentences

    a = assistant.ask(
        "I get a deep ache in my sit bone after long runs and sitting at work is worse. "
        "What's going on and what do you recommend?"
    )
    assert a.status == "answered"
    assert not filler_sentences([c.quote for c in a.citations])


def test_a_tip_framed_in_the_first_person_is_quoted_with_what_leans_on_it(
    assistant: Assistant,
) -> None:
    # "if I had to share 1 golden nugget tip ... it is to start loading the tendon" gives the
    # tip: the filler scorer once dropped it as an anecdote, leaving "This will be pivotal..."
    # quoted alone
    from assistant.answering.extractive import leans_on_previous

    a = assistant.ask("Been dealing with a sore sit bone for months. Honestly what's your "
                      "number one tip?")
    quotes = [c.quote for c in a.citations]
    assert any("loading the tendon with strengthening" in q for q in quotes), a.answer
    for before, c in zip(a.citations, a.citations[1:], strict=False):
        if leans_on_previous(c.quote):  # the sentence right before it, in the same article
            assert before.source == c.source and 0 <= c.start - before.end <= 3, a.answer


@pytest.mark.server
def test_the_web_app_keeps_follow_ups_to_themselves(
    assistant: Assistant, real_index, tmp_path  # type: ignore[no-untyped-def]
) -> None:
    """Through the served app's API (gradio_client), as the chat sends history."""
    from gradio_client import Client

    from app import build_app
    from tests.test_app_api import free_port

    settings = real_index.model_copy(update={"port": free_port(), "data_dir": tmp_path})
    server = build_app(assistant, settings).server()
    server.start()
    try:
        client = Client(server.url, verbose=False)
        foam = [{"role": "user", "content": "Does foam rolling help high hamstring pain?"},
                {"role": "assistant", "content": "Passive treatments won't fix PHT."}]
        a = client.predict("What's the capital of France?", foam, api_name="/ask")
        assert a["status"] == "out_of_scope"
        hills = [{"role": "user", "content": "When can I add hills back after PHT?"},
                 {"role": "assistant", "content": "Hills and speed come last."}]
        b = client.predict("Can I keep running?", hills, api_name="/ask")
        assert b["status"] == "answered" and b["citations"]
        assert "hill" not in b["standalone_question"].lower()
    finally:
        server.close()


def test_a_product_ask_next_to_a_running_ask_gets_both_answered(assistant: Assistant) -> None:
    a = assistant.ask("Does the HEAL supplement actually do anything for PHT, and should I take "
                      "a few weeks off running completely?")
    assert a.status == "answered"
    promo = [c for c in a.citations if c.kind != "content"]
    assert promo, "the product ask is answered by naming the promotion"
    assert len(a.citations) > len(promo), "the running ask is answered from the articles too"


@pytest.mark.parametrize("question,uncovered", [
    ("I keep seeing the HEAL amino drink advertised on a running podcast and my sit bone has "
     "ached for a year. Is HEAL worth buying, and how many hours before a run should I drink it?",
     "how many hours before a run should I drink it?"),
    ("My high hamstring has been sore for months. Is the HEAL supplement any good, and what "
     "time of day should I take it?", "what time of day should I take it?"),
    # the product named only in the story: the message is still about it (it was refused,
    # losing the note that the product is advertising)
    ("I bought the HEAL supplement last week for my high hamstring. How long before a run "
     "should I take it?", "How long before a run should I take it?"),
    # a supplement's dose (scoops, capsules) is a dose, not an exercise amount
    ("Is the HEAL amino acid supplement worth it for PHT, and how many scoops a day should I "
     "take?", "how many scoops a day should I take?"),
])
def test_a_product_message_names_its_uncovered_ask_instead_of_quoting_around_it(
    assistant: Assistant, question: str, uncovered: str,
) -> None:
    a = assistant.ask(question)
    assert a.status == "answered"
    assert all(c.kind != "content" for c in a.citations), "no quotes for the supplement timing"
    assert any(c.kind == "sponsorship" for c in a.citations), "the HEAL sponsorship is named"
    assert any("don't cover" in n and uncovered in n for n in a.notices), a.notices


def test_a_product_message_still_answers_its_covered_ask(assistant: Assistant) -> None:
    a = assistant.ask("Is the HEAL supplement any good, and should I stop running for a few weeks?")
    assert not any("don't cover" in n for n in a.notices), a.notices
    assert any(c.kind == "content" for c in a.citations)


@pytest.mark.parametrize(("question", "deciding"), [
    ("Will stretching fix my high hamstring pain?", "stretching and it does not help"),
    ("I've stretched every day for a month and my sit bone still aches. Will more stretching "
     "fix it?", "stretching and it does not help"),
    ("Will a cortisone injection fix PHT?", "injections or modalities are not going to be the fix"),
    ("Should I stretch my hamstrings?", "stretching and it does not help"),
])
def test_a_yes_no_ask_the_quotes_answer_opens_with_a_short_no(
    assistant: Assistant, question: str, deciding: str,
) -> None:
    import re

    a = assistant.ask(question)
    first = a.answer.split("\n\n")[0]
    m = re.fullmatch(r"Short answer: no \[(\d+)\]\.", first)
    assert m, a.answer
    quote = next(c.quote for c in a.citations if c.marker == int(m.group(1)))
    assert deciding in quote  # the cited sentence is the one that says "no"


@pytest.mark.parametrize("question", [
    "Does foam rolling help PHT?",  # the articles' word is on passive treatments, not foam rolling
    "Does foam rolling help the problem?",  # "the problem" names nothing: no way round that
    "Will dry needling fix the problem?",
    "Should I stretch after my run?",  # nothing quoted is about stretching after a run
    "How many sets of eccentric exercises should I do?",
    "Will stretching fix it, and how long does PHT take to heal?",  # two asks: no one verdict
])
def test_no_short_answer_when_the_quotes_do_not_state_it(assistant: Assistant, question: str) -> None:
    assert "Short answer" not in assistant.ask(question).answer


def test_no_short_answer_for_a_follow_up_rewritten_with_the_history(assistant: Assistant) -> None:
    history = [Turn("user", "What are dynamic hamstring stretches?"), Turn("assistant", "...")]
    a = assistant.ask("Will they help?", history)  # read as "Will hamstring stretching help?"
    assert "stretching" in a.standalone_question and "Short answer" not in a.answer


def test_a_first_message_about_it_is_answered_about_pht(assistant: Assistant) -> None:
    a = assistant.ask("How is it treated?")
    assert a.status == "answered" and "PHT" in a.standalone_question
    assert assistant.ask("What time is it?").status == "out_of_scope"


@pytest.mark.parametrize("question", ["What should I do?", "What is my next step?", "Any tips?"])
def test_a_bare_first_ask_for_advice_gets_the_treatment(assistant: Assistant, question: str) -> None:
    a = assistant.ask(question)  # it had quoted running form or sitting pain
    assert a.status == "answered"
    assert any("loading" in c.quote or "strength" in c.quote for c in a.citations), a.answer


@pytest.mark.parametrize("question", [
    "My doctor put me on an iron supplement. Should I take it in the morning?",
    "How much collagen should I take a day for my tendon?",
    "I got 20% off my new running shoes. Are they good for PHT?",
])
def test_a_product_the_articles_do_not_promote_is_not_called_their_promotion(
    assistant: Assistant, question: str,
) -> None:
    a = assistant.ask(question)  # the closest promotional block was named whatever the product
    assert all(c.kind not in ("sponsorship", "call_to_action") for c in a.citations), a.answer
    assert "paid promotion" not in a.answer and "sales pitch" not in a.answer


@pytest.mark.parametrize("question", [
    "Is there a discount code?", "Who sponsored this episode?",
    "Is there a supplement that helps PHT?",
    "Should I take HEAL and is it ok to keep running?",  # HEAL's block ranks below pitches
])
def test_a_promotion_question_naming_no_other_product_gets_the_sponsorship(
    assistant: Assistant, question: str,
) -> None:
    assert any(c.kind == "sponsorship" for c in assistant.ask(question).citations)


@pytest.mark.parametrize("question", [
    "I bought HEAL last week. Should I take it before a run?",
    "I take HEAL every day. Does it help with sitting pain?",
])
def test_an_ask_pointing_back_at_the_product_gets_no_quotes(
    assistant: Assistant, question: str,
) -> None:
    assert [c.kind for c in assistant.ask(question).citations] == ["sponsorship"]


def test_a_product_story_still_answers_its_own_ask(assistant: Assistant) -> None:
    a = assistant.ask("I take HEAL every day. Should I stop running for a few weeks?")
    assert any(c.kind == "sponsorship" for c in a.citations)  # HEAL is the article's sponsor
    assert any(c.kind == "content" for c in a.citations), "the running ask was dropped"
    b = assistant.ask("What time should I take HEAL?")  # the sponsorship, not the coaching pitch
    assert [c.kind for c in b.citations] == ["sponsorship"]
    c = assistant.ask("I take HEAL every day. What exercises should I do?")  # not dropped
    assert any(x.kind == "content" for x in c.citations)


def test_asks_past_the_limit_are_named_not_lost(assistant: Assistant) -> None:
    question = ("Sit bone ache for months, PT says PHT. Questions: 1. can I do hill repeats yet? "
                "2. how many sets of nordics? 3. should I keep stretching it? "
                "4. why does sitting hurt more than running? 5. how long will it take?")
    a = assistant.ask(question)
    assert a.status == "answered"
    named = [n for n in a.notices if "hill repeats" in n]
    assert len(named) == 1 and "on its own" in named[0]


def test_climbs_are_hills(assistant: Assistant) -> None:
    a = assistant.ask("The steep climbs on my trail runs set off the ache under my bum. "
                      "Why are the climbs so much worse than the flat?")
    assert a.status == "answered"
    assert any("hill" in c.quote.lower() for c in a.citations[:3]), a.answer


def test_a_story_asking_what_you_would_do_in_my_shoes_is_answered(assistant: Assistant) -> None:
    a = assistant.ask("Seven months of pain at the top of my hamstring. Ten weeks of heat, ice, "
                      "ultrasound and stretches did nothing and sitting is still miserable. "
                      "What would you do in my shoes?")
    assert a.status == "answered", a.answer


def test_remind_me_how_many_sets_after_the_exercises_gets_the_numbers(assistant: Assistant) -> None:
    history = [Turn("user", "Which eccentric exercises help high hamstring pain?"),
               Turn("assistant", "The older article lists the Nordic hamstring curl and more.")]
    # "remind" asks, it names nothing the reps sentence leans on ("... when performing these")
    a = assistant.ask("is a protein shake before doing them worth it? and remind me how many "
                      "sets I'm building up to", history)
    assert a.status == "answered"
    assert any("3 sets of 10" in c.quote for c in a.citations), a.answer
