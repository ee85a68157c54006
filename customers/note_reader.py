"""Read a personal note and propose follow-ups, important dates, people and gesture ideas.

Nothing here writes to the database: it returns proposals that the note's writer accepts or
ignores with one click. Two readable tables drive it:

- WHEN_PHRASES: how a date is said ("on Tuesday", "3 March", "in June", "in spring", "at
  Christmas", "the 3rd", "end of the month", "last weekend"). Exact days go to dateparser;
  months, seasons and holidays are known only to the month or season, and say so.
- RULES: what a life event looks like, the follow-up it calls for, the date worth keeping and the
  gesture it may deserve. Each rule is tested with several phrasings in
  tests/customers/test_note_reader.py.

A note is read clause by clause: a rule takes the date said in its own clause ("Just got
engaged, wedding in June": the engagement is today, the wedding in June), and the person or pet
named nearest before it in its sentence. Dates are relative to the day the note was written in
the location's own time zone.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import dateparser
from dateutil.easter import easter

# --- people and pets -----------------------------------------------------------------------

PETS = r"dog|puppy|pup|cat|kitten|rabbit|bunny|hamster|guinea pig|horse|pony|parrot|budgie|bird|tortoise|turtle|lizard"
PET_SPECIES = {"puppy": "dog", "pup": "dog", "kitten": "cat", "bunny": "rabbit", "pony": "horse", "budgie": "bird"}
PEOPLE = {
    "husband": "spouse",
    "hubby": "spouse",
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
    "stepson": "child",
    "stepdaughter": "child",
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
    "grandchild": "other",
    "grandma": "other",
    "grandmother": "other",
    "granny": "other",
    "nan": "other",
    "grandad": "other",
    "grandpa": "other",
    "grandfather": "other",
    "aunt": "other",
    "uncle": "other",
    "niece": "other",
    "nephew": "other",
    "cousin": "other",
    "colleague": "other",
    "neighbour": "other",
    "neighbor": "other",
    "friend": "friend",
}
SAID_AS = {"hubby": "husband"}  # how a prompt names a relation the note abbreviates
PEOPLE_WORDS = "|".join(sorted(PEOPLE, key=len, reverse=True))
# A name is a capitalised word that is not an ordinary word at the start of a clause.
NOT_NAMES = (
    "Is|Was|And|But|The|She|He|They|Who|Has|Had|On|In|At|Got|Just|Her|His|Their|Our|My|Its|It|Will|Has|"
    "Next|This|Last|Starts|Started|Moving|Having|Getting|Going|Off|Back|After|Before|Then|So|Also|"
    + "|".join(calendar.day_name)
    + "|"
    + "|".join(m for m in calendar.month_name if m)
)
NAME = rf"(?P<name>(?-i:(?!(?:{NOT_NAMES})\b)[A-Z][a-zà-ÿ]+))"
POSSESSIVE = r"(?:her|his|their|my|our|the)"

SUBJECT_PATTERNS = [
    # "her dog Rex", "a new puppy called Milo"
    re.compile(
        rf"\b(?:{POSSESSIVE}|an?)?\s*(?:new\s+)?(?P<species>{PETS})\b(?:\s*,)?\s+(?:called\s+|named\s+)?{NAME}", re.I
    ),
    # "Rex, her dog"
    re.compile(rf"\b{NAME},?\s+{POSSESSIVE}\s+(?:new\s+)?(?P<species>{PETS})\b", re.I),
    # "her son Tom", "Husband Mark", "her mum, Ann,"
    re.compile(
        rf"(?:\b{POSSESSIVE}\s+|^|(?<=[.,;!?]\s))(?P<relation>{PEOPLE_WORDS})(?:\s*,)?\s+(?:called\s+|named\s+)?{NAME}",
        re.I,
    ),
    # "her dog", "a kitten"
    re.compile(rf"\b(?:{POSSESSIVE}|an?)\s+(?:new\s+)?(?P<species>{PETS})\b", re.I),
    # "his mum", "their daughter"
    re.compile(rf"\b{POSSESSIVE}\s+(?P<relation>{PEOPLE_WORDS})\b", re.I),
    # "Dog not well", "..., cat is poorly"
    re.compile(rf"(?:^|(?<=[.,;!?]\s))(?P<species>{PETS})\b", re.I),
    # "Husband has the flu", "..., daughter has exams"
    re.compile(rf"(?:^|(?<=[.,;!?]\s))(?P<relation>{PEOPLE_WORDS})\b(?!')", re.I),
]


@dataclass(frozen=True)
class Subject:
    """A person or pet the note names: "Rex" (pet, dog), or unnamed "their mum" (parent)."""

    start: int
    name: str | None
    relation: str
    species: str = ""  # for pets
    word: str = ""  # the word the note used: "mum", "dog"

    def who(self) -> str:
        if self.name:
            return self.name
        if self.relation == "pet":
            return f"the {self.species}"
        return f"their {SAID_AS.get(self.word, self.word)}"


def find_subjects(text: str) -> list[Subject]:
    """Return the people and pets the note mentions, in the order they appear (named ones win)."""
    found: dict[int, Subject] = {}
    taken: list[tuple[int, int]] = []
    for pattern in SUBJECT_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            groups = m.groupdict()
            name = groups.get("name")
            if groups.get("species"):
                word = groups["species"].lower()
                subject = Subject(m.start(), name, "pet", PET_SPECIES.get(word, word), word)
            else:
                word = groups["relation"].lower()
                subject = Subject(m.start(), name, PEOPLE[word], "", word)
            found[m.start()] = subject
            taken.append((m.start(), m.end()))
    return [found[k] for k in sorted(found)]


# --- dates ------------------------------------------------------------------------------------

MONTH_NAMES = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTH_NAMES |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
MONTH_NAMES["sept"] = 9
MONTHS = "|".join(sorted(MONTH_NAMES, key=len, reverse=True))
FULL_MONTHS = "|".join(name.lower() for name in calendar.month_name if name)
WEEKDAYS = "|".join(day.lower() for day in calendar.day_name)
NUMBER_WORDS = r"a|an|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few|\d{1,2}"
SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11), "winter": (12, 2)}
PREPOSITION = r"(?:in|on|at|for|by|over|during|around|until|till|before|after|this|next|coming)"


@dataclass(frozen=True)
class When:
    """A date said in a note: a day, or a month or season known only that far."""

    start: datetime.date  # the day, or the first day of the month or season
    end: datetime.date  # the same day, or the last day of the month or season
    precision: str  # "day", "month" or "season"
    past: bool
    label: str  # as a person would say it: "June 2027", "spring", "Christmas"
    span: tuple[int, int] = (0, 0)
    after: bool = False  # "after Christmas": what follows comes the day after


def _upcoming_month(today: datetime.date, month: int, year: int | None, skip_current: bool) -> datetime.date:
    if year:
        return datetime.date(year, month, 1)
    year = today.year if (month > today.month or (month == today.month and not skip_current)) else today.year + 1
    return datetime.date(year, month, 1)


def _past_month(today: datetime.date, month: int) -> datetime.date:
    year = today.year if month <= today.month else today.year - 1
    return datetime.date(year, month, 1)


def _month_end(first: datetime.date) -> datetime.date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _month_when(first: datetime.date, past: bool, label: str | None = None) -> When:
    return When(first, _month_end(first), "month", past, label or first.strftime("%B %Y"))


def _day(day: datetime.date, today: datetime.date, label: str = "") -> When:
    return When(day, day, "day", day < today, label or day.strftime("%-d %B"))


def _dateparser(phrase: str, now: datetime.datetime, prefer: str = "future") -> datetime.date | None:
    parsed = dateparser.parse(
        phrase,
        languages=["en"],
        settings={
            "RELATIVE_BASE": now.replace(tzinfo=None),
            "PREFER_DATES_FROM": prefer,
            "RETURN_AS_TIMEZONE_AWARE": False,
            "DATE_ORDER": "DMY",
        },
    )
    return parsed.date() if parsed else None


def _exact(m: re.Match, now: datetime.datetime, past: bool) -> When | None:
    """'3 March', 'March 3rd', '3rd of March 2027', '14/6': dateparser reads the day."""
    phrase = re.sub(r"^(?:on|the)\s+|\s+of\b", " ", m.group(0), flags=re.I).strip()
    day = _dateparser(phrase, now, "past" if past and not re.search(r"\d{4}", phrase) else "future")
    return _day(day, now.date()) if day else None


def _relative(m: re.Match, now: datetime.datetime, past: bool) -> When | None:
    """'in two weeks', 'next month', 'two weeks ago': dateparser counts from the note's moment."""
    phrase = re.sub(r"\ba couple of\b", "two", m.group(0), flags=re.I)
    phrase = re.sub(r"\ba few\b", "three", phrase, flags=re.I)
    phrase = re.sub(r"^in\s+", "in ", phrase, flags=re.I)
    day = _dateparser(phrase, now)
    return _day(day, now.date()) if day else None


