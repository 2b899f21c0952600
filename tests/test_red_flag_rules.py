"""The red-flag rule layer's split between hits it decides and hits it leaves to the learned
layer (tentative), and the generic shapes it no longer escalates (issue #11): ratings, old
injuries the writer recovered from, figurative verbs, other people's symptoms, questions that
report nothing. Sentences written for these tests, not taken from any labelled set."""

from __future__ import annotations

import pytest

from assistant.gates.red_flags import check_red_flag, default_rules


def _tentative(question: str) -> list[str]:
    return [f.flag for f in default_rules().tentative(question)]


@pytest.mark.parametrize(
    ("question", "flag"),
    [
        ("Lost my temper and snapped at the dog after another sore run", "sudden_pop"),
        ("We tore through the hills on the club bus trip, my hamstring was fine", "sudden_pop"),
        ("My sister says her foot goes numb on long runs", "nerve"),
        ("my coach reckons his pain is 8/10 when he sprints", "pain_over_5"),
        ("What usually causes tingling down the leg in distance runners?", "nerve"),
        ("The app gave my sleep a 9/10 last night", "pain_over_5"),
        ("I have read the threads. Everyone mentions stress fractures and the printout lists them.", "bone_stress"),
    ],
)
def test_imprecise_hits_are_left_to_the_learned_layer(question: str, flag: str) -> None:
    assert check_red_flag(question) is None, question
    assert flag in _tentative(question), question


@pytest.mark.parametrize(
    "question",
    [
        "Bought the new carbon shoes: 10/10 would recommend, hamstring ache about 2/10",
        "I tore my hamstring playing hockey at school and have been fine since, now a dull sit-bone ache",
        "A stress fracture in my shin healed years ago, no problems since",
        "Zero numbness or tingling, only the usual ache when sitting",
        "The physio couldn't find any weakness in my foot",
        "Got through 7 out of 10 intervals before the light went, hamstring barely a 1",
        "I finished 8/10 hill repeats and the ache was a 2",
        "9 out of 10 runners in my club have had a sore hamstring",
        "Painfree 8/10 intervals today. Can I progress?",
        "Hardly any pain 8/10 sprints this week",
        "Had some aches 7 of 10 attempts",
    ],
)
def test_ratings_recovered_injuries_and_denials_do_not_fire_at_all(question: str) -> None:
    assert default_rules().detect_all(question) == [], question


@pytest.mark.parametrize(
    ("question", "flag"),
    [
        ("something snapped at the back of my thigh on the track and it hurts", "sudden_pop"),
        ("My physio thinks I have a stress fracture in my pelvis", "bone_stress"),
        ("I tore my hamstring 3 years ago and now it is numb down my leg again", "nerve"),
        ("my pain was 8/10 on the hills today", "pain_over_5"),
        ("the pain was 7 out of 10 on the intervals", "pain_over_5"),
        # a time or a distance after a /10 score is not a count: still pain
        ("My hamstring is 9/10 x 2 weeks when running. Can I keep running?", "pain_over_5"),
        ("Running, it's 8 out of 10 mins in. Should I push through?", "pain_over_5"),
        ("Running makes my hamstring 9/10 am and pm", "pain_over_5"),
        ("my hamstring hurts 8/10 miles 3-6 of every run", "pain_over_5"),
        # a pain word right before the score: pain on those efforts, not a count of them
        ("My hamstring hurts 8/10 sprints. Should I stop?", "pain_over_5"),
        ("Hamstring pain 7/10 intervals today. Keep going?", "pain_over_5"),
        ("Running pain 6/10 laps 3 to 5", "pain_over_5"),
        ("Pain level 8/10 intervals", "pain_over_5"),
        ("Is this a fracture? My sit bone is very tender after the fall", "fracture"),
        # someone else named first, the writer last: the writer's report
        ("Someone clipped my heel at parkrun and now my foot is numb", "nerve"),
        # a hamstring torn or popped is told plainly ("tore through the book" is not)
        ("tore my hamstring at training last night, can I still race sunday?", "sudden_pop"),
        ("I popped a hammy sprinting for the line yesterday, can I run today?", "sudden_pop"),
    ],
)
def test_precise_hits_stay_decided_by_the_rules(question: str, flag: str) -> None:
    found = check_red_flag(question)
    assert found is not None and found.flag == flag and not found.tentative, question


