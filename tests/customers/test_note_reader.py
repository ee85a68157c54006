"""The note reader, phrase by phrase: what each kind of note proposes, and what ordinary notes do not."""

import datetime

import pytest

from customers.note_reader import find_date, read_note

# Sunday 22 November 2026, 10:00 in the shop.
WRITTEN = datetime.datetime(2026, 11, 22, 10, 0, tzinfo=datetime.UTC)


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
        ("She is pregnant with their second", ("Congratulate them on the baby", "next_visit", None)),
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