def _weekday(m: re.Match, now: datetime.datetime, past: bool) -> When:
    today = now.date()
    wanted = list(calendar.day_name).index(m.group("weekday").capitalize())
    if m.group(0).lower().startswith("last") or (past and not re.match(r"(?:next|this|coming)", m.group(0), re.I)):
        back = (today.weekday() - wanted) % 7 or 7
        return _day(today - datetime.timedelta(days=back), today, m.group("weekday").capitalize())
    ahead = (wanted - today.weekday()) % 7 or 7
    return _day(today + datetime.timedelta(days=ahead), today, m.group("weekday").capitalize())


def _weekend(m: re.Match, now: datetime.datetime, past: bool) -> When:
    today = now.date()
    which = m.group("which").lower()
    if which in ("last", "over the") or (which == "the" and past):
        saturday = today - datetime.timedelta(days=(today.weekday() - 5) % 7)
        if saturday >= today - datetime.timedelta(days=1):
            saturday -= datetime.timedelta(days=7)  # said at the weekend, "last weekend" is the one before
        return When(saturday, saturday + datetime.timedelta(days=1), "day", True, "last weekend")
    saturday = today + datetime.timedelta(days=(5 - today.weekday()) % 7)
    if today.weekday() == 6:
        saturday = today - datetime.timedelta(days=1)
    if which == "next" and today.weekday() >= 5:
        saturday += datetime.timedelta(days=7)
    start = max(saturday, today)
    return When(start, saturday + datetime.timedelta(days=1), "day", False, "the weekend")


def _simple(offset: int, past: bool, label: str):
    def make(m: re.Match, now: datetime.datetime, _past: bool) -> When:
        day = now.date() + datetime.timedelta(days=offset)
        return When(day, day, "day", past, label)

    return make


def _last_period(m: re.Match, now: datetime.datetime, past: bool) -> When:
    today = now.date()
    unit = m.group("unit").lower()
    if unit == "week":
        monday = today - datetime.timedelta(days=today.weekday() + 7)
        return When(monday, monday + datetime.timedelta(days=6), "day", True, "last week")
    if unit == "month":
        first = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
        return _month_when(first, True, "last month")
    first = datetime.date(today.year - 1, 1, 1)
    return When(first, datetime.date(today.year - 1, 12, 31), "season", True, "last year")


def _ordinal_day(m: re.Match, now: datetime.datetime, past: bool) -> When | None:
    """'the 3rd': the next 3rd of a month (this month's if it is still to come)."""
    today = now.date()
    number = int(m.group("number"))
    first = today.replace(day=1)
    if past:  # "was born on the 3rd": the last 3rd
        for _ in range(3):
            if number <= calendar.monthrange(first.year, first.month)[1] and first.replace(day=number) <= today:
                return _day(first.replace(day=number), today, "the " + m.group(0).split()[-1])
            first = (first - datetime.timedelta(days=1)).replace(day=1)
        return None
    for _ in range(3):
        if number <= calendar.monthrange(first.year, first.month)[1]:
            day = first.replace(day=number)
            if day >= today:
                return _day(day, today, "the " + m.group(0).split()[-1])
        first = _month_end(first) + datetime.timedelta(days=1)
    return None


def _end_of(m: re.Match, now: datetime.datetime, past: bool) -> When:
    """'end of the month', 'end of next month', 'end of June', 'end of the week'."""
    today = now.date()
    what = m.group("what").lower()
    if "week" in what:
        sunday = today + datetime.timedelta(days=6 - today.weekday())
        return When(sunday - datetime.timedelta(days=2), sunday, "day", False, "the end of the week")
    if what in ("the month", "this month"):
        first = today.replace(day=1)
    elif what == "next month":
        first = _month_end(today) + datetime.timedelta(days=1)
    elif what in ("the year", "this year"):
        return _day(datetime.date(today.year, 12, 31), today, "the end of the year")
    else:
        first = _upcoming_month(today, MONTH_NAMES[what.split()[-1]], None, skip_current=False)
    end = _month_end(first)
    return When(max(end - datetime.timedelta(days=6), today), end, "day", False, f"the end of {first:%B}")


def _month(m: re.Match, now: datetime.datetime, past: bool) -> When | None:
    """'in June', 'next June', 'June 2027', 'last June': known only to the month."""
    today = now.date()
    month = MONTH_NAMES[m.group("month").lower()]
    year = int(m.group("year")) if m.group("year") else None
    lead = (m.group("lead") or "").lower()
    if month == 5 and not year and lead not in ("in", "next", "this", "by", "early", "late", "until", "before", "last"):
        return None  # "she may come back" is not a month
    if lead == "last" or (past and year is None and lead != "next"):
        first = _past_month(today, month)
        if lead == "last" and month == today.month:
            first = first.replace(year=first.year - 1)  # "last June", said in June
        return _month_when(first, True)
    first = _upcoming_month(today, month, year, skip_current=lead == "next")
    when = _month_when(first, first < today.replace(day=1))
    return _with_after(when, lead)


def _season_span(name: str, year: int) -> tuple[datetime.date, datetime.date]:
    first_month, last_month = SEASONS[name]
    start = datetime.date(year, first_month, 1)
    return start, _month_end(datetime.date(year + (1 if last_month < first_month else 0), last_month, 1))


def _season(m: re.Match, now: datetime.datetime, past: bool) -> When:
    """'in spring', 'next summer', 'over the winter': known only to the season (northern hemisphere)."""
    today = now.date()
    name = m.group("season").lower()
    lead = (m.group("lead") or "").lower()
    label = "autumn" if name == "fall" else name
    if lead == "last" or past:
        for year in (today.year, today.year - 1, today.year - 2):
            start, end = _season_span(name, year)
            if end < today:  # the latest season that is over
                return When(start, end, "season", True, label)
    for year in (today.year - 1, today.year, today.year + 1):
        start, end = _season_span(name, year)
        if end < today:
            continue
        # Said in its last month (or with "next"), a season means the next one.
        nearly_over = start <= today and (
            lead == "next" or today >= (start + datetime.timedelta(days=62)).replace(day=1)
        )
        if not nearly_over:
            return _with_after(When(max(start, today), end, "season", False, label), lead)
    start, end = _season_span(name, today.year + 1)
    return When(start, end, "season", False, label)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> datetime.date:
    first = datetime.date(year, month, 1)
    return first + datetime.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


