"""The note reader, phrase by phrase: what each kind of note proposes, and what ordinary notes do not."""

import datetime
import re

import pytest

from customers.note_reader import find_dates, read_note

# Sunday 22 November 2026, 10:00 in the shop.
WRITTEN = datetime.datetime(2026, 11, 22, 10, 0, tzinfo=datetime.UTC)


def find_date(text: str, written_at: datetime.datetime) -> datetime.date | None:
    """The first date mentioned in the text (its first day), or None."""
    dates = find_dates(text, written_at)
    return dates[0].start if dates else None


def follow_ups(text, **kwargs):
    return [
        (p.payload["prompt"], p.payload["due"], p.payload["due_date"])
        for p in read_note(text, WRITTEN, **kwargs)
        if p.kind == "follow_up"
    ]


def dates(text):
    return [p.payload for p in read_note(text, WRITTEN) if p.kind == "date"]


def people(text, **kwargs):
    return [p.payload for p in read_note(text, WRITTEN, **kwargs) if p.kind == "person"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # sick pet or person
        ("Her dog Rex is sick", ("Ask how Rex is feeling", "next_visit", None)),
        ("Rex, her dog, has been unwell", ("Ask how Rex is feeling", "next_visit", None)),
        ("his mum is in hospital", ("Ask how their mum is feeling", "next_visit", None)),
        ("Husband Mark has the flu", ("Ask how Mark is feeling", "next_visit", None)),
        ("Was feeling unwell today", ("Ask how they are feeling", "next_visit", None)),
        # new pet
        ("They got a new puppy called Milo", ("Ask how Milo is settling in", "next_visit", None)),
        ("adopted a kitten last weekend", ("Ask how the cat is settling in", "next_visit", None)),
        # engagement
        ("Just got engaged!", ("Congratulate them on the engagement", "next_visit", None)),
        # wedding
        ("Her wedding is on 14 June", ("Ask how the wedding went", "on_date", "2027-06-15")),
        # new baby
        ("Had a baby girl last month, Lily", ("Congratulate them on the baby", "next_visit", None)),
        ("She is pregnant with their second", ("Ask how the pregnancy is going", "next_visit", None)),
        # birthday mentioned
        ("Her birthday is on 3 March", ("Wish them a happy birthday", "on_date", "2027-03-03")),
        # moving house
        ("Moving house next Friday", ("Ask how the move went", "on_date", "2026-11-28")),
        ("Bought a house in Falmouth", ("Ask how the move went", "next_visit", None)),
        # new job
        (
            "Starts a new job at the hospital library in two weeks",
            ("Ask how the new job is going", "on_date", "2026-12-07"),
        ),
        ("Got promoted to head chef", ("Ask how the new job is going", "next_visit", None)),
        # loss or bereavement
        (
            "Her father passed away in October",
            ("Offer condolences gently and ask how they are doing", "next_visit", None),
        ),
        ("lost his dog last week", ("Offer condolences gently and ask how they are doing", "next_visit", None)),
        # accident or theft
        ("Car was stolen this morning", ("Ask if everything is sorted after the theft", "next_visit", None)),
        (
            "Was in a car accident, shaken but ok",
            ("Ask if everything is sorted after the accident", "next_visit", None),
        ),
        ("House was burgled over the weekend", ("Ask if everything is sorted after the break-in", "next_visit", None)),
        # travel or holiday
        ("Off on holiday to Lisbon on 3 March", ("Ask how the trip was", "on_date", "2027-03-04")),
        ("Flying to Japan next month", ("Ask how the trip was", "on_date", "2026-12-23")),
        # graduation
        ("Her son Tom graduated from nursing school", ("Congratulate Tom on the graduation", "next_visit", None)),
    ],
)
def test_note_proposes_the_expected_follow_up(text, expected):
    assert expected in follow_ups(text)


def test_sick_dog_with_vet_visit_proposes_both_follow_ups_and_the_pet():
    text = "Her dog Rex is sick, vet on Tuesday"
    assert follow_ups(text) == [
        ("Ask how Rex is feeling", "next_visit", None),
        ("Ask how Rex's vet appointment went", "on_date", "2026-11-25"),  # the day after Tuesday 24th
    ]
    assert people(text) == [{"name": "Rex", "relation": "pet", "species": "dog"}]