@pytest.mark.parametrize(
    ("question", "flag"),
    [
        # when it started is not "in the past": these are reports of now, decided by the rules
        ("A few months ago I started losing control of my bladder and my groin feels numb",
         "bladder_bowel"),
        ("It began last year and now I have fevers and night pain that wakes me up",
         "systemic_night_pain"),
        ("It started 2 months ago and my pain is 7/10 when I run", "pain_over_5"),
        # a zero that starts a range is not a negation
        ("My pain went from 0/10 to 8/10 on the run today", "pain_over_5"),
    ],
)
def test_onsets_and_ranges_escalate_without_a_model(question: str, flag: str) -> None:
    hit = check_red_flag(question)
    assert hit is not None and hit.flag == flag
    assert flag not in _tentative(question)


@pytest.mark.parametrize("question", [
    "Our neighbour's daughter can't walk after a hockey match",
    "I couldn't walk properly for a few days after my first marathon, five years ago",
])
def test_an_urgent_sign_is_never_left_to_the_model(question: str) -> None:
    # a false alarm is the safe error: no learned layer may veto an urgent sign the rules found
    hit = check_red_flag(question)
    assert hit is not None and hit.flag == "cant_bear_weight"
    assert not _tentative(question)


def test_zero_before_a_symptom_is_a_negation() -> None:
    assert check_red_flag("0 numbness or tingling, just an ache at the sit bone") is None


@pytest.mark.parametrize("question", [
    "there's no tingling or numbness or anything going down the leg, just a dull ache",
    "I have no burning or tingling or weakness or numbness in my foot",
    "Nor is there any numbness, just an ache at the sit bone",
    "neither numbness nor tingling, just an ache",
])
def test_a_negation_reaches_every_item_of_its_list(question: str) -> None:
    assert check_red_flag(question) is None


@pytest.mark.parametrize("question", [
    "nothing shooting into my calf, it is a local ache where I sit",
    "Nothing really radiates into my calf or foot, it's a deep ache when I sit",
])
def test_nothing_right_before_a_symptom_denies_it(question: str) -> None:
    assert check_red_flag(question) is None


@pytest.mark.parametrize("question", [
    "Nothing makes the numbness in my foot go away",
    "nothing has helped, and my foot goes numb on every long run",
])
def test_nothing_about_what_helps_does_not_deny_the_symptom(question: str) -> None:
    hit = check_red_flag(question)
    assert hit is not None and hit.flag == "nerve"


@pytest.mark.parametrize("question", [
    "the end of my long runs my left foot starts catching on the ground and the toes drag",
    "I'm dragging my right foot on the last few miles",
    "the leg feels really weak pushing off on hills",
])
def test_a_weak_or_dragging_foot_is_a_nerve_sign(question: str) -> None:
    hit = check_red_flag(question)
    assert hit is not None and hit.flag == "nerve"


@pytest.mark.parametrize(("question", "flag"), [
    ("Back in October I started getting fevers and night pain in my hip, it never went away.",
     "systemic_night_pain"),
    ("Back in May I fell onto my sit bone, it swelled up massively and I haven't been ok since.",
     "trauma_swelling"),
    ("Two months ago I felt a pop sprinting and I haven't been ok since, my thigh is bruised.",
     "tendon_tear"),
    ("I think my stress fracture never healed", "bone_stress"),
    ("Weeks ago I lost some bladder control after a long run and it hasn't resolved.",
     "bladder_bowel"),
])
def test_a_recovery_the_writer_denies_keeps_the_sign(question: str, flag: str) -> None:
    # "never went away", "haven't been ok since", "never healed" say the opposite of recovery
    hit = check_red_flag(question)
    assert hit is not None and hit.flag == flag