# Holidays, each as a function of the year.
HOLIDAYS: dict[str, Callable[[int], datetime.date]] = {
    "christmas eve": lambda y: datetime.date(y, 12, 24),
    "christmas": lambda y: datetime.date(y, 12, 25),
    "xmas": lambda y: datetime.date(y, 12, 25),
    "boxing day": lambda y: datetime.date(y, 12, 26),
    "new year's eve": lambda y: datetime.date(y, 12, 31),
    "new years eve": lambda y: datetime.date(y, 12, 31),
    "new year's day": lambda y: datetime.date(y, 1, 1),
    "new year": lambda y: datetime.date(y, 1, 1),
    "valentine's day": lambda y: datetime.date(y, 2, 14),
    "valentine's": lambda y: datetime.date(y, 2, 14),
    "valentines": lambda y: datetime.date(y, 2, 14),
    "easter": easter,
    "halloween": lambda y: datetime.date(y, 10, 31),
    "thanksgiving": lambda y: _nth_weekday(y, 11, 3, 4),
    "mother's day": lambda y: _nth_weekday(y, 5, 6, 2),
    "father's day": lambda y: _nth_weekday(y, 6, 6, 3),
    "independence day": lambda y: datetime.date(y, 7, 4),
    "the fourth of july": lambda y: datetime.date(y, 7, 4),
}
HOLIDAY_WORDS = "|".join(re.escape(h) for h in sorted(HOLIDAYS, key=len, reverse=True))


def _holiday(m: re.Match, now: datetime.datetime, past: bool) -> When:
    today = now.date()
    name = m.group("holiday").lower()
    lead = (m.group("lead") or "").lower()
    on = HOLIDAYS[name]
    if lead == "last" or past:
        day = on(today.year) if on(today.year) <= today else on(today.year - 1)
        return When(day, day, "day", True, name.title())
    day = on(today.year) if on(today.year) >= today else on(today.year + 1)
    if lead == "next" and day == today:
        day = on(today.year + 1)
    return _with_after(When(day, day, "day", False, name.title().replace("'S", "'s")), lead)


def _with_after(when: When, lead: str) -> When:
    if lead == "after":
        return When(when.start, when.end, when.precision, when.past, f"after {when.label}", when.span, True)
    return when


# How dates are said, most specific first; the first pattern to claim a stretch of text wins.
WHEN_PHRASES: list[tuple[str, Callable]] = [
    (rf"\b(?:on\s+)?(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTHS})\b\.?(?:,?\s+\d{{4}})?", _exact),
    (rf"\b(?:on\s+)?(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?", _exact),
    (r"\b(?:on\s+)?\d{1,2}/\d{1,2}(?:/\d{2,4})?\b", _exact),
    (
        rf"\b(?:the\s+)?end of (?P<what>the week|this week|the month|this month|next month|the year|this year"
        rf"|{FULL_MONTHS})\b",
        _end_of,
    ),
    (r"\b(?P<which>last|this|next|coming|over the|the)\s+weekend\b", _weekend),
    (r"\b(?:the\s+)?day after tomorrow\b", _simple(2, False, "the day after tomorrow")),
    (r"\btomorrow\b", _simple(1, False, "tomorrow")),
    (r"\b(?:yesterday|last night)\b", _simple(-1, True, "yesterday")),
    (r"\b(?:today|this morning|this afternoon|this evening|tonight)\b", _simple(0, False, "today")),
    (rf"\b(?:(?:{NUMBER_WORDS})\s+(?:days?|weeks?|months?|years?)|a fortnight)\s+ago\b", _relative),
    (rf"\bin\s+(?:(?:{NUMBER_WORDS})\s+(?:days?|weeks?|months?)|a fortnight)\b", _relative),
    (r"\bnext\s+(?:week|month|year)\b", _relative),
    (r"\blast\s+(?P<unit>week|month|year)\b", _last_period),
    (rf"\b(?:(?:on|next|this|coming|last)\s+)?(?P<weekday>{WEEKDAYS})s?\b", _weekday),
    (rf"\b(?:(?P<lead>{PREPOSITION}|last)\s+)?(?:the\s+)?(?P<holiday>{HOLIDAY_WORDS})\b(?:\s+day)?", _holiday),
    (r"\b(?:on\s+)?the\s+(?P<number>[1-9]|[12]\d|3[01])(?:st|nd|rd|th)\b", _ordinal_day),
    (
        rf"\b(?:(?P<lead>{PREPOSITION}|last|early|late|mid-?)\s+)(?:early\s+|late\s+|mid-?)?(?P<month>{FULL_MONTHS}"
        rf"|sept)\b"
        rf"(?:\s+(?P<year>\d{{4}}))?",
        _month,
    ),
    (rf"\b(?P<lead>)(?P<month>{FULL_MONTHS})\s+(?P<year>\d{{4}})\b", _month),
    (
        r"\b(?P<lead>in|this|next|by|during|over|for|until|till|before|after|last|early|late)\s+"
        r"(?:the\s+)?(?:early\s+|late\s+)?(?P<season>spring|summer|autumn|fall|winter)\b",
        _season,
    ),
]


COMPILED_WHEN = [(re.compile(p, re.I), read) for p, read in WHEN_PHRASES]
# Words that put a clause in the past: an undated month or weekday then means the last one.
PAST_CLUE = re.compile(
    r"\b(?:was|were|had|did|went|got married|married in|passed away|died|ran|finished|completed|won|"
    r"graduated|moved|retired|visited|came back|returned|broke|stole|stolen|happened|last|popped|proposed"
    r"|got engaged)\b",
    re.I,
)


def find_dates(text: str, written_at: datetime.datetime) -> list[When]:
    """Return every date the note mentions, in order, read relative to when it was written."""
    found: list[When] = []
    taken: list[tuple[int, int]] = []
    clauses = _clauses(text)
    for pattern, read in COMPILED_WHEN:
        for m in pattern.finditer(text):
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            clause = next(c for c in clauses if c[0] <= m.start() < c[1])
            past = bool(PAST_CLUE.search(text, clause[0], clause[1]))
            when = read(m, written_at, past)
            if when is None:
                continue
            taken.append((m.start(), m.end()))
            found.append(When(when.start, when.end, when.precision, when.past, when.label, m.span(), when.after))
    return sorted(found, key=lambda w: w.span)


CLAUSE_BREAK = re.compile(r"[.;!?\n]+\s*|,\s+(?!\d{4})|\s+-\s+|\s+(?:but|and then|so)\s+", re.I)
SENTENCE_BREAK = re.compile(r"[.;!?\n]+\s*")


def _clauses(text: str, breaks: re.Pattern = CLAUSE_BREAK) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in breaks.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text) + 1))
    return spans


# --- what a rule found ------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """One thing the note reader proposes; `payload` is what accepting it creates."""

    kind: str  # "follow_up", "date", "person" or "gesture"
    rule: str
    summary: str
    payload: dict = field(default_factory=dict)


@dataclass
class Reading:
    """What a rule found in a note: the match, its clause, its date and its subject."""

    text: str
    written_on: datetime.date
    match: re.Match
    clause: str
    when: When | None
    subject: Subject | None
    clause_start: int = 0

    def who(self, fallback: str = "them") -> str:
        return self.subject.who() if self.subject else fallback

    def whose(self, thing: str) -> str:
        """Name what is theirs: "Tom's exams", "their son's exams", or "the exams" when nobody is named."""
        if self.subject:
            return f"{self.subject.who()}'s {thing}"
        return f"the {thing}"

    def word(self, group: str, default: str = "") -> str:
        value = self.match.groupdict().get(group)
        return (value or default).lower().strip()

    @property
    def someone_else(self) -> bool:
        """The event is a named person's or relation's, or the customer is a guest: not their own."""
        return self.subject is not None or bool(GUEST.search(self.clause))