def test_known_pet_is_not_proposed_again():
    assert people("Her dog Rex is sick", known_names={"rex"}) == []


def test_the_known_names_are_asked_for_only_when_the_note_names_someone():
    """Saving a note reads the customer's people only for a note that could propose one."""
    asked = []

    def known() -> set[str]:
        asked.append(True)
        return {"rex"}

    assert people("Her dog Rex is sick", known_names=known) == [] and asked == [True]
    asked.clear()
    assert read_note("Back from holiday, wants new frames before Friday", WRITTEN, known_names=known) is not None
    assert asked == []


def test_engagement_proposes_todays_date():
    assert dates("Just got engaged to Sam!") == [
        {"kind": "engagement", "month": 11, "day": 22, "year": 2026, "label": ""}
    ]


def test_wedding_date_becomes_the_wedding_anniversary():
    assert dates("Wedding is on 14 June") == [{"kind": "wedding", "month": 6, "day": 14, "year": 2027, "label": ""}]


def test_birthday_with_age_knows_the_year():
    assert dates("Anna turns 40 on Friday") == [{"kind": "birthday", "month": 11, "day": 27, "year": 1986, "label": ""}]


def test_new_son_is_proposed_as_a_person():
    assert people("Her son Tom graduated from nursing school") == [{"name": "Tom", "relation": "child", "species": ""}]


@pytest.mark.parametrize(
    "text",
    [
        "bought two pairs of glasses",
        "Bought two pairs of glasses, prefers tortoiseshell frames",
        "Collected her contact lenses",
        "Eye test booked, prescription slightly stronger",
        "She may come back for sunglasses",
        "Paid by card, happy with the fit",
        "Wants a call when the Ray-Ban order arrives",
        "Chatted about the weather and the new coffee shop",
        "Works in the hospital as a porter",
        "Her husband is a surgeon",
        "Passed her the new catalogue",
        "Returned the case, wrong colour",
        "Prefers appointments in the morning",
    ],
)
def test_ordinary_notes_propose_nothing(text):
    assert read_note(text, WRITTEN) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vet on Tuesday", datetime.date(2026, 11, 24)),
        ("next Friday", datetime.date(2026, 11, 27)),
        ("on 3 March", datetime.date(2027, 3, 3)),
        ("in two weeks", datetime.date(2026, 12, 6)),
        ("on June 14th", datetime.date(2027, 6, 14)),
        ("tomorrow", datetime.date(2026, 11, 23)),
        ("she may call", None),
        ("bought 2 pairs", None),
    ],
)
def test_dates_are_read_relative_to_when_the_note_was_written(text, expected):
    assert find_date(text, WRITTEN) == expected


def test_a_place_named_in_a_note_is_not_an_appointment():
    assert follow_ups("Starts a new job at the hospital library in two weeks") == [
        ("Ask how the new job is going", "on_date", "2026-12-07")
    ]


# --- real notes, kind by kind ------------------------------------------------------------------
# Each kind in several phrasings; WRITTEN is Sunday 22 November 2026.

NEXT = ("next_visit", None)


def on(day):
    return ("on_date", day)