@pytest.mark.parametrize("question", [
    "I couldn't run last year because of a stress fracture in my foot, fine since.",
    "I had a stress fracture in my foot barely a year ago, fully recovered, fine since.",
    "I tore my hamstring 3 years ago, felt a pop, but it's not only healed, I'm faster now.",
    "My stress fracture in my foot wasn't healed until 10 weeks, fine since.",
    "I lost some bladder control after my pregnancy 3 years ago, which never troubled me again.",
])
def test_a_negation_that_belongs_to_something_else_leaves_the_old_injury_old(question: str) -> None:
    # the negation denies running, a year's length or "only", not the recovery
    assert check_red_flag(question) is None


@pytest.mark.parametrize(("question", "flag"), [
    ("since the weekend I can't put my right foot down without wincing", "cant_bear_weight"),
    ("I'm favouring my good leg on the stairs at work", "cant_bear_weight"),
    ("slipped on the wet deck and now my sit bone is puffy", "trauma_swelling"),
    ("I can't hop on that leg at all, the pain is deep in the bone", "bone_stress"),
    ("hopping on the right leg is agony", "bone_stress"),
    ("after the fall the bone under my glute feels broken", "fracture"),
    ("the ache goes down into my foot when I sit", "nerve"),
    ("on the spin bike I couldn't feel the seat under me", "bladder_bowel"),
    ("since yesterday my groin and inner thighs have gone kind of numb", "bladder_bowel"),
    ("my privates have gone numb since yesterday", "bladder_bowel"),
    ("since the crash I can hardly weight bear on the left", "cant_bear_weight"),
    ("I could only just put any weight on it walking back to the car", "cant_bear_weight"),
    ("can't put full weight through my right leg this morning", "cant_bear_weight"),
    ("been hobbling round the house since Tuesday's intervals", "cant_bear_weight"),
    ("hopping on the bad side is pretty much impossible", "bone_stress"),
    ("the ache keeps escalating at night even though I've stopped running", "worsening_rest_pain"),
    ("it's getting worse despite complete rest and it wakes me", "worsening_rest_pain"),
])
def test_signs_told_in_other_words_escalate(question: str, flag: str) -> None:
    assert flag in [f.flag for f in default_rules().detect_all(question)]


@pytest.mark.parametrize("question", [
    "For a fortnight it has got worse day by day, even though I've rested. The pain woke me at 3am.",
    "Worse every single day lately. It aches when I'm lying in bed now.",
])
def test_pain_worsening_day_by_day_and_at_night_told_in_two_sentences_escalates(question: str) -> None:
    hit = check_red_flag(question)
    assert hit is not None and hit.flag == "worsening_rest_pain"


@pytest.mark.parametrize("question", [
    "The baby kept me awake all night. My hamstring has been getting worse since I upped my miles.",
    "It has been getting worse every day of my marathon block. I ice it at night.",
])
def test_worse_on_runs_and_a_bad_night_for_another_reason_do_not_escalate(question: str) -> None:
    assert all(f.flag != "worsening_rest_pain" for f in default_rules().detect_all(question))


@pytest.mark.parametrize("question", [
    "I had a limp after a skiing crash years ago but it sorted itself out",
    "that tingling is long gone, it was a disc thing years back",
    "Three years ago I was limping for a month with it. Rehab sorted me and I've been mostly fine.",
    "Came off my bike onto my hip in 2015, bruised for weeks, been perfect since.",
])
def test_an_old_sign_that_resolved_does_not_escalate(question: str) -> None:
    assert check_red_flag(question) is None


@pytest.mark.parametrize("question", [
    # a year dates a sign only with a recovery told and no word of now
    "Diagnosed with a sacral stress fracture in 2026, still on crutches. When can I run?",
    # "been good about..." is no recovery
    "Since my fall two months ago I can barely walk. I've been good about icing it.",
    # "someone" and "people" are not the person a report is about
    "As someone who has run for 20 years, this tingling down the back of my leg into my foot is new",
])
def test_signs_with_a_year_a_good_habit_or_someone_named_still_escalate(question: str) -> None:
    assert check_red_flag(question) is not None