# Due policies: when the follow-up is due, given the date the note gives (if any).
def _next_visit(prompt: str) -> dict:
    return {"prompt": prompt, "due": "next_visit", "due_date": None}


def _on_day(day: datetime.date, prompt: str) -> dict:
    return {"prompt": prompt, "due": "on_date", "due_date": day.isoformat()}


def AFTER(reading: Reading, prompt: str) -> dict:
    """The day after the event (after the month or season when known only that far); a past event at the next visit."""
    when = reading.when
    if when is None or when.past:
        return _next_visit(prompt)
    return _on_day(when.end + datetime.timedelta(days=1), prompt)


def ON(reading: Reading, prompt: str) -> dict:
    """On the day itself (the start of the month or season; the day after for "after Christmas")."""
    when = reading.when
    if when is None or when.past:
        return _next_visit(prompt)
    if when.after:
        return _on_day(when.end + datetime.timedelta(days=1), prompt)
    return _on_day(max(when.start, reading.written_on), prompt)


def SOON(reading: Reading, prompt: str) -> dict:
    """The next day: a customer let down should not wait for a visit they may not make."""
    return _on_day(reading.written_on + datetime.timedelta(days=1), prompt)


def NEXT_VISIT(reading: Reading, prompt: str) -> dict:
    return _next_visit(prompt)


@dataclass(frozen=True)
class Idea:
    """A gesture idea: the form opens with these (the amount is capped at the proposer's discretion)."""

    category: str  # a microcx Gesture.Category value
    amount: str
    description: Callable[[Reading], str]


@dataclass(frozen=True)
class Rule:
    """When `pattern` matches a note, propose a follow-up (and perhaps a date and a gesture)."""

    name: str
    pattern: str
    prompt: Callable[[Reading], str]
    due: Callable[[Reading, str], dict]
    date: str | None = None  # the important date it records: "engagement", "wedding", "birthday"
    gesture: Idea | None = None
    needs_date: bool = False  # propose nothing unless the clause gives a date
    unless: tuple[str, ...] = ()  # rules that, when they also match, make this one wrong
    unless_near: str | None = None  # words in the same clause that make this one wrong


def _who_is_feeling(r: Reading) -> str:
    return f"Ask how {r.who()} is feeling" if r.subject else "Ask how they are feeling"


def _injury(r: Reading) -> str:
    return f"Ask how {r.who()} is recovering" if r.subject else "Ask how they are recovering"


def _procedure(r: Reading) -> str:
    what = r.word("procedure") or r.word("procedure2") or f"{r.word('part')} operation"
    what = re.sub(r"^(?:a|an|the|her|his|their)\s+", "", what)
    if r.when and not r.when.past:
        return f"Ask how {r.whose(what)} went"
    return (
        f"Ask how {r.who()} is recovering from the {what}"
        if r.subject
        else f"Ask how they are recovering from the {what}"
    )


def _appointment(r: Reading) -> str:
    word = r.word("what")
    if word in ("vet", "doctor", "dentist", "gp", "optician", "physio", "specialist", "consultant"):
        word = "GP" if word == "gp" else word
        return f"Ask how {r.whose(word + ' appointment')} went"
    return f"Ask how {r.whose(word)} went"


def _incident(r: Reading) -> str:
    word = r.word("incident")
    if word.startswith(("stol", "steal", "rob", "mug", "pickpocket", "nick", "snatch")):
        return "Ask if everything is sorted after the theft"
    if word.startswith(("burgl", "break-in", "broken into", "broke into")):
        return "Ask if everything is sorted after the break-in"
    return "Ask if everything is sorted after the accident"


def _school(r: Reading) -> str:
    school = r.word("school")
    school = {"uni": "university"}.get(school, school)
    return f"Ask how {r.who()} is getting on at {school}" if r.subject else f"Ask how they are getting on at {school}"


def _exams(r: Reading) -> str:
    what = r.word("exam")
    what = {"gcses": "GCSEs", "gcse": "GCSE", "a-levels": "A-levels", "a levels": "A levels", "sats": "SATs"}.get(
        what, what
    )
    return f"Ask how {r.whose(what)} went"


def _race(r: Reading) -> str:
    return f"Ask how {r.whose(r.word('race') or r.word('race2'))} went"


GERUNDS = {
    "won": "winning",
    "passed": "passing",
    "got into": "getting into",
    "got a place at": "getting a place at",
    "was accepted": "being accepted",
    "got accepted": "being accepted",
    "qualified": "qualifying",
    "finished": "finishing",
    "completed": "completing",
    "ran": "running",
    "came first": "coming first",
    "came second": "coming second",
    "came third": "coming third",
    "got": "getting",
}


def _achievement(r: Reading) -> str:
    verb = re.sub(r"\s+", " ", r.word("verb") or r.word("verb2"))
    rest = " ".join(r.clause[r.match.end() - r.clause_start :].split()[:5])
    rest = re.split(r"\s+(?:in|on|at|last|this|with|for|after|by|yesterday|today|and|but)\b", rest)[0]
    rest = rest.strip(" ,.!?")
    if verb.startswith("award"):
        return f"Congratulate {r.who()} on the award"
    what = f"{GERUNDS.get(verb, verb)} {rest}".strip()
    return f"Congratulate {r.who()} on {what}"


def _move(r: Reading) -> str:
    moved = re.search(r"\b(?:just|recently|have|has|finally)\s+(?:moved|bought)\b", r.clause, re.I)
    if moved or (r.when and r.when.past):
        return "Ask how they are settling in at the new home"
    return "Ask how the move went"


def _product_problem(r: Reading) -> str:
    item = r.word("item") or r.word("item2")
    if re.search(
        r"\b(?:broke|broken|cracked|scratched|fell apart|stopped working|not working|faulty)\b", r.clause, re.I
    ):
        return f"Check the {item} were repaired or replaced"
    return f"Check the {item} are comfortable now; offer a free adjustment"


def _business_word(r: Reading) -> str:
    return r.word("business") or r.word("business2")


def _business(r: Reading) -> str:
    return f"Ask how the new {_business_word(r)} is going"


def _wish(r: Reading) -> str:
    thing = re.sub(r"^(?:(?:a|an|some|to get|to buy|buying|getting|get|buy)\s+)+", "", r.word("thing"))
    said = r.text[r.when.span[0] : r.when.span[1]] if r.when else ""  # "in spring", as the note says it
    return f"Offer the {thing} they wanted {said}".strip()


def _engaged(r: Reading) -> str:
    return f"Congratulate them on {r.whose('engagement')}" if r.someone_else else "Congratulate them on the engagement"


def _wedding(r: Reading) -> str:
    if GUEST.search(r.clause) and not r.subject:
        return "Ask how the wedding went"
    if (r.when is None or r.when.past) and re.search(r"\b(?:got|just|recently) married\b", r.clause, re.I):
        return f"Congratulate {r.who()} on the wedding" if r.someone_else else "Congratulate them on the wedding"
    return f"Ask how {r.whose('wedding')} went" if r.someone_else else "Ask how the wedding went"


def _baby(r: Reading) -> str:
    if re.search(r"grand(?:son|daughter|child|baby|kid)|grandm|grandp|grandpar", r.clause, re.I):
        return "Congratulate them on the new grandchild"
    if re.search(r"pregnan|expecting|due\b|having a baby", r.match.group(0), re.I) and not re.search(
        r"\bborn\b|had (?:a|the|her|their)", r.clause, re.I
    ):
        if r.when and not r.when.past:
            return "Ask whether the baby has arrived"
        return "Ask how the pregnancy is going"
    return "Congratulate them on the baby"