KINDS = {
    "illness": [
        ("Her son has chickenpox", "Ask how their son is feeling", NEXT),
        ("Husband has kidney problems", "Ask how their husband is feeling", NEXT),
        ("Her daughter Emma came down with the flu", "Ask how Emma is feeling", NEXT),
        ("His wife was diagnosed with cancer", "Ask how their wife is feeling", NEXT),
        ("Feeling really under the weather", "Ask how they are feeling", NEXT),
        ("Her mum is very ill, in hospital with pneumonia", "Ask how their mum is feeling", NEXT),
        ("Mum in hospital again", "Ask how their mum is feeling", NEXT),
        ("Dog not well", "Ask how the dog is feeling", NEXT),
    ],
    "injury": [
        ("Broke his arm skiing", "Ask how they are recovering", NEXT),
        ("Her husband Mark fractured his wrist", "Ask how Mark is recovering", NEXT),
        ("Sprained her ankle at netball", "Ask how they are recovering", NEXT),
    ],
    "procedure": [
        ("Having a hip replacement on 3 March", "Ask how the hip replacement went", on("2027-03-04")),
        ("Her dad's operation is next Tuesday", "Ask how their dad's operation went", on("2026-11-25")),
        ("Knee replacement next month", "Ask how the knee replacement went", on("2026-12-23")),
        ("Had surgery last week", "Ask how they are recovering from the surgery", NEXT),
        ("Recovering from cataract surgery", "Ask how they are recovering from the cataract surgery", NEXT),
        ("Getting her hip done in January", "Ask how the hip operation went", on("2027-02-01")),
    ],
    "appointment": [
        ("Dentist appointment on Friday", "Ask how the dentist appointment went", on("2026-11-28")),
        ("Her son's interview is on Monday", "Ask how their son's interview went", on("2026-11-24")),
        ("Scan next Friday", "Ask how the scan went", on("2026-11-28")),
    ],
    "birth": [
        ("Her grandson was born last week", "Congratulate them on the new grandchild", NEXT),
        ("Became a grandmother for the first time", "Congratulate them on the new grandchild", NEXT),
        ("Daughter had a baby boy", "Congratulate them on the baby", NEXT),
        ("She is expecting, baby due in April", "Ask whether the baby has arrived", on("2027-05-01")),
        ("She's having a baby in March", "Ask whether the baby has arrived", on("2027-04-01")),
    ],
    "engagement": [
        ("Just got engaged!", "Congratulate them on the engagement", NEXT),
        ("He popped the question at Christmas", "Congratulate them on the engagement", NEXT),
        ("Her son Tom got engaged", "Congratulate them on Tom's engagement", NEXT),
    ],
    "wedding": [
        ("Getting married on 12 June 2027", "Ask how the wedding went", on("2027-06-13")),
        ("Her daughter's wedding is in June", "Ask how their daughter's wedding went", on("2027-07-01")),
        ("Bridesmaid at her sister's wedding in May", "Ask how their sister's wedding went", on("2027-06-01")),
        ("They got married last June", "Congratulate them on the wedding", NEXT),
    ],
    "move": [
        ("Moving to Portland at the end of the month", "Ask how the move went", on("2026-12-01")),
        ("Moving to Denver next spring", "Ask how the move went", on("2027-06-01")),
        ("Just moved house", "Ask how they are settling in at the new home", NEXT),
    ],
    "new_job": [
        ("Starting a new job at the hospital next month", "Ask how the new job is going", on("2026-12-23")),
        ("Got a new job at the hospital", "Ask how the new job is going", NEXT),
        ("Her husband starts a new job on Monday", "Ask how their husband's new job is going", on("2026-11-24")),
        ("Hubby starting new job Monday", "Ask how their husband's new job is going", on("2026-11-24")),
    ],
    "job_loss": [
        ("Lost his job last month", "Ask gently how the job search is going", NEXT),
        ("Was made redundant", "Ask gently how the job search is going", NEXT),
        ("Laid off from the plant last week", "Ask gently how the job search is going", NEXT),
        ("Husband got fired", "Ask gently how their husband's job search is going", NEXT),
    ],
    "retirement": [
        ("Retiring at Christmas", "Congratulate them on retiring", on("2026-12-26")),
        ("Retired last month after 30 years", "Congratulate them on retiring", NEXT),
        ("Retirement party is on the 15th", "Congratulate them on retiring", on("2026-12-16")),
    ],
    "school": [
        ("Her son starts university in September", "Ask how their son is getting on at university", on("2027-10-01")),
        ("Her daughter Amy is off to uni next September", "Ask how Amy is getting on at university", on("2027-10-01")),
        ("Her son Jack starts school in September", "Ask how Jack is getting on at school", on("2027-10-01")),
    ],
    "exams": [
        ("Daughter has exams next week", "Ask how their daughter's exams went", on("2026-11-30")),
        ("Finals in May", "Ask how the finals went", on("2027-06-01")),
        ("GCSEs next summer", "Ask how the GCSEs went", on("2027-09-01")),
    ],
    "bereavement": [
        ("Her mum passed away from cancer", "Offer condolences gently and ask how they are doing", NEXT),
        ("Her dog Rex died", "Offer condolences gently and ask how they are doing", NEXT),
        ("The cat was put to sleep yesterday", "Offer condolences gently and ask how they are doing", NEXT),
        ("Mom passed last month", "Offer condolences gently and ask how they are doing", NEXT),
        ("Lost her husband in the spring", "Offer condolences gently and ask how they are doing", NEXT),
    ],
    "theft_or_accident": [
        ("Her car was stolen", "Ask if everything is sorted after the theft", NEXT),
        ("Got mugged on the way home", "Ask if everything is sorted after the theft", NEXT),
        ("Was burgled last weekend", "Ask if everything is sorted after the break-in", NEXT),
        ("Had a car accident on Tuesday", "Ask if everything is sorted after the accident", NEXT),
    ],
    "trip": [
        ("Going to Japan in April", "Ask how the trip was", on("2027-05-01")),
        ("Cruise over New Year", "Ask how the trip was", on("2027-01-02")),
        ("Back from holiday in Greece", "Ask how the trip was", NEXT),
    ],
    "race": [
        ("Running the Boston marathon in April", "Ask how the marathon went", on("2027-05-01")),
        ("Doing a triathlon in July", "Ask how the triathlon went", on("2027-08-01")),
        ("Her son Tom is playing in a tennis tournament next weekend", "Ask how Tom's tournament went", None),
    ],
    "business": [
        ("Opening a bakery in spring", "Ask how the new bakery is going", on("2027-06-01")),
        ("Opening her own salon in March", "Ask how the new salon is going", on("2027-04-01")),
        ("Launched a food truck", "Ask how the new food truck is going", NEXT),
        ("Her bakery opens next Saturday", "Ask how the new bakery is going", on("2026-11-29")),
    ],
    "wish": [
        ("Wants sunglasses in spring", "Offer the sunglasses they wanted in spring", on("2027-03-01")),
        ("Would like new frames after Christmas", "Offer the new frames they wanted after Christmas", on("2026-12-26")),
        (
            "Saving up for new glasses for Christmas",
            "Offer the new glasses they wanted for Christmas",
            on("2026-12-25"),
        ),
        (
            "Thinking about getting varifocals in June",
            "Offer the varifocals they wanted in June",
            on("2027-06-01"),
        ),
    ],
    "complaint": [
        (
            "Unhappy with our booking, was kept waiting 40 minutes",
            "Apologise for the problem with the booking and check it was put right",
            on("2026-11-23"),
        ),
        ("Complained about the wait", "Apologise for the wait and check it was put right", on("2026-11-23")),
        (
            "Booking mix-up last time, she was annoyed",
            "Apologise for the problem with the booking and check it was put right",
            on("2026-11-23"),
        ),
        (
            "Our booking was lost, she waited an hour",
            "Apologise for the problem with the booking and check it was put right",
            on("2026-11-23"),
        ),
        (
            "Bad experience with the booking last time",
            "Apologise for the problem with the booking and check it was put right",
            on("2026-11-23"),
        ),
    ],
    "product_problem": [
        ("New frames giving her headaches", "Check the frames are comfortable now; offer a free adjustment", None),
        ("The new glasses keep slipping down", "Check the glasses are comfortable now; offer a free adjustment", None),
        (
            "Headaches from the new varifocals",
            "Check the varifocals are comfortable now; offer a free adjustment",
            None,
        ),
        ("Her glasses broke", "Check the glasses were repaired or replaced", on("2026-11-23")),
    ],
    "coming_back_to_us": [
        ("Wants to come back in June for a check-up", "Invite them back for the check-up", on("2027-06-01")),
        ("Would like to book an eye test in January", "Invite them back for the eye test", on("2027-01-01")),
        ("Plans to come back next week", "Invite them back, as they planned", on("2026-11-29")),
    ],
    "call_back": [
        ("Wants a call in two weeks", "Call them, as they asked", on("2026-12-06")),
        ("Asked us to ring on Friday", "Call them, as they asked", on("2026-11-27")),
    ],
    "family_visit": [
        ("Her daughter and grandkids are visiting next weekend", "Ask how the visit from their daughter went", None),
        ("In-laws staying with them over Christmas", "Ask how the visit from the in-laws went", on("2026-12-26")),
        ("Grandkids coming to stay at Easter", "Ask how the visit from the grandkids went", on("2027-03-29")),
        ("Her parents are visiting from Ohio next week", "Ask how the visit from their parents went", None),
    ],
    "achievement": [
        ("Her son Tom passed his driving test", "Congratulate Tom on passing his driving test", NEXT),
        ("Won the regional bake-off", "Congratulate them on winning the regional bake-off", NEXT),
        ("Qualified as a nurse", "Congratulate them on qualifying as a nurse", NEXT),
        ("Ran the half marathon in under two hours", "Congratulate them on running the half marathon", NEXT),
    ],
}