@pytest.mark.parametrize(("question", "flag"), [
    ("my groin is not numb, just my foot tingles", "bladder_bowel"),
    ("my groin and inner thighs never went numb", "bladder_bowel"),
    ("my inner thighs feel numb after the ice bath", "bladder_bowel"),
    ("I can hardly put on weight since I started running", "cant_bear_weight"),
    ("I can barely take on gels in a marathon", "cant_bear_weight"),
    ("I can hardly stand on one leg for 30 seconds in the balance drill", "cant_bear_weight"),
    ("can barely put much weight on the bar for deadlifts", "cant_bear_weight"),
    ("I was hobbled by work stress this month", "cant_bear_weight"),
    ("My dog is hobbling after the trail run", "cant_bear_weight"),
    ("I've been escalating my mileage and do most runs at night", "worsening_rest_pain"),
    ("hopping on it is not agony, just a bit sore", "bone_stress"),
    ("How would I know if I tore my hamstring tendon?", "sudden_pop"),
    ("that hill session tore my glutes to shreds", "sudden_pop"),
])
def test_words_near_a_sign_that_are_not_one_do_not_decide_it(question: str, flag: str) -> None:
    assert flag not in [f.flag for f in default_rules().detect(question)]


def test_a_question_the_writer_answers_no_still_reports_its_sign() -> None:
    # "No." after a question of one's own is no denial of the sign told in it (a checklist
    # "Numbness? Nope." rule was tried and dropped: it silenced these)
    for question in ("Night sweats and a fever with my shin pain, can I still race? No. I have a "
                     "marathon Sunday.",
                     "Should I worry about the tingling down my leg? No. It's been 2 weeks."):
        assert check_red_flag(question) is not None, question


def test_a_thrill_is_not_tingling() -> None:
    assert check_red_flag("That relay finish was spine-tingling, my hamstring held up fine") is None
    hit = check_red_flag("Since the fall my spine tingles all the time.")
    assert hit is not None and hit.flag == "nerve"


def test_a_pulled_hamstring_alone_is_left_to_the_other_signs() -> None:
    # a mild strain, walking fine, is not a red flag; the same with trouble walking is
    assert check_red_flag("Pulled my hamstring two days ago, I can walk fine, maybe 3/10.") is None
    hit = check_red_flag("Pulled my hamstring two days ago and I can barely walk.")
    assert hit is not None and hit.flag == "cant_bear_weight"



def test_a_report_labelled_red_flag_still_escalates() -> None:
    # "red flag" asks about red flags, but "my bladder" in the same sentence reports one
    hit = check_red_flag("Red flag: I lost control of my bladder. What should I do?")
    assert hit is not None and hit.flag == "bladder_bowel"


@pytest.mark.parametrize("question", [
    "I'm favouring my left leg in the gym to build up strength. How many sets of bridges?",
    "I can't put my leg down flat on the bench during hamstring stretches, is that normal?",
    "I can't hop yet, physio says build up to it. When should I start plyometrics?",
    "My foot slaps the ground when I run, my coach says I overstride",
    "couldn't feel the saddle was too high until my bike fit",
    "I'm hobbling along through my training plan but the hamstring is fine",
    "hopping drills are part of my warm-up now",
])
def test_training_words_that_look_like_signs_do_not_escalate(question: str) -> None:
    assert check_red_flag(question) is None


@pytest.mark.parametrize("question", [
    "to be fair I'm numb to it by now, six months of the same ache when I sit",
    "we all got numb to the advice to just rest it",
    "took a gel at 10k and popped another gel at 15k, then the top of my hamstring started to ache",
    "popped 2 paracetamol after the long run, is that ok with PHT?",
])
def test_numb_to_it_and_taking_something_are_no_signs(question: str) -> None:
    assert default_rules().detect_all(question) == []