CARD = "card"
CAUGHT = (
    r"has|have|had|got|caught|came down with|diagnosed with|suffering from|battling|fighting|treatment for"
    r"|recovering from|off with"
)
CONDITIONS = (
    r"flu|covid|long covid|cancer|chickenpox|chicken pox|measles|mumps|shingles|pneumonia|bronchitis|tonsillitis"
    r"|an? infection|infection|a virus|virus|a cold|cold|cough|fever|migraines?|glandular fever|norovirus"
    r"|kidney (?:problems|stones|trouble|disease|infection)|heart (?:problems|trouble|attack)|a heart attack"
    r"|a stroke|stroke|diabetes|asthma|a stomach bug|stomach bug|dementia|alzheimer'?s|arthritis|sciatica"
    r"|back pain|concussion|glaucoma|cataracts?"
)
UNDERGOING = (
    r"having|had|has|getting|got|booked (?:in )?for|waiting for|scheduled for|recovering from|going in for|after"
)
BODY_PARTS = (
    r"hip|knee|shoulder|heart|back|eye|cataract|laser eye|bypass|keyhole|dental|gallbladder|hernia|brain|spinal"
    r"|major|minor|emergency|small"
)
PROCEDURES = (
    r"replacement|surgery|operation|op|transplant|biopsy|c-section|caesarean|procedure|bypass|implants?"
    r"|tonsils out|wisdom teeth out|appendix out|stitches|treatment"
)
OUR_VISITS = (
    r"check-?up|eye test|eye exam|fitting|adjustment|contact lens check|hearing test|appointment|new prescription"
)
WISH_VERBS = (
    r"wants?|would like|'d like|wishes|hop(?:es|ing) to (?:get|buy)|thinking (?:about|of) (?:getting|buying)"
    r"|plan(?:s|ning)? (?:to|on) (?:get|buy|getting|buying)|interested in|saving (?:up )?for|keen on|fancies"
    r"|(?:might|may|will|going to) (?:get|buy)|(?:will|coming) (?:come |be )?back for"
)
WHEN_WORDS = r"in|for|at|by|on|after|before|this|next|around|over|during|early|late|until"
GUEST = re.compile(
    r"\b(?:bridesmaid|best man|maid of honou?r|guest|invited to|going to a|attending|officiating)\b", re.I
)
ACHIEVING = "passed|got into|got a place at|was accepted|got accepted|qualified|award(?:ed)?|finished|completed|ran"
ACHIEVEMENTS = (
    r"driving test|exams?|finals|gcses?|a-levels|degree|phd|masters|university|uni|college|medical school|med school"
    r"|law school|marathon|half marathon|half-marathon|race|triathlon|ironman|10k|5k|competition|championship"
    r"|tournament|cup|trophy|prize|award|medal|black belt|nurse|doctor|teacher|accountant|lawyer|first place|bar|grade"
)