@pytest.mark.parametrize(
    ("text", "prompt", "due"),
    [case for cases in KINDS.values() for case in cases],
    ids=[f"{kind}: {case[0]}" for kind, cases in KINDS.items() for case in cases],
)
def test_real_notes_propose_their_follow_up(text, prompt, due):
    found = {p: (d, day) for p, d, day in follow_ups(text)}
    assert prompt in found, found
    if due is not None:
        assert found[prompt] == due


def test_a_new_job_at_the_hospital_is_a_new_job_not_a_hospital_appointment():
    for text in ("Got a new job at the hospital", "Starting a new job at the hospital next month"):
        prompts = [prompt for prompt, _due, _day in follow_ups(text)]
        assert prompts == ["Ask how the new job is going"]


@pytest.mark.parametrize(
    "text",
    [
        "Her mum passed away from cancer",
        "Her dog Rex died after being ill for months",
        "Lost her husband to a heart attack",
        "Her father died in hospital last week",
    ],
)
def test_a_death_is_never_met_with_how_are_they_feeling(text):
    prompts = [prompt for prompt, _due, _day in follow_ups(text)]
    assert prompts == ["Offer condolences gently and ask how they are doing"]
    assert people(text) == []  # nobody who died is proposed as a person to add


def test_just_engaged_with_a_wedding_in_june_proposes_both_dates_and_a_follow_up_after_june():
    proposals = read_note("Just got engaged, wedding in June", WRITTEN)
    assert [(p.kind, p.rule) for p in proposals if p.kind != "gesture"] == [
        ("follow_up", "engagement"),
        ("date", "engagement"),
        ("follow_up", "wedding"),
        ("date", "wedding"),
    ]
    assert dates("Just got engaged, wedding in June") == [
        {"kind": "engagement", "month": 11, "day": 22, "year": 2026, "label": ""},
        {"kind": "wedding", "month": 6, "day": None, "year": 2027, "label": ""},  # known to the month
    ]
    assert ("Ask how the wedding went", "on_date", "2027-07-01") in follow_ups("Just got engaged, wedding in June")
    summaries = [p.summary for p in proposals]
    assert "Ask how the wedding went (after June 2027: from Thu 1 Jul 2027)" in summaries
    assert "Add important date: Wedding anniversary in June 2027 (say which day)" in summaries


