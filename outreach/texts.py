"""The templates for each occasion and their merge fields.

A template is a starting point: the sender always reads and edits it before it goes. Merge fields are
written in braces: {name}, {preferred_name}, {pet_name}, {staff_name}, {location}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from outreach.models import Occasion

MERGE_FIELDS = {
    "name": "The customer's full name",
    "preferred_name": "What they like to be called",
    "pet_name": "Their pet's name",
    "staff_name": "Your name",
    "location": "Your shop's name",
}
_FIELD = re.compile(r"\{(" + "|".join(MERGE_FIELDS) + r")\}")

# occasion -> (subject, body)
TEMPLATES: dict[str, tuple[str, str]] = {
    Occasion.CONGRATULATIONS: (
        "Congratulations, {preferred_name}!",
        "Dear {preferred_name},\n\nWe just heard your wonderful news and wanted to say congratulations! "
        "Everyone at {location} is delighted for you.\n\nWarm wishes,\n{staff_name}",
    ),
    Occasion.CONDOLENCES: (
        "Thinking of you, {preferred_name}",
        "Dear {preferred_name},\n\nWe were so sorry to hear your news. Please know that we are thinking "
        "of you, and that there is no need to reply.\n\nWith deepest sympathy,\n{staff_name}, {location}",
    ),
    Occasion.GET_WELL: (
        "Get well soon, {preferred_name}",
        "Dear {preferred_name},\n\nWe heard you have not been well and wanted to send our best wishes for "
        "a speedy recovery. Take all the time you need.\n\nBest wishes,\n{staff_name}, {location}",
    ),
    Occasion.BIRTHDAY: (
        "Happy birthday, {preferred_name}!",
        "Dear {preferred_name},\n\nHappy birthday from all of us at {location}! We hope you have a lovely "
        "day.\n\n{staff_name}",
    ),
    Occasion.THANK_YOU: (
        "Thank you, {preferred_name}",
        "Dear {preferred_name},\n\nThank you for coming to see us at {location}. It was a pleasure, and we "
        "hope to see you again soon.\n\n{staff_name}",
    ),
    Occasion.MISS_YOU: (
        "We miss you at {location}",
        "Dear {preferred_name},\n\nIt has been a while since we saw you at {location}, and we miss you. "
        "We would love to see you again whenever suits you.\n\nAll the best,\n{staff_name}",
    ),
    Occasion.SORRY: (
        "We are sorry, {preferred_name}",
        "Dear {preferred_name},\n\nI am sorry your last visit to {location} was not what it should have "
        "been. Thank you for telling us; we are putting it right.\n\nWith apologies,\n{staff_name}",
    ),
    Occasion.ORDER_READY: (
        "Your order is ready, {preferred_name}",
        "Dear {preferred_name},\n\nGood news: your order is ready to collect at {location}. We look forward "
        "to seeing you.\n\n{staff_name}",
    ),
}

# Words in a follow-up or suggestion that point to an occasion (checked in order).
_HINTS = [
    (Occasion.CONDOLENCES, r"condolence|passed away|died|funeral|loss|bereave"),
    (
        Occasion.GET_WELL,
        r"get[ -]well|feel(?:s|ing)? better|sick|ill\b|illness|surgery|operation|hospital|recover|injur",
    ),
    (Occasion.BIRTHDAY, r"birthday"),
    (Occasion.SORRY, r"sorry|apolog|complain|stolen|bad experience|upset"),
    (Occasion.CONGRATULATIONS, r"congratulat|engage|wedding|married|baby|born|graduat|promotion|new job|retire"),
    (Occasion.ORDER_READY, r"order|ready|collect|pick up"),
    (Occasion.MISS_YOU, r"miss|win back|haven't seen|not been in|quiet"),
    (Occasion.THANK_YOU, r"thank|referr"),
]


@dataclass(frozen=True)
class MergeValues:
    name: str
    preferred_name: str
    pet_name: str
    staff_name: str
    location: str

    def as_dict(self) -> dict[str, str]:
        return self.__dict__.copy()


def merge_values(*, customer, staff, location) -> MergeValues:
    """The values of the merge fields for this customer, sender and location."""
    pets = [p for p in customer.people.all() if p.relation == "pet"]
    return MergeValues(
        name=customer.full_name,
        preferred_name=customer.greeting_name,
        pet_name=pets[0].name if pets else "your pet",
        staff_name=staff.first_name or str(staff),
        location=location.name,
    )


def merge(text: str, values: MergeValues) -> str:
    """Fill the merge fields in `text`; braces that name no field stay as they are."""
    found = values.as_dict()
    return _FIELD.sub(lambda m: found[m.group(1)], text)


def draft(occasion: str, values: MergeValues) -> tuple[str, str]:
    """The template's subject and body for the occasion, merged."""
    subject, body = TEMPLATES[occasion]
    return merge(subject, values), merge(body, values)


def guess_occasion(text: str) -> str | None:
    """The occasion a follow-up's or suggestion's words point to, or None when they point to none."""
    lowered = text.lower()
    for occasion, pattern in _HINTS:
        if re.search(pattern, lowered):
            return occasion
    return None


def words(text: str) -> str:
    """The text reduced to its words, to compare two messages whatever their spacing and punctuation."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
