"""Block kinds: held-out snippets both ways, section context, and the two real articles."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, settings

import ingest.classify
from ingest.classify import author_names, classify_blocks, kind_counts, sentence_kind
from ingest.models import Block, BlockKind
from ingest.segment import segment_blocks
from tests.conftest import CORPUS
from tests.test_segment import document

K = BlockKind
AUTHOR = "Duane Scotti, PT, DPT, PhD, OCS (SPARK Physical Therapy / Healthy Runner)"
OLDER = "is-it-ok-to-run-with-hamstring-pain.txt"
NEWER = "understanding-pht-with-running.txt"
HELD_OUT_AUTHOR = "Dr. Jane Roe, PT, DPT (Roe Running Rehab)"


def kinds(*lines: str, author: str = HELD_OUT_AUTHOR) -> list[BlockKind]:
    raw = "\n\n".join(lines)
    return [b.kind for b in classify_blocks(segment_blocks(raw, "held-out"), author=author)]


def one(line: str, author: str = HELD_OUT_AUTHOR) -> BlockKind:
    (kind,) = kinds(line, author=author)
    return kind


def test_doctests_pass() -> None:
    result = doctest.testmod(ingest.classify)
    assert result.attempted > 0 and result.failed == 0


def test_author_names_drop_titles_degrees_and_affiliation() -> None:
    assert author_names(AUTHOR) == ("Duane", "Scotti")
    assert author_names(HELD_OUT_AUTHOR) == ("Jane", "Roe")
    assert author_names("") == ()


# ---- held-out snippets (not in the corpus) -------------------------------------------------


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (
            "Use code STRIDE15 for 15% off your first order of CollaFlex joint powder!",
            K.SPONSORSHIP,
        ),
        ("Today's show is brought to you by PeakFuel electrolytes.", K.SPONSORSHIP),
        ("Schedule your free discovery call today", K.CALL_TO_ACTION),
        ("Grab the free tendon loading checklist here!", K.CALL_TO_ACTION),
        ("Click here to join our 12-week coaching program.", K.CALL_TO_ACTION),
        ("Want Dr. Roe's help with your comeback? Book a call now", K.CALL_TO_ACTION),
        (
            "“Working with Jane changed my life. I ran my first trail race pain free!”",
            K.TESTIMONIAL,
        ),
        ("Tom went from limping after every run to finishing the Chicago marathon.", K.TESTIMONIAL),
        ("Here is what our clients are saying about the clinic", K.TESTIMONIAL),
        ("Jane received her Doctor of Physical Therapy degree from Elon University.", K.BIOGRAPHY),
        ("Jane lives in Denver with her husband and two dogs.", K.BIOGRAPHY),
        ("Best regards,", K.BIOGRAPHY),
        ("Jane Roe, PT, DPT", K.BIOGRAPHY),
        ("Listen to episode 42 of the podcast on your next long run!", K.MEDIA_NAVIGATION),
        ("Click the video below to see the whole routine.", K.MEDIA_NAVIGATION),
        ("Thanks for reading, and see you next week.", K.MEDIA_NAVIGATION),
        # clinical sentences with sales-looking words stay content
        ("A progressive loading program for the tendon starts with isometric holds.", K.CONTENT),
        ("Aim to run pain-free; a free day between heavy sessions helps the tendon.", K.CONTENT),
        ("Most runners improve within a 12-week program of eccentric exercise.", K.CONTENT),
        ("Keep pain below 3/10 during and after each session.", K.CONTENT),
        ("Stop and see a clinician if you feel numbness or pain above 5/10.", K.CONTENT),
        ("Have you noticed pain when sitting on hard chairs after a run?", K.CONTENT),
        ("I recommend slow heavy bridges because they load the tendon gently.", K.CONTENT),
    ],
)
def test_held_out_lines(line: str, kind: BlockKind) -> None:
    assert one(line) == kind


def test_clinical_paragraph_with_a_trailing_pitch_stays_content() -> None:
    para = (
        "Slow heavy bridges load the proximal hamstring tendon without compressing it. "
        "Start with 3 sets of 8 reps. Click here to get my free guide."
    )
    assert one(para) == K.CONTENT
    assert sentence_kind("Click here to get my free guide.") == K.CALL_TO_ACTION
    assert sentence_kind("Start with 3 sets of 8 reps.") == K.CONTENT


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("Get my full story here", K.CALL_TO_ACTION),
        (
            "To learn more about soft tissue care for runners (my 4th tip to healthy running) "
            "click this Link from a previous blog post I did on this topic.",
            K.CALL_TO_ACTION,
        ),
        (
            "Click the YouTube video below to learn how to foam roll your hamstring properly by "
            "isolating either the outside muscle or the 2 inside muscles.",
            K.MEDIA_NAVIGATION,
        ),
        (
            "I just posted a brand-new instructional video of the best activation exercise for "
            "the glutes…The Fire Hydrant Exercise with a mini band.",
            K.MEDIA_NAVIGATION,
        ),
        ("This has been a go to activation exercise for all my clients with PHT.", K.CONTENT),
        ("Eccentric exercises are fantastic for strengthening muscles.", K.CONTENT),
    ],
)
def test_sentence_kind(sentence: str, kind: BlockKind) -> None:
    assert sentence_kind(sentence) == kind


def test_sponsorship_section_runs_until_a_clinical_heading() -> None:
    got = kinds(
        "Sponsored By:",
        "Acme makes a magnesium blend that our athletes love.",
        "It mixes well in water and tastes great.",
        "Why Does The Tendon Hurt?",
        "Tendons adapt to load slowly, over weeks.",
    )
    assert got == [K.SPONSORSHIP, K.SPONSORSHIP, K.SPONSORSHIP, K.HEADING, K.CONTENT]


def test_related_and_bio_sections_hold_non_clinical_headings() -> None:
    got = kinds(
        "Connect with Jane:",
        "She started running in college and never stopped.",
        "More Articles",
        "How To Pick Trail Shoes?",
        "Trail shoes need grip and a rock plate… Read More",
    )
    assert got == [K.BIOGRAPHY, K.BIOGRAPHY, K.RELATED_POST, K.RELATED_POST, K.RELATED_POST]


def test_red_flags_beat_a_pitch_section() -> None:
    got = kinds(
        "Ready to start running again?",
        "✅ You want a simple plan to follow",
        "✅ You have no red flags (fracture, bone stress injury, nerve pain, pain above 5/10)",
        "✅ You have been cleared by your doctor",
    )
    assert got == [K.CALL_TO_ACTION, K.CALL_TO_ACTION, K.CONTENT, K.CALL_TO_ACTION]


def test_quotation_and_attribution_pull_neighbours_into_a_testimonial() -> None:
    got = kinds(
        "What Causes Tendon Pain?",
        "Tendon pain comes from load the tendon is not ready for.",
        "“I was stuck for a year before I found this clinic.",
        "Now I run five days a week without a flare.”",
        "Maria K.",
        "I finally trust my body again and I love my long runs.",
        "Tom B.",
    )
    assert got == [K.HEADING, K.CONTENT] + [K.TESTIMONIAL] * 5


def test_sections_follow_headings() -> None:
    raw = "Intro line here.\n\nWhat Is A Tendon?\n\nA tendon joins muscle to bone.\n"
    blocks = classify_blocks(segment_blocks(raw, "x"))
    assert [b.section for b in blocks] == ["", "What Is A Tendon?", "What Is A Tendon?"]
    assert all(b.reason for b in blocks)


def test_kind_counts_lists_every_kind() -> None:
    blocks = [Block("x", 0, 1, "a"), Block("x", 2, 3, "b", kind=K.TESTIMONIAL)]
    counts = kind_counts(blocks)
    assert list(counts) == [k.value for k in BlockKind]
    assert counts["content"] == 1 and counts["testimonial"] == 1 and sum(counts.values()) == 2


# ---- the two real articles -----------------------------------------------------------------


def corpus_blocks(name: str) -> list[Block]:
    raw = (CORPUS / name).read_text(encoding="utf-8")
    return classify_blocks(segment_blocks(raw, name), author=AUTHOR)


@pytest.fixture(scope="module")
def older() -> list[Block]:
    return corpus_blocks(OLDER)


@pytest.fixture(scope="module")
def newer() -> list[Block]:
    return corpus_blocks(NEWER)


def having(blocks: list[Block], needle: str) -> list[Block]:
    found = [b for b in blocks if needle in b.text]
    assert found, f"no block contains {needle!r}"
    return found


def assert_kind(blocks: list[Block], needles: list[str], kind: BlockKind) -> None:
    wrong = [
        (n, b.kind.value, b.reason) for n in needles for b in having(blocks, n) if b.kind != kind
    ]
    assert not wrong, wrong


SHARED_CONTENT = [
    "The hamstrings are a group of muscles",
    "Hamstring tendonitis occurs due to overuse",
    "The symptoms associated with hamstring tendonitis",
    "The most common symptom is pain or burning",
    "OVERUSE, OVERUSE, OVERUSE.",
    "The pain that patients with this pathology",
    "The important point to note is that it is tendon",
    "Treatment of this injury is going to depend",
    "Most of the runners I see with this condition",
    "Below, I will outline the general treatment plan",
]
SHARED_TESTIMONIALS = [
    "“I don’t have enough words",
    "I had worked with multiple other coaches",
    "Additionally, his warm-up routine is awesome",
    "Over four months of working with Duane",
    "If you are struggling with a running injury and are feeling hopeless",
    "Dipti Pandya",
    "You can teach an old dog new tricks",
    "Gina J.",
    "My Healthy Runner journey started",
    "I just ran my second half marathon",
    "I’m so thankful for the Healthy Runner program",
    "Katja L.",
]


def test_older_article(older: list[Block]) -> None:
    assert_kind(older, SHARED_CONTENT, K.CONTENT)
    assert_kind(
        older,
        [
            "Do you get that stubborn pain at the top of your hamstring",
            "This will help release and loosen up the soft tissue",
            "Click the YouTube video below to learn how to foam roll",
            "instrument assisted soft tissue massage (IASTM)",
            "trigger point dry needling",
            "Glute activation is essential for running",
            "🔹 Head looking straight forward",
            "🔹 Drive through the hips",
            "CAUTION!",
            "• Single Leg Bridge & Nordic Hamstring Curl",
            "I can not emphasize this enough",
        ],
        K.CONTENT,
    )
    assert_kind(
        older,
        [*SHARED_TESTIMONIALS, "“Let me start by saying", "Here is what another runner had to say"],
        K.TESTIMONIAL,
    )
    assert having(older, "Let me start by saying")[0].text.startswith("“Let me start by saying")
    assert_kind(older, ["Warmest regards,", "– Duane", "Duane Scotti, PT, DPT"], K.BIOGRAPHY)
    assert_kind(
        older,
        ["Click THIS LINK for a FREE 20 minute", "Sign up for our weekly blog"],
        K.CALL_TO_ACTION,
    )
    assert_kind(
        older,
        ["View ArticleRead More", "Related posts", "Other Common Running Injury Resources"],
        K.RELATED_POST,
    )
    assert_kind(
        older,
        ["Listen to the Podcast Episode", "Click the video below to watch the LIVE training"],
        K.MEDIA_NAVIGATION,
    )
    assert_kind(older, ["What Is Hamstring Tendonitis?", "1. Foam Roll the Hamstrings"], K.HEADING)
    assert_kind(older, ["4. STRENGTHEN Your Hamstrings! (Especially Eccentrically)"], K.HEADING)
    assert_kind(older, ["Hamstring Foam Rolling", "IASTM to the hamstring"], K.CAPTION)
    # nothing after the last exercise of the article is clinical content
    last = older.index(having(older, "Hamstring Slides and Airplane")[0])
    assert [b.text[:40] for b in older[last + 1 :] if b.kind == K.CONTENT] == []


def test_newer_article(newer: list[Block]) -> None:
    assert_kind(newer, SHARED_CONTENT, K.CONTENT)
    red_flags = having(newer, "red flags to not run")
    assert_kind(
        newer,
        [
            "Do you get pain in your butt right under your glute",
            "Like so many of you, I thought that I should just stretch my hamstring",
            "Passive treatments whether injections or modalities",
            "Pain with sitting as a guide",
            "The sitting pain will take longer",
            "red flags to not run (fracture, bone stress injury, nerve pain",
        ],
        K.CONTENT,
    )
    assert_kind(
        newer,
        ["This Episode Sponsored By:", "A big thanks to", "Heal is an amino acid", "HEALTHYRUNNER"],
        K.SPONSORSHIP,
    )
    assert_kind(
        newer,
        [
            *SHARED_TESTIMONIALS,
            "Learn how Mary went from",
            "Ken went from",
            "She was able to get to the start line",
        ],
        K.TESTIMONIAL,
    )
    assert_kind(
        newer,
        ["Connect with Dr. Duane:", "Duane received his Bachelor", "currently lives in"],
        K.BIOGRAPHY,
    )
    assert_kind(
        newer,
        [
            "Book a call",
            "[Download] FREE Return to Run",
            "free ebook here",
            "Ready to get back on the road",
            "✅ After you rehab from an injury",
            "Download here",
        ],
        K.CALL_TO_ACTION,
    )
    assert_kind(
        newer,
        [
            "In this blog, we are talking about",
            "I provide clarity on the following questions:",
            "– What is proximal hamstring tendinopathy",
            "this episode is for you",
        ],
        K.MEDIA_NAVIGATION,
    )
    assert_kind(newer, ["View ArticleRead More", "Related posts"], K.RELATED_POST)
    assert_kind(newer, ["1. Don’t use sitting to determine when you should run!"], K.HEADING)
    assert_kind(newer, ["The 3 muscles that make up the hamstrings"], K.CAPTION)
    last = newer.index(having(newer, "The sitting pain will take longer")[0])
    assert [b for b in newer[last + 1 :] if b.kind == K.CONTENT] == red_flags


@pytest.mark.parametrize("name", [OLDER, NEWER])
def test_intro_content_is_only_the_symptom_paragraphs(name: str) -> None:
    blocks = corpus_blocks(name)
    first_heading = next(
        i for i, b in enumerate(blocks) if b.text == "What Is Hamstring Tendonitis?"
    )
    intro = [b.text[:30] for b in blocks[1:first_heading] if b.kind == K.CONTENT]
    expected = {
        OLDER: ["Do you get that stubborn pain a", "I have helped several runners o"],
        NEWER: [
            "Do you get pain in your butt ri",
            "Do you just dread hills, that a",
            "Like so many of you, I thought ",
        ],
    }[name]
    assert [t[:30] for t in intro] == [t[:30] for t in expected]


@pytest.mark.parametrize("name", [OLDER, NEWER])
def test_kind_counts_per_file(name: str) -> None:
    blocks = corpus_blocks(name)
    counts = kind_counts(blocks)
    print(name, counts)
    assert sum(counts.values()) == len(blocks)
    assert 15 <= counts["content"] <= 40
    assert counts["testimonial"] >= 12 and counts["related_post"] >= 6
    assert (counts["sponsorship"] > 0) == (name == NEWER)


@settings(max_examples=100, deadline=None)
@given(document())
def test_any_document_keeps_its_blocks_and_offsets(raw: str) -> None:
    blocks = segment_blocks(raw, "doc")
    out = classify_blocks(blocks, author=HELD_OUT_AUTHOR)
    assert [(b.start, b.end, b.text) for b in out] == [(b.start, b.end, b.text) for b in blocks]
    assert all(isinstance(b.kind, BlockKind) and b.reason for b in out)


def test_empty_page_and_emoji_only_line() -> None:
    assert classify_blocks([]) == []
    assert kinds("Why Load Matters?", "⚡️") == [K.HEADING, K.MEDIA_NAVIGATION]