def test_an_engagement_said_to_be_last_weekend_is_dated_that_saturday():
    assert dates("Got engaged last weekend and the wedding is next June")[0]["day"] == 14


def test_someone_elses_wedding_is_not_the_customers_anniversary():
    assert dates("Her daughter's wedding is in June") == []
    assert dates("Bridesmaid at her sister's wedding in May") == []


def test_a_wedding_anniversary_keeps_no_year():
    assert dates("Wedding anniversary on 3 May") == [
        {"kind": "wedding", "month": 5, "day": 3, "year": None, "label": ""}
    ]


# --- gesture ideas ----------------------------------------------------------------------------


def gesture(text):
    found = [p.payload for p in read_note(text, WRITTEN) if p.kind == "gesture"]
    return found[0] if found else None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Her car was stolen", "gift_card"),
        ("Got mugged on the way home", "gift_card"),
        ("Her son has chickenpox", "card"),
        ("Having a hip replacement on 3 March", "card"),
        ("Her mum passed away", "card"),
        ("Lost his job last month", "card"),
        ("Unhappy with our booking, was kept waiting", "discount"),
        ("New frames giving her headaches", "favour"),
        ("Just got engaged!", "card"),
        ("Her grandson was born last week", "card"),
        ("Retiring at Christmas", "card"),
        ("Won the regional bake-off", "card"),
        ("Opening a bakery in spring", "flowers"),
    ],
)
def test_setbacks_and_celebrations_propose_a_gesture_idea(text, category):
    idea = gesture(text)
    assert idea is not None and idea["category"] == category
    assert idea["description"] and idea["amount"].isdigit()