# The rules, in the order their proposals are shown. Patterns are case-insensitive.
RULES = [
    Rule(
        "loss",
        r"\b(?:passed away|passed on|died|dying|death of|funeral|bereave(?:d|ment)|widowed|put (?:down|to sleep)"
        rf"|lost (?:her|his|their|my|our) (?:beloved |dear |old |little )?(?:{PEOPLE_WORDS}|{PETS}|battle|fight)s?"
        r"|in memory of|memorial service|lost (?:her|his|their) (?:mum|dad) to)\b"
        # "Mom passed last month" (not "passed her test")
        r"|\bpassed\b(?=\s+(?:last|recently|yesterday|this|suddenly|peacefully|on|in)\b|\s*(?:[.,;!?]|$))",
        lambda r: "Offer condolences gently and ask how they are doing",
        NEXT_VISIT,
        gesture=Idea(CARD, "0", lambda r: "A handwritten sympathy card from the team"),
    ),
    Rule(
        "sick",
        rf"\b(?:is|was|has been|got|feeling|been|are|were|fell)\s+(?:very\s+|really\s+|quite\s+|a bit\s+|so\s+)?"
        r"(?:sick|ill|unwell|poorly|not well|under the weather|in hospital|in the hospital|in a&e|in intensive care)\b"
        rf"|\b(?:{CAUGHT})\s+(?:a\s+|the\s+|an\s+|bad\s+|really bad\s+|terrible\s+|severe\s+)*(?:{CONDITIONS})\b"
        r"|\b(?:chickenpox|chicken pox|kidney problems|kidney stones|heart problems|pneumonia|tonsillitis|shingles)\b"
        r"|\bchemo(?:therapy)?\b|\bradiotherapy\b"
        # "Mum in hospital again", "Dog not well"
        r"|\b(?:in hospital|in the hospital|in a&e|in intensive care|(?:not|isn't|is not) (?:very |feeling )?well)\b",
        _who_is_feeling,
        NEXT_VISIT,
        gesture=Idea(
            CARD,
            "0",
            lambda r: f"A get-well card: hoping {r.who('they')} feel{'' if not r.subject else 's'} better soon",
        ),
        unless=("loss", "procedure"),
        unless_near=r"\b(?:works?|working|job|nurse|doctor|porter|volunteers?) (?:in|at)\b",
    ),
    Rule(
        "injury",
        r"\b(?:broke|broken|fractured|sprained|twisted|dislocated|injured|hurt|pulled|tore|torn)\s+"
        r"(?:(?:her|his|their|my|a)\s+)?(?:left\s+|right\s+)?(?:arm|leg|wrist|ankle|hip|knee|foot|toe|finger|hand|"
        r"shoulder|collarbone|back|neck|ribs?|nose|elbow|hamstring|ligament|achilles)\b"
        r"|\b(?:is|was|got|been)\s+(?:badly\s+)?(?:injured|hurt)\b|\bon crutches\b|\bin a cast\b"
        r"|\bhad a (?:bad\s+)?fall\b",
        _injury,
        NEXT_VISIT,
        gesture=Idea(
            CARD, "0", lambda r: f"A get-well card: hoping {r.who('they')} mend{'' if not r.subject else 's'} quickly"
        ),
        unless=("loss",),
    ),
    Rule(
        "procedure",
        rf"\b(?:{UNDERGOING})\s+"
        rf"(?P<procedure>(?:(?:a|an|the|her|his|their)\s+)?(?:(?:{BODY_PARTS})\s+)?(?:{PROCEDURES}))\b"
        # "her hip replacement is on Monday", "surgery next week"
        r"|\b(?P<procedure2>(?:hip|knee|shoulder) replacement|cataract (?:surgery|operation)|heart surgery"
        r"|surgery|operation)"
        r"(?='?s?\s+(?:is\s+)?(?:on|next|this|tomorrow|in)\b)"
        # "getting her hip done"
        rf"|\b(?:{UNDERGOING})\s+(?:(?:her|his|their|a|the)\s+)?(?P<part>{BODY_PARTS}|eyes|teeth)\s+(?:done|fixed|replaced)\b",
        _procedure,
        AFTER,
        gesture=Idea(CARD, "0", lambda r: "A get-well card for the recovery"),
        unless=("loss",),
    ),
    Rule(
        "appointment",
        # The appointment word with when it is, in the same clause: "vet on Tuesday", "scan next Friday".
        r"\b(?P<what>vet|doctor|dentist|gp|optician|physio|specialist|consultant|hospital|clinic|scan|mri|x-ray|"
        r"check-?up|appointment|job interview|interview|blood test|test results|audition)(?:'?s)?\b"
        r"(?!\s+(?:nurse|receptionist|library|porter|job|café|cafe|shop|car park))",
        _appointment,
        AFTER,
        needs_date=True,
        unless=("procedure", "come_back"),
        unless_near=r"\b(?:job|work(?:s|ing)?|nurse|career|started|starts) (?:at|in|as)\b|\bnew job\b",
    ),
    Rule(
        "new_pet",
        rf"\b(?:new|got a|getting a|adopted a|rescued a|bringing home a)\s+(?:new\s+)?(?:{PETS})\b",
        lambda r: f"Ask how {r.who('the new pet')} is settling in",
        NEXT_VISIT,
        unless=("loss",),
    ),
    Rule(
        "engagement",
        r"\b(?:just\s+)?(?:got|gotten|is|are|became|were|recently)\s+engaged\b|\bengagement\b|\bproposed\b"
        r"|\bpopped the question\b|\bsaid yes\b",
        _engaged,
        NEXT_VISIT,
        date="engagement",
        gesture=Idea(CARD, "0", lambda r: "A card to congratulate them on the engagement"),
    ),
    Rule(
        "wedding",
        r"\bwedding\b|\bgetting married\b|\bgot married\b|\bmarried on\b|\bmarrying\b|\btying the knot\b"
        r"|\bjust married\b",
        _wedding,
        AFTER,
        date="wedding",
        gesture=Idea(CARD, "0", lambda r: "A card with our best wishes for the wedding"),
        unless_near=r"\banniversary\b",
    ),
    Rule(
        "anniversary",
        r"\b(?:wedding )?anniversary\b",
        lambda r: "Wish them a happy anniversary",
        ON,
        date="anniversary",
        needs_date=True,
    ),
    Rule(
        "baby",
        r"\b(?:new baby|had a baby|having a baby|had twins|gave birth|newborn|pregnant|due to give birth"
        r"|had (?:a|her|their) (?:first |second |third )?(?:baby|son|daughter|boy|girl)"
        r"|expecting (?:a baby|twins|their|her|a little)|baby (?:is )?due|baby (?:boy|girl) (?:was )?born"
        r"|(?:new|first) grand(?:son|daughter|child|baby)|grand(?:son|daughter|child|baby) (?:was |is )?(?:just )?born"
        r"|(?:is|are|became|now) (?:a )?grand(?:ma|mother|pa|father|parents?)(?: again| for the first time)?"
        r"|(?:was|were) born)\b",
        _baby,
        AFTER,
        gesture=Idea(CARD, "0", lambda r: "A card to celebrate the new baby"),
        unless=("loss",),
    ),
    Rule(
        "birthday",
        r"\bbirthday\b|\bturns\s+\d{1,3}\b",
        lambda r: f"Wish {r.who('them')} a happy birthday",
        ON,
        date="birthday",
        needs_date=True,
    ),
    Rule(
        "moving",
        r"\b(?:moving house|moving home|moving to|moving out|moving in|moved house|moved to|moved in|new house|new flat"
        r"|new apartment|new home|buying a house|bought a house|relocating|downsizing)\b",
        _move,
        AFTER,
    ),
    Rule(
        "job_loss",
        r"\b(?:lost (?:her|his|their|my) job|laid off|made redundant|redundanc(?:y|ies)|been fired|got fired|was fired"
        r"|let go from|out of work|unemployed|lost (?:her|his|their) (?:position|contract)|job (?:was |got )?cut"
        r"|looking for (?:a |another )?(?:new )?(?:job|work)|job hunting|job-hunting|between jobs)\b",
        lambda r: (
            f"Ask gently how {r.whose('job search')} is going"
            if r.subject
            else "Ask gently how the job search is going"
        ),
        NEXT_VISIT,
        gesture=Idea(CARD, "0", lambda r: "A handwritten card wishing them luck with what comes next"),
    ),
    Rule(
        "new_job",
        r"\b(?:new job|started (?:a |her |his |their )?(?:new )?job|starts? (?:a |her |his |their )?(?:new )?job"
        r"|starting (?:a |her |his |their )?(?:new )?job|got (?:a|the) job|promotion|promoted|new role|new position"
        r"|(?:was |got |been )?hired (?:as|at|by)|job offer|starts? work(?:ing)? (?:at|as)"
        r"|started work(?:ing)? (?:at|as))\b",
        lambda r: f"Ask how {r.whose('new job')} is going" if r.subject else "Ask how the new job is going",
        AFTER,
        gesture=Idea(CARD, "0", lambda r: "A card to congratulate them on the new job"),
        unless=("job_loss",),
    ),
    Rule(
        "retirement",
        r"\b(?:retiring|retires|going to retire|will retire|about to retire|plans to retire|retire (?:next|this|in"
        r"|on|at)"
        r"|(?:just|finally|recently|has|have|had)\s+retired|retired (?:last|this|on|in|yesterday|today|after)"
        r"|retirement (?:party|do|is|next|in|on|at)|last day at work)\b",
        lambda r: f"Congratulate {r.who()} on retiring",
        AFTER,
        gesture=Idea(CARD, "0", lambda r: "A card to wish them a happy retirement"),
    ),
    Rule(
        "school",
        r"\b(?:start(?:s|ed|ing)?|begin(?:s|ning)?|going (?:off )?to|off to|heading (?:off )?to|first (?:day|week"
        r"|term) (?:at|of)"
        r"|got a place at|moving up to)\s+(?:at\s+)?(?:(?:her|his|their|the|a|big|new)\s+)*"
        r"(?P<school>university|uni|college|school|nursery|kindergarten|preschool|pre-school|secondary school"
        r"|high school"
        r"|primary school|middle school|sixth form|med school|medical school|law school|grad school"
        r"|an apprenticeship)\b",
        _school,
        AFTER,
    ),
    Rule(
        "exams",
        r"\b(?P<exam>exams?|finals|gcses?|a-levels|a levels|sats|driving test|bar exam|midterms|mocks|dissertation"
        r"|thesis defen[cs]e|viva)\b",
        _exams,
        AFTER,
        unless=("achievement",),
        unless_near=r"\beye (?:test|exam)\b",
    ),
    Rule(
        "achievement",
        r"\b(?P<verb>won|came first|came second|came third)\b(?!')(?=\s+\w)"
        rf"|\b(?P<verb2>{ACHIEVING})\b(?=\s+(?:(?:her|his|their|the|a|an|as|at|to|into|first"
        rf"|in)\s+)*(?:{ACHIEVEMENTS}))",
        _achievement,
        NEXT_VISIT,
        gesture=Idea(CARD, "0", lambda r: "A card to congratulate them"),
    ),
    Rule(
        "race",
        r"\b(?:running|doing|entered|training for|taking part in|competing in|racing in|cycling|swimming|playing in"
        r"|has)\s+"
        r"(?:(?:a|an|the|her|his|their|first|next|big)\s+)*(?:[A-Z][a-z]+\s+)?"
        r"(?P<race>half marathon|half-marathon|marathon|ultramarathon|triathlon|ironman|10k|5k|fun run|parkrun|race"
        r"|sportive|tournament|competition|championships?|regatta|swim meet|gala|match|final|cup final|recital"
        r"|concert|show)\b"
        r"|\b(?P<race2>(?:half )?marathon|triathlon)\b",
        _race,
        AFTER,
        unless=("achievement",),
    ),
    Rule(
        "business",
        r"\b(?:open(?:ing|s|ed)?|launch(?:ing|es|ed)?|starting|started|set(?:ting)? up|taking over"
        r"|took over)\s+(?:up\s+)?"
        r"(?:(?:her|his|their|a|an|the|own|new|little|small)\s+)*(?P<business>bakery|café|cafe|coffee shop|shop"
        r"|store|restaurant"
        r"|bar|pub|salon|hair salon|business|boutique|studio|gym|practice|bookshop|florist|company|firm|food truck"
        r"|deli|bistro"
        r"|brewery|gallery|nursery|garage|barbershop|dental practice|surgery)\b"
        # "Her bakery opens next Saturday"
        r"|\b(?P<business2>bakery|café|cafe|coffee shop|restaurant|salon|boutique|studio|gym|bookshop|florist"
        r"|deli|bistro|brewery|gallery|barbershop|food truck)\s+(?:opens|is opening|will open|opened|launches)\b",
        _business,
        AFTER,
        gesture=Idea("flowers", "20", lambda r: f"Flowers for the opening of the new {_business_word(r)}"),
    ),
    Rule(
        "come_back",
        r"\b(?:wants?|would like|'d like|plans?|planning|hopes?|hoping|will|going|needs?)\s+(?:to\s+)?"
        r"(?:come (?:back|in)|pop (?:back|in)|book(?: in)?|return)\b"
        rf"(?:[^.;!?]{{0,30}}?\b(?:a|an|her|his|their|the)\s+(?P<what>{OUR_VISITS}))?",
        lambda r: (
            f"Invite them back for the {r.word('what')}" if r.word("what") else "Invite them back, as they planned"
        ),
        ON,
        needs_date=True,
    ),
    Rule(
        "call_back",
        r"\b(?:wants?|would like|'d like|asked for|asked us to|asked to)\s+(?:a\s+)?"
        r"(?:call|ring|phone call|text|be called|be rung|call back)\b",
        lambda r: "Call them, as they asked",
        ON,
        needs_date=True,
    ),
    Rule(
        "wish",
        # "wants sunglasses in spring": the thing, then when (a wish without a when is not proposed).
        rf"\b(?:{WISH_VERBS})\s+(?P<thing>(?!to\b|a call\b|call\b)(?:(?:a|an|some|new|pair of|the)\s+)*"
        rf"[a-z][a-z'-]*(?:\s+(?!(?:{WHEN_WORDS}|when|if)\b)[a-z][a-z'-]*){{0,3}}?)(?=\s+(?:{WHEN_WORDS})\s)",
        _wish,
        ON,
        needs_date=True,
        unless=("loss", "come_back", "call_back"),
    ),
    Rule(
        "complaint",
        r"\b(?:complain(?:ed|s|ing)?(?: about)?|made a complaint|a complaint|unhappy with|not happy with"
        r"|disappointed (?:with|by|in)"
        r"|upset (?:about|with|by)|annoyed (?:about|with|by)|frustrated (?:with|by)|let down by"
        r"|had a bad experience with"
        r"|bad experience with|poor experience with|mix-?up with|problem with|wrong|lost|forgot|messed up|mixed up"
        r"|cancelled)\s+"
        r"(?P<about>(?:(?:our|the|her|his|their|your)\s+)(?:booking|appointment|service|wait|waiting time|order"
        r"|delivery|repair"
        r"|fitting|eye test|bill|invoice|price|staff|receptionist|phone call|refund|reservation|treatment))\b"
        r"|\b(?P<about2>bad experience|poor service|rude|kept (?:her|him|them) waiting|double[- ]booked|overcharged"
        r"|charged twice)\b"
        r"|\b(?:our|the) (?P<about3>booking|appointment|order|reservation)\s+(?:was|got|had been)\s+"
        r"(?:lost|wrong|mixed up|messed up|cancelled|double-booked|forgotten|missed)\b"
        r"|\b(?P<about4>booking|appointment|order|reservation) (?:mix-?up|problem|error|issue|confusion)\b",
        lambda r: _complaint_prompt(r),
        SOON,
        gesture=Idea("discount", "10", lambda r: "A discount on their next visit, to make up for it"),
        unless=("loss",),
    ),
    Rule(
        "product_problem",
        r"\b(?:new\s+)?(?P<item>frames|glasses|specs|spectacles|lenses|contacts|contact lenses|varifocals|bifocals"
        r"|sunglasses"
        r"|hearing aids|readers)\b[^.;!?]{0,40}?\b(?:giv(?:e|es|ing) (?:her|him|them|me) (?:a )?headaches?"
        r"|(?:causing|cause|causes) "
        r"(?:a )?headaches?|headaches?|hurts?|hurting|pinch(?:es|ing)?|too tight|too loose|slipp(?:ing|ed|s)"
        r"|keeps? slipping"
        r"|uncomfortable|blurry|blurred|broke|broken|cracked|scratched|fell apart|stopped working|not working|faulty"
        r"|rubbing|sore"
        r"|dizzy|wrong prescription)\b"
        r"|\b(?:headaches?|dizzy|sore (?:nose|ears)|blurry vision)\s+(?:from|with|since|because of|in)\s+(?:(?:her"
        r"|his|their|the)\s+)?"
        r"(?:new\s+)?(?P<item2>frames|glasses|specs|lenses|contacts|contact lenses|varifocals|bifocals|sunglasses)\b",
        _product_problem,
        SOON,
        gesture=Idea("favour", "0", lambda r: f"A free adjustment of the {r.word('item') or r.word('item2')}, on us"),
        unless=("loss",),
    ),
    Rule(
        "accident_or_theft",
        r"\b(?P<incident>accident|crash|crashed|car crash|stolen|stole|robbed|burgled|burglary|break-in|broken into"
        r"|broke into"
        r"|mugged|pickpocketed|snatched|nicked|hit by a car|knocked (?:off|down)|fell off)\b",
        _incident,
        NEXT_VISIT,
        gesture=Idea(
            "gift_card",
            "20",
            lambda r: f"A small gift card after the {_incident(r).rsplit(' ', 1)[-1]}, to cheer them up",
        ),
    ),
    Rule(
        "family_visit",
        rf"\b(?:(?:her|his|their|my)\s+(?:{PEOPLE_WORDS}|parents|kids|children|grandkids|grandchildren|family"
        rf"|in-laws|relatives)s?"
        rf"(?:\s+(?-i:[A-Z][a-z]+))?(?:\s+and\s+\w+)?\s+(?:is|are|will be|'s|'re)?\s*(?:visiting|coming (?:over"
        rf"|to stay|to visit|for|home)|staying (?:with|for)"
        r"|over from|flying in|in town|here)|family (?:are |is )?(?:visiting|coming to stay|staying)"
        r"|visit from (?:her|his|their) \w+"
        r"|(?:grandkids|grandchildren|in-laws|relatives) (?:are )?(?:visiting|coming|staying))\b",
        lambda r: _family_visit(r),
        AFTER,
    ),
    Rule(
        "travel",
        r"\b(?:holiday|vacation|trip to|road trip|a trip|travelling|traveling|flying to|flying out"
        r"|going to (?-i:[A-Z])\w+|off to (?-i:[A-Z])\w+"
        r"|honeymoon|cruise|backpacking|safari|skiing trip|ski trip|city break|getaway|back from (?:holiday|a trip"
        r"|(?-i:[A-Z])\w+))\b",
        lambda r: "Ask how the trip was",
        AFTER,
        unless_near=r"\bsummer holidays? (?:job|work)\b",
    ),
    Rule(
        "graduation",
        r"\bgraduat(?:ed|es|ing|ion)\b",
        lambda r: f"Congratulate {r.who('them')} on the graduation",
        AFTER,
        gesture=Idea(CARD, "0", lambda r: "A card to congratulate them on the graduation"),
    ),
]