@pytest.mark.parametrize(("question", "flag"), [
    ("my foot went numb to the touch after the run", "nerve"),
    ("the outside of my leg is numb to the knee", "nerve"),
    ("my leg is numb to everything below the knee", "nerve"),
    ("my foot has been numb to this day since the long run", "nerve"),
    ("I popped my hamstring in the last 100 m", "sudden_pop"),
    ("I popped a hammy sprinting", "sudden_pop"),
    ("I think I tore an adductor on the track yesterday", "sudden_pop"),
])
def test_numbness_and_a_pop_said_with_an_object_still_fire(question: str, flag: str) -> None:
    assert flag in {f.flag for f in default_rules().detect_all(question)}


@pytest.mark.parametrize("question", [
    "I've been dragging my feet about booking a physio, to be honest",
    "my foot caught a root on the trail last year, nothing since",
])
def test_idioms_and_trips_are_no_foot_drop(question: str) -> None:
    assert all(f.flag != "nerve" for f in default_rules().detect_all(question))


@pytest.mark.parametrize(("question", "flag"), [
    # a comma ends the negated list: what follows is a report
    ("I haven't stretched or rolled or iced, numb foot after runs", "nerve"),
    ("haven't run or walked or sat, pins and needles down the leg", "nerve"),
    ("not ice or heat or rest or stretching, 7/10 pain running", "pain_over_5"),
])
def test_a_negated_list_ends_at_its_comma(question: str, flag: str) -> None:
    hit = check_red_flag(question)
    assert hit is not None and hit.flag == flag


def test_a_list_without_a_negation_still_escalates() -> None:
    hit = check_red_flag("I get tingling or numbness or a zing going down the leg on long runs")
    assert hit is not None and hit.flag == "nerve"


@pytest.mark.parametrize("question", [
    "Took a nasty spill on the ice last week, my hip is bruised and it hurts to run. Ok to go?",
    "The bike crash left me with a deep bruise on my glute, it took the brunt of the fall.",
    "Came off my bike at speed and skidded along the road on my hip; it's swollen and it hurts "
    "to sit. Can I run?",
])
def test_a_fall_told_as_a_noun_with_bruising_escalates(question: str) -> None:
    hit = check_red_flag(question)
    assert hit is not None and hit.flag == "trauma_swelling"


@pytest.mark.parametrize("question", [
    "My fall marathon went well, but now a deep bruise-like ache at the sit bone after long "
    "runs. What is it?",
    "Had a big fall block of training, now my ankle is swollen after long runs",
])
def test_the_fall_season_is_not_a_fall(question: str) -> None:
    assert check_red_flag(question) is None


@pytest.mark.parametrize("question", [
    "Deep pain in my buttock for months. I've also lost about 6kg without trying and get fevers "
    "at night. Could it be hamstring tendinopathy?",
    "unexplained weight loss and pain under my glute when i sit. should i run?",
    "dropped 4 kilos for no reason since spring and the ache at my sit bone is there every day",
    "I'm down 5kg without trying and my sit bone aches every day",
    "I've lost a lot of weight recently and I don't know why, and my buttock aches",
    "my weight dropped 5kg for no reason and my butt aches",
])
def test_weight_lost_without_trying_with_pain_is_urgent(question: str) -> None:
    hit = check_red_flag(question)
    assert hit is not None and (hit.flag, hit.severity) == ("systemic_night_pain", "urgent")


@pytest.mark.parametrize("question", [
    "I've lost 5kg since January because I'm eating better. My hamstring aches after long runs.",
    "I lost weight on purpose this year and my hamstring is sore. Should I eat more protein?",
    "I haven't had any unexplained weight loss, just the ache at my sit bone.",
    "I'm down to 3 runs a week without trying to push it, and my hamstring aches",
    "my pace dropped for no reason and my hamstring aches",
])
def test_weight_lost_on_purpose_or_denied_is_no_red_flag(question: str) -> None:
    assert check_red_flag(question) is None