def test_a_gesture_idea_says_what_it_is_for():
    assert gesture("Her car was stolen")["description"] == "A small gift card after the theft, to cheer them up"
    assert gesture("Opening a bakery in spring")["description"] == "Flowers for the opening of the new bakery"


@pytest.mark.parametrize(
    "text", ["Dentist appointment on Friday", "Going to Japan in April", "Moving house next Friday"]
)
def test_ordinary_events_propose_no_gesture(text):
    assert gesture(text) is None


def test_every_gesture_category_is_one_the_gesture_form_offers():
    from customers.note_reader import RULES
    from microcx.models import Gesture

    categories = {rule.gesture.category for rule in RULES if rule.gesture}
    assert categories <= set(Gesture.Category.values)


# --- people and pets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Her daughter Emma has measles", [{"name": "Emma", "relation": "child", "species": ""}]),
        ("Husband Mark has the flu", [{"name": "Mark", "relation": "spouse", "species": ""}]),
        ("Their cat Luna is poorly", [{"name": "Luna", "relation": "pet", "species": "cat"}]),
        ("Got a kitten called Mochi", [{"name": "Mochi", "relation": "pet", "species": "cat"}]),
        (
            "Her son Tom has exams next week and her daughter Amy starts school in September",
            [
                {"name": "Tom", "relation": "child", "species": ""},
                {"name": "Amy", "relation": "child", "species": ""},
            ],
        ),
        ("Her granddaughter Rosie was born on Tuesday", [{"name": "Rosie", "relation": "other", "species": ""}]),
    ],
)
def test_people_and_pets_are_proposed_with_their_names_and_relations(text, expected):
    assert people(text) == expected


def test_each_event_is_about_the_person_named_in_its_own_sentence():
    text = "Her son Tom has chickenpox. Her husband Mark starts a new job on Monday."
    assert follow_ups(text) == [
        ("Ask how Tom is feeling", "next_visit", None),
        ("Ask how Mark's new job is going", "on_date", "2026-11-24"),
    ]


# --- dates ------------------------------------------------------------------------------------


def when(text, written):
    from customers.note_reader import find_dates

    found = find_dates(text, written)
    assert found, f"no date in {text!r}"
    first = found[0]
    return first.start, first.end, first.precision, first.past


def at(year, month, day):
    return datetime.datetime(year, month, day, 10, 0, tzinfo=datetime.UTC)


D = datetime.date