def _complaint_prompt(r: Reading) -> str:
    about = r.word("about") or r.word("about2") or r.word("about3") or r.word("about4")
    if about in ("rude",) or about.startswith(("kept", "overcharged", "charged", "double")) or not about:
        about = {"overcharged": "overcharge", "charged twice": "double charge", "rude": "bad experience"}.get(
            about, about
        )
        if about.startswith("kept"):
            about = "wait"
        elif about.startswith("double"):
            about = "double booking"
    about = re.sub(r"^(?:our|the|her|his|their|your)\s+", "", about) or "bad experience"
    if about in ("booking", "appointment", "order", "reservation", "delivery", "repair", "fitting", "refund"):
        about = f"problem with the {about}"
    return f"Apologise for the {about} and check it was put right"


def _family_visit(r: Reading) -> str:
    m = re.search(
        rf"\b(?:her|his|their|my)\s+(?P<who>(?:{PEOPLE_WORDS}|parents|kids|children|grandkids|grandchildren|family"
        rf"|in-laws|relatives)s?)",
        r.match.group(0),
        re.I,
    )
    if r.subject and r.subject.name:
        who = r.subject.name
    elif m:
        who = "their " + m.group("who").lower()
    else:
        found = re.search(r"grandkids|grandchildren|in-laws|relatives|family", r.match.group(0), re.I)
        who = "the " + found.group(0).lower() if found and found.group(0).lower() != "family" else "family"
    return f"Ask how the visit from {who} went"


