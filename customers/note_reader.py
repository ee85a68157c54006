"""Read a personal note and propose follow-ups, important dates and people to add.

Nothing here writes to the database: it returns proposals that the note's
writer accepts or ignores with one click. The rules are one readable table
(RULES); each is tested phrase by phrase in tests/customers/test_note_reader.py.

Dates in the text ("on Tuesday", "next Friday", "on 3 March", "in two weeks")
are found by DATE_PHRASE and turned into dates by dateparser, relative to the
moment the note was written, in the business's local time.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

import dateparser

PETS = r"dog|puppy|pup|cat|kitten|rabbit|bunny|hamster|guinea pig|horse|pony|parrot|budgie|bird|tortoise|turtle|lizard"
PEOPLE = {
    "husband": "spouse",
    "wife": "spouse",
    "partner": "partner",
    "fiance": "partner",
    "fiancé": "partner",
    "fiancee": "partner",
    "fiancée": "partner",
    "boyfriend": "partner",
    "girlfriend": "partner",
    "son": "child",
    "daughter": "child",
    "baby": "child",
    "mum": "parent",
    "mom": "parent",
    "mother": "parent",
    "dad": "parent",
    "father": "parent",
    "brother": "sibling",
    "sister": "sibling",
    "grandson": "other",
    "granddaughter": "other",
    "friend": "friend",
}
PEOPLE_WORDS = "|".join(sorted(PEOPLE, key=len, reverse=True))
PET_SPECIES = {"puppy": "dog", "pup": "dog", "kitten": "cat", "bunny": "rabbit", "pony": "horse", "budgie": "bird"}
# A name is a capitalised word that is not an ordinary word at the start of a clause.
NAME = r"(?P<name>(?!(?:Is|Was|And|But|The|She|He|They|Who|Has|Had|On|In|At|Got|Just)\b)[A-Z][a-z]+)"
POSSESSIVE = r"(?:her|his|their|my|our|the)"

WEEKDAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
)
NUMBER_WORDS = r"a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2}"
DATE_PHRASE = re.compile(
    rf"""
    \b(?:
        (?:on\s+|next\s+|this\s+|coming\s+)?(?:{WEEKDAYS})
      | (?:on\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b(?:\s+\d{{4}})?
      | (?:on\s+)?(?:{MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?
      | in\s+(?:{NUMBER_WORDS})\s+(?:days?|weeks?|months?)
      | next\s+(?:week|month|year)
      | tomorrow
      | (?:on\s+)?\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?
    )\b
    """,
    re.IGNORECASE | re.VERBOSE,
)


@dataclass(frozen=True)
class Proposal:
    """One thing the note reader proposes; `payload` is what accepting it creates."""

    kind: str  # "follow_up", "date" or "person"
    rule: str
    summary: str
    payload: dict = field(default_factory=dict)


@dataclass
class Reading:
    """What a rule found in a note: the subject's name, its relation, a date."""

    text: str
    written_on: datetime.date
    match: re.Match
    when: datetime.date | None
    subject: str | None
    relation: str | None
    species: str | None


def find_date(text: str, written_at: datetime.datetime) -> datetime.date | None:
    """Return the first date mentioned in the text, read relative to when it was written."""
    for found in DATE_PHRASE.finditer(text):
        phrase = re.sub(r"^(on|this|coming)\s+", "", found.group(0).strip(), flags=re.IGNORECASE)
        parsed = dateparser.parse(
            phrase,
            languages=["en"],
            settings={
                "RELATIVE_BASE": written_at.replace(tzinfo=None),
                "PREFER_DATES_FROM": "future",
                "RETURN_AS_TIMEZONE_AWARE": False,
            },
        )
        if parsed is not None:
            return parsed.date()
    return None


def find_subject(text: str) -> tuple[str | None, str | None, str | None]:
    """Return (name, relation, species) of the pet or person the note is about, as far as named."""
    pet = re.search(
        rf"\b{POSSESSIVE}?\s*(?:new\s+)?(?P<species>{PETS})\b(?:\s*,)?\s+(?:called\s+|named\s+)?{NAME}", text
    )
    if pet:
        species = pet.group("species").lower()
        return pet.group("name"), "pet", PET_SPECIES.get(species, species)
    pet = re.search(rf"\b{NAME},?\s+{POSSESSIVE}\s+(?:new\s+)?(?P<species>{PETS})\b", text)
    if pet:
        species = pet.group("species").lower()
        return pet.group("name"), "pet", PET_SPECIES.get(species, species)
    person = re.search(
        rf"(?:\b{POSSESSIVE}\s+|^)(?P<relation>{PEOPLE_WORDS})\s+(?:called\s+|named\s+)?{NAME}", text, re.I
    )
    if person and person.group("name")[0].isupper():
        return person.group("name"), PEOPLE[person.group("relation").lower()], None
    pet = re.search(rf"\b(?:{POSSESSIVE}|an?)\s+(?:new\s+)?(?P<species>{PETS})\b", text, re.I)
    if pet:
        species = pet.group("species").lower()
        return None, "pet", PET_SPECIES.get(species, species)
    person = re.search(rf"\b{POSSESSIVE}\s+(?P<relation>{PEOPLE_WORDS})\b", text, re.I)
    if person:
        return None, PEOPLE[person.group("relation").lower()], person.group("relation").lower()
    return None, None, None


def _who(reading: Reading, fallback: str = "them") -> str:
    """Name the subject for a prompt: "Rex", "her dog", or the fallback."""
    if reading.subject:
        return reading.subject
    if reading.relation == "pet" and reading.species:
        return f"the {reading.species}"
    if reading.species:  # for people, `species` holds the word used ("mum", "son")
        return f"their {reading.species}"
    return fallback


def _next_visit(prompt: str) -> dict:
    return {"prompt": prompt, "due": "next_visit", "due_date": None}


def _after(when: datetime.date | None, prompt: str) -> dict:
    """Due the day after the date in the note, or at the next visit when there is none."""
    if when is None:
        return _next_visit(prompt)
    return {"prompt": prompt, "due": "on_date", "due_date": (when + datetime.timedelta(days=1)).isoformat()}


def _on(when: datetime.date | None, prompt: str) -> dict:
    """Due on the date in the note itself."""
    if when is None:
        return _next_visit(prompt)
    return {"prompt": prompt, "due": "on_date", "due_date": when.isoformat()}


@dataclass(frozen=True)
class Rule:
    """When `pattern` matches a note, propose a follow-up (and perhaps a date)."""

    name: str
    pattern: str
    follow_up: object  # callable(Reading) -> dict with prompt, due, due_date
    date: object = None  # callable(Reading) -> dict with kind, month, day, year, label; or None
    needs_date: bool = False  # propose nothing unless the note gives a date


def _date_from(kind: str, label: str = ""):
    def make(reading: Reading) -> dict | None:
        when = reading.when or (reading.written_on if kind == "engagement" else None)
        if when is None:
            return None
        year = when.year if kind in ("engagement", "wedding") else None
        turns = re.search(r"\bturns\s+(\d{1,3})\b", reading.text, re.IGNORECASE)
        if kind == "birthday" and turns:
            year = when.year - int(turns.group(1))
        return {"kind": kind, "month": when.month, "day": when.day, "year": year, "label": label}

    return make


# The rules, in the order their proposals are shown. Patterns are case-insensitive.
RULES = [
    Rule(
        "sick",
        r"\b(?:is|was|has been|got|feeling|been)\s+(?:very\s+|really\s+|quite\s+)?"
        r"(?:sick|ill|unwell|poorly|not well|in hospital|in the hospital|injured)\b"
        r"|\b(?:has|got|caught|diagnosed with)\s+(?:the\s+)?(?:flu|covid|cancer|an infection)\b"
        r"|\bhaving (?:an )?(?:operation|surgery)\b",
        lambda r: _next_visit(f"Ask how {_who(r)} is feeling" if _who(r, "") else "Ask how they are feeling"),
    ),
    Rule(
        "appointment",
        # The appointment word directly followed by when it is: "vet on Tuesday", "scan next Friday".
        r"\b(?:vet|doctor|dentist|hospital|surgery|operation|scan|check-?up|appointment|interview|exam)"
        r"(?='?s?\s+(?:appointment\s+)?(?:is\s+)?(?:on|next|this|tomorrow|in)\b)",
        lambda r: _after(r.when, f"Ask how {_appointment(r)} went"),
        needs_date=True,
    ),
    Rule(
        "new_pet",
        rf"\b(?:new|got a|getting a|adopted a|rescued a|bringing home a)\s+(?:new\s+)?(?:{PETS})\b",
        lambda r: _next_visit(f"Ask how {_who(r, 'the new pet')} is settling in"),
    ),
    Rule(
        "engagement",
        r"\b(?:just\s+)?(?:got|gotten|is|are|became)\s+engaged\b|\bengagement\b|\bproposed\b",
        lambda r: _next_visit("Congratulate them on the engagement"),
        date=_date_from("engagement"),
    ),
    Rule(
        "wedding",
        r"\bwedding\b|\bgetting married\b|\bgot married\b|\bmarried on\b",
        lambda r: _after(r.when, "Ask how the wedding went"),
        date=_date_from("wedding"),
    ),
    Rule(
        "baby",
        r"\b(?:new baby|had a baby|having a baby|gave birth|is pregnant|expecting a baby|expecting twins"
        r"|baby (?:boy|girl) (?:was )?born|newborn)\b",
        lambda r: _next_visit("Congratulate them on the baby"),
    ),
    Rule(
        "birthday",
        r"\bbirthday\b|\bturns\s+\d{1,3}\b",
        lambda r: _on(r.when, f"Wish {_who(r, 'them')} a happy birthday"),
        date=_date_from("birthday"),
        needs_date=True,
    ),
    Rule(
        "moving",
        r"\b(?:moving house|moving home|moving to|moving out|moved house|moved to|new house|new flat"
        r"|new apartment|new home|buying a house|bought a house)\b",
        lambda r: _after(r.when, "Ask how the move went"),
    ),
    Rule(
        "new_job",
        r"\b(?:new job|started (?:a |her |his |their )?(?:new )?job|starts? (?:a |her |his |their )?new job"
        r"|got (?:a|the) job|promotion|promoted|new role|new position)\b",
        lambda r: _after(r.when, "Ask how the new job is going"),
    ),
    Rule(
        "loss",
        r"\b(?:passed away|died|funeral|bereavement|lost (?:her|his|their|my) (?:"
        + PEOPLE_WORDS
        + "|"
        + PETS
        + r"))\b",
        lambda r: _next_visit("Offer condolences gently and ask how they are doing"),
    ),
    Rule(
        "accident_or_theft",
        r"\b(?:accident|crash|crashed|stolen|stole|robbed|burgled|burglary|break-in|broke (?:her|his|their) )",
        lambda r: _next_visit(f"Ask if everything is sorted after the {_incident(r)}"),
    ),
    Rule(
        "travel",
        r"\b(?:holiday|vacation|trip to|travelling|traveling|flying to|going to \w+ for|honeymoon|cruise)\b",
        lambda r: _after(r.when, "Ask how the trip was"),
    ),
    Rule(
        "graduation",
        r"\bgraduat(?:ed|es|ing|ion)\b",
        lambda r: _after(r.when, f"Congratulate {_who(r, 'them')} on the graduation"),
    ),
]


def _appointment(reading: Reading) -> str:
    word = reading.match.group(0).lower()
    if word in ("vet", "doctor", "dentist"):
        subject = f"{reading.subject}'s " if reading.subject else "the "
        return f"{subject}{word} appointment"
    return f"the {word}"


def _incident(reading: Reading) -> str:
    word = reading.match.group(0).lower().strip()
    if word in ("stolen", "stole", "robbed"):
        return "theft"
    if word in ("burgled", "burglary", "break-in"):
        return "break-in"
    if word in ("crash", "crashed", "accident"):
        return "accident"
    return "accident"


def read_note(text: str, written_at: datetime.datetime, known_names: set[str] | None = None) -> list[Proposal]:
    """Return what a note suggests, without saving anything.

    `written_at` is the note's time in the business's local time zone;
    `known_names` are the lower-cased names of people and pets already recorded.
    """
    known_names = known_names or set()
    when = find_date(text, written_at)
    subject, relation, species = find_subject(text)
    proposals: list[Proposal] = []
    prompts: set[str] = set()
    for rule in RULES:
        match = re.search(rule.pattern, text, re.IGNORECASE)
        if not match:
            continue
        if rule.needs_date and when is None:
            continue
        reading = Reading(text, written_at.date(), match, when, subject, relation, species)
        follow_up = rule.follow_up(reading)
        if follow_up["prompt"] not in prompts:
            prompts.add(follow_up["prompt"])
            due = "at the next visit"
            if follow_up["due"] == "on_date":
                due = "on " + datetime.date.fromisoformat(follow_up["due_date"]).strftime("%a %-d %b")
            proposals.append(Proposal("follow_up", rule.name, f"{follow_up['prompt']} ({due})", follow_up))
        if rule.date is not None:
            date = rule.date(reading)
            if date is not None:
                proposals.append(Proposal("date", rule.name, _date_summary(date), date))
    if proposals and subject and subject.lower() not in known_names:
        person = {"name": subject, "relation": relation, "species": species if relation == "pet" else ""}
        kind = f"{species}" if relation == "pet" and species else relation
        proposals.append(Proposal("person", "subject", f"Add {subject} ({kind}) to their people and pets", person))
    return proposals


def _date_summary(date: dict) -> str:
    labels = {"engagement": "Engagement", "wedding": "Wedding anniversary", "birthday": "Birthday"}
    when = datetime.date(2000, date["month"], date["day"]).strftime("%-d %B")
    year = f" {date['year']}" if date.get("year") else ""
    return f"Add important date: {labels.get(date['kind'], date['kind'])} on {when}{year}"