@pytest.mark.parametrize(
    ("text", "written", "expected"),
    [
        # weekdays, next and this (Sunday 22 November 2026)
        ("on Tuesday", WRITTEN, (D(2026, 11, 24), D(2026, 11, 24), "day", False)),
        ("this Friday", WRITTEN, (D(2026, 11, 27), D(2026, 11, 27), "day", False)),
        ("next Sunday", WRITTEN, (D(2026, 11, 29), D(2026, 11, 29), "day", False)),
        ("last Tuesday", WRITTEN, (D(2026, 11, 17), D(2026, 11, 17), "day", True)),
        # day and month in any order
        ("on 3 March", WRITTEN, (D(2027, 3, 3), D(2027, 3, 3), "day", False)),
        ("March 3rd", WRITTEN, (D(2027, 3, 3), D(2027, 3, 3), "day", False)),
        ("the 3rd of March", WRITTEN, (D(2027, 3, 3), D(2027, 3, 3), "day", False)),
        ("on December 5", WRITTEN, (D(2026, 12, 5), D(2026, 12, 5), "day", False)),
        # month only: known to the month
        ("in June", WRITTEN, (D(2027, 6, 1), D(2027, 6, 30), "month", False)),
        ("in December", WRITTEN, (D(2026, 12, 1), D(2026, 12, 31), "month", False)),
        ("in November", WRITTEN, (D(2026, 11, 1), D(2026, 11, 30), "month", False)),
        ("next November", WRITTEN, (D(2027, 11, 1), D(2027, 11, 30), "month", False)),
        ("in January", at(2026, 12, 28), (D(2027, 1, 1), D(2027, 1, 31), "month", False)),
        ("passed away in October", WRITTEN, (D(2026, 10, 1), D(2026, 10, 31), "month", True)),
        # seasons (northern hemisphere), also across the turn of the year
        ("in spring", WRITTEN, (D(2027, 3, 1), D(2027, 5, 31), "season", False)),
        ("this summer", WRITTEN, (D(2027, 6, 1), D(2027, 8, 31), "season", False)),
        ("in the winter", at(2026, 12, 28), (D(2026, 12, 28), D(2027, 2, 28), "season", False)),
        ("in the winter", at(2027, 1, 10), (D(2027, 1, 10), D(2027, 2, 28), "season", False)),
        ("in spring", at(2026, 12, 30), (D(2027, 3, 1), D(2027, 5, 31), "season", False)),
        # holidays
        ("at Christmas", WRITTEN, (D(2026, 12, 25), D(2026, 12, 25), "day", False)),
        ("at Christmas", at(2026, 12, 28), (D(2027, 12, 25), D(2027, 12, 25), "day", False)),
        ("over New Year", at(2026, 12, 28), (D(2027, 1, 1), D(2027, 1, 1), "day", False)),
        ("on New Year's Eve", at(2026, 12, 28), (D(2026, 12, 31), D(2026, 12, 31), "day", False)),
        ("at Easter", WRITTEN, (D(2027, 3, 28), D(2027, 3, 28), "day", False)),
        ("for Thanksgiving", WRITTEN, (D(2026, 11, 26), D(2026, 11, 26), "day", False)),
        # "the 3rd", the end of the month
        ("on the 3rd", WRITTEN, (D(2026, 12, 3), D(2026, 12, 3), "day", False)),
        ("on the 30th", WRITTEN, (D(2026, 11, 30), D(2026, 11, 30), "day", False)),
        ("on the 3rd", at(2026, 12, 28), (D(2027, 1, 3), D(2027, 1, 3), "day", False)),
        ("at the end of the month", WRITTEN, (D(2026, 11, 24), D(2026, 11, 30), "day", False)),
        ("end of next month", WRITTEN, (D(2026, 12, 25), D(2026, 12, 31), "day", False)),
        # the past
        ("last weekend", WRITTEN, (D(2026, 11, 14), D(2026, 11, 15), "day", True)),
        ("last weekend", at(2026, 11, 25), (D(2026, 11, 21), D(2026, 11, 22), "day", True)),
        ("yesterday", WRITTEN, (D(2026, 11, 21), D(2026, 11, 21), "day", True)),
        ("last month", WRITTEN, (D(2026, 10, 1), D(2026, 10, 31), "month", True)),
        ("two weeks ago", WRITTEN, (D(2026, 11, 8), D(2026, 11, 8), "day", True)),
    ],
)
def test_dates_are_read_as_people_say_them(text, written, expected):
    assert when(text, written) == expected


@pytest.mark.parametrize("text", ["She may come back for sunglasses", "Wants to try the fall collection"])
def test_words_that_look_like_dates_are_not(text):
    from customers.note_reader import find_dates

    assert find_dates(text, WRITTEN) == []


def test_a_past_event_is_never_followed_up_before_the_note_was_written():
    for text in ("Her son was in a race last weekend", "Retired last month", "Moved house in October"):
        for _prompt, due, day in follow_ups(text):
            assert due == "next_visit" or day > WRITTEN.date().isoformat()


def test_the_reader_uses_the_notes_own_day_never_the_clock(time_at):
    # The server's clock says 2030; the note was written on Sunday 22 November 2026.
    time_at(datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC))
    assert follow_ups("Moving house next Friday") == [("Ask how the move went", "on_date", "2026-11-28")]
    assert ("Ask how the wedding went", "on_date", "2027-07-01") in follow_ups("Just got engaged, wedding in June")