COMPILED_RULES = [
    (rule, re.compile(rule.pattern, re.I), re.compile(rule.unless_near, re.I) if rule.unless_near else None)
    for rule in RULES
]
SUBJECT_CAN_BE_SOMEONE_ELSE = {"engagement", "wedding"}


def _subject_for(
    subjects: list[Subject], sentence: tuple[int, int], position: int, clause: tuple[int, int]
) -> Subject | None:
    """The person or pet named nearest before the match in its sentence (else the first one after it in its clause)."""
    before = [s for s in subjects if sentence[0] <= s.start <= position]
    if before:
        named = [s for s in before if s.name]
        nearest = before[-1]
        # "Her dog Rex ... the dog": prefer the named mention of the same pet or relation.
        for s in reversed(named):
            if s.relation == nearest.relation and (s.species or s.word) == (nearest.species or nearest.word):
                return s
        return nearest
    after = [s for s in subjects if position < s.start < clause[1]]
    return after[0] if after else None


def _when_for(dates: list[When], clause: tuple[int, int], position: int) -> When | None:
    """The date said nearest to the match in its own clause."""
    inside = [w for w in dates if clause[0] <= w.span[0] < clause[1]]
    if not inside:
        return None
    return min(inside, key=lambda w: abs(w.span[0] - position))


def _due_text(follow_up: dict, when: When | None) -> str:
    if follow_up["due"] != "on_date":
        return "at the next visit"
    day = datetime.date.fromisoformat(follow_up["due_date"])
    if when is not None and when.precision in ("month", "season") and follow_up["due_date"] > when.end.isoformat():
        return f"after {when.label}: from {day:%a %-d %b %Y}"
    if when is not None and when.precision in ("month", "season"):
        return f"{when.label}: from {day:%a %-d %b %Y}"
    return "on " + day.strftime("%a %-d %b")


def read_note(
    text: str, written_at: datetime.datetime, known_names: set[str] | Callable[[], set[str]] | None = None
) -> list[Proposal]:
    """Return what a note suggests, without saving anything.

    `written_at` is the note's time in its location's time zone;
    `known_names` are the lower-cased names of people and pets already recorded (or a function returning them,
    called only for a note that names someone: most notes need no query for them).
    """
    written_on = written_at.date()
    dates = find_dates(text, written_at)
    subjects = find_subjects(text)
    clauses = _clauses(text)
    sentences = _clauses(text, SENTENCE_BREAK)
    matched: dict[str, re.Match] = {}
    for rule, pattern, _near in COMPILED_RULES:
        m = pattern.search(text)
        if m:
            matched[rule.name] = m
    proposals: list[Proposal] = []
    gestures: list[Proposal] = []
    prompts: set[str] = set()
    for rule, _pattern, near in COMPILED_RULES:
        m = matched.get(rule.name)
        if m is None or any(other in matched for other in rule.unless):
            continue
        clause = next(c for c in clauses if c[0] <= m.start() < c[1])
        clause_text = text[clause[0] : clause[1]]
        if near is not None and near.search(clause_text):
            continue
        when = _when_for(dates, clause, m.start())
        if rule.needs_date and (when is None or (when.past and rule.name != "birthday")):
            continue
        sentence = next(s for s in sentences if s[0] <= m.start() < s[1])
        subject = _subject_for(subjects, sentence, m.start(), clause)
        if (
            subject is not None
            and subject.relation == "pet"
            and rule.name in ("engagement", "wedding", "new_job", "school", "retirement")
        ):
            subject = None
        reading = Reading(text, written_on, m, clause_text, when, subject, clause[0])
        follow_up = rule.due(reading, rule.prompt(reading))
        if follow_up["prompt"] not in prompts:
            prompts.add(follow_up["prompt"])
            summary = f"{follow_up['prompt']} ({_due_text(follow_up, when)})"
            proposals.append(Proposal("follow_up", rule.name, summary, follow_up))
        if rule.date and not (rule.name in SUBJECT_CAN_BE_SOMEONE_ELSE and reading.someone_else):
            date = _important_date(rule.date, reading)
            if date is not None:
                proposals.append(Proposal("date", rule.name, _date_summary(date), date))
        if rule.gesture and not gestures:
            idea = {
                "category": rule.gesture.category,
                "amount": rule.gesture.amount,
                "description": rule.gesture.description(reading)[:200],
            }
            gestures.append(Proposal("gesture", rule.name, f"Gesture idea: {idea['description']}", idea))
    proposals += gestures
    if proposals and "loss" not in matched and any(subject.name for subject in subjects):
        if callable(known_names):
            known_names = known_names()
        known_names = known_names or set()
        seen: set[str] = set()
        for subject in subjects:
            if not subject.name or subject.name.lower() in known_names or subject.name.lower() in seen:
                continue
            seen.add(subject.name.lower())
            person = {"name": subject.name, "relation": subject.relation, "species": subject.species}
            kind = subject.species or subject.relation
            proposals.append(
                Proposal("person", "subject", f"Add {subject.name} ({kind}) to their people and pets", person)
            )
    return proposals


def _important_date(kind: str, reading: Reading) -> dict | None:
    """The date to keep: an engagement is today unless the note says when; a month-only date keeps no day."""
    when = reading.when
    if when is None and kind == "engagement":
        when = When(reading.written_on, reading.written_on, "day", False, "today")
    if when is None or when.precision == "season":
        return None
    year = when.start.year if kind in ("engagement", "wedding") else None
    if kind == "anniversary":
        kind = "wedding"  # the yearly date; the year of the wedding is not said
    turns = re.search(r"\bturns\s+(\d{1,3})\b", reading.text, re.IGNORECASE)
    if kind == "birthday" and turns:
        year = when.start.year - int(turns.group(1))
    day = when.start.day if when.precision == "day" else None
    return {"kind": kind, "month": when.start.month, "day": day, "year": year, "label": ""}


def _date_summary(date: dict) -> str:
    labels = {"engagement": "Engagement", "wedding": "Wedding anniversary", "birthday": "Birthday"}
    label = labels.get(date["kind"], date["kind"])
    month = calendar.month_name[date["month"]]
    year = f" {date['year']}" if date.get("year") else ""
    if date.get("day") is None:
        return f"Add important date: {label} in {month}{year} (say which day)"
    return f"Add important date: {label} on {date['day']} {month}{year}"