@pytest.mark.parametrize(
    ("written", "text", "expected"),
    [
        # Near the turn of the year: holidays and seasons roll into the next year when they are past.
        (at(2026, 12, 28), "Wants sunglasses in spring", ("on_date", "2027-03-01")),
        (at(2026, 12, 28), "Would like new frames for Christmas", ("on_date", "2027-12-25")),
        (at(2026, 12, 28), "Wedding in January", ("on_date", "2027-02-01")),
        (at(2026, 12, 30), "Moving house on the 3rd", ("on_date", "2027-01-04")),
        (at(2026, 12, 31), "Off on holiday next week", ("on_date", "2027-01-08")),
    ],
)
def test_dates_near_the_end_of_the_year(time_at, written, text, expected):
    time_at(written)
    found = [
        (due, day)
        for _prompt, due, day in [
            (p.payload["prompt"], p.payload["due"], p.payload["due_date"])
            for p in read_note(text, written)
            if p.kind == "follow_up"
        ]
    ]
    assert expected in found


# --- two hundred notes --------------------------------------------------------------------------

NAMES = ["Tom", "Amy", "Rex", "Luna", "Mark"]
TEMPLATES = [
    "Her son {name} has chickenpox",
    "Her dog {name} is poorly, vet on Thursday",
    "Husband {name} lost his job last month",
    "Her daughter {name} starts university in September",
    "Her son {name} is running the marathon in April",
    "Just got engaged to {name}, wedding next June",
    "{name}'s car was stolen last weekend",
    "Her mum passed away, {name} is with her",
    "Opening a bakery with {name} in spring",
    "Wants sunglasses for {name} in summer",
    "Unhappy with our booking, {name} waited an hour",
    "New frames giving {name} headaches",
    "Her grandson {name} was born on the 3rd",
    "Her son {name} passed his driving test",
    "Retiring at the end of the month, party with {name}",
    "Family visiting at Christmas, {name} too",
    "Moving to Portland with {name} next month",
    "Her husband {name} is having a hip replacement on 3 March",
    "Bought two pairs of glasses, {name} chose the frames",
    "Paid by card, {name} happy with the fit",
    "Off to Spain with {name} over New Year",
    "Her sister {name} is visiting next weekend",
    "{name} has exams in May, then a trip to Japan",
    "Her son {name} won the county chess tournament",
    "Complained about the wait; {name} was kind",
    "Her father died in October; {name} is looking after her",
    "Broke her arm, {name} drove her here",
    "Got a new job at the hospital, {name} says hi",
    "Pregnant with twins, due in July, {name} is thrilled",
    "Her cat {name} had an operation yesterday",
    "Chatted about the weather and {name}'s garden",
    "Starting a new job on Monday, {name} is nervous",
    "Collected her contact lenses with {name}",
    "Her son {name} is off to college in the fall",
    "Her daughter {name} has the flu",
    "Lost her wallet, {name} found it",
    "Her nephew {name} is getting married on June 14th",
    "Prefers appointments in the morning, like {name}",
    "Thinking about getting varifocals after Christmas, {name} has some",
    "Her granddaughter {name} graduated last week",
]
ORDINARY = ("Bought two pairs", "Paid by card", "Chatted about", "Collected her", "Lost her wallet", "Prefers")
TWO_HUNDRED_NOTES = [template.format(name=name) for template in TEMPLATES for name in NAMES]


def test_the_reader_reads_two_hundred_varied_notes_without_contradicting_them():
    # Timing is measured by a script (see the closing note), never asserted here.
    assert len(TWO_HUNDRED_NOTES) == 200
    for text in TWO_HUNDRED_NOTES:
        proposals = read_note(text, WRITTEN)
        for proposal in proposals:
            assert proposal.summary
            if proposal.kind == "follow_up" and proposal.payload["due"] == "on_date":
                assert proposal.payload["due_date"] > WRITTEN.date().isoformat(), text
            if proposal.kind == "date" and proposal.payload["day"] is not None:
                datetime.date(2000, proposal.payload["month"], proposal.payload["day"])
        if re.search(r"died|passed away", text):
            assert not any("feeling" in p.summary or "recovering" in p.summary for p in proposals), text
    silent = {text for text in TWO_HUNDRED_NOTES if not read_note(text, WRITTEN)}
    assert silent == {text for text in TWO_HUNDRED_NOTES if text.startswith(ORDINARY)}


def test_a_birth_on_the_3rd_is_the_3rd_just_gone():
    assert follow_ups("Her grandson Tom was born on the 3rd") == [
        ("Congratulate them on the new grandchild", "next_visit", None)
    ]
