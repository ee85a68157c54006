"""Writes for customers, split by sub-domain:

- profiles: the customer record (save, tags, archive, restore, erase) and phone numbers;
- contacts: contacts recorded with customers, the visit figures and the keep-in-touch schedule;
- bulk: many new customers at once (an import), by COPY;
- people: people, pets and important dates;
- notes: personal notes;
- follow_ups: follow-ups, taken on, completed, dismissed;
- suggestions: what the note reader proposes, taken up or ignored, and a note captured with its follow-up;
- holdouts: whom a rule-driven prompt picked, and whether its hold-out left them out.

The names are re-exported here so `from customers.services import note_create` keeps working for the
two dozen modules and tests that use it.
"""

from customers.services.bulk import customers_create_bulk
from customers.services.contacts import (
    ContactFigures,
    customer_contact_record,
    customers_contacts_add,
    keep_in_touch_cadence,
)
from customers.services.follow_ups import (
    follow_up_complete,
    follow_up_create,
    follow_up_dismiss,
    follow_up_location_for,
    follow_up_take,
)
from customers.services.holdouts import rule_exposures_record
from customers.services.notes import GIST_LENGTH, note_create, note_gist, note_location_for, note_update
from customers.services.people import important_date_delete, important_date_save, person_delete, person_save
from customers.services.profiles import (
    customer_archive,
    customer_erase,
    customer_restore,
    customer_save,
    normalise_phone,
    tag_save,
    tags_from_text,
)
from customers.services.suggestions import (
    note_capture,
    suggestion_accept,
    suggestion_ignore,
    suggestion_opens_form,
)

__all__ = [
    "GIST_LENGTH",
    "ContactFigures",
    "customer_archive",
    "customer_contact_record",
    "customer_erase",
    "customer_restore",
    "customer_save",
    "customers_contacts_add",
    "customers_create_bulk",
    "follow_up_complete",
    "follow_up_create",
    "follow_up_dismiss",
    "follow_up_location_for",
    "follow_up_take",
    "important_date_delete",
    "important_date_save",
    "keep_in_touch_cadence",
    "normalise_phone",
    "note_capture",
    "note_create",
    "note_gist",
    "note_location_for",
    "note_update",
    "person_delete",
    "person_save",
    "rule_exposures_record",
    "suggestion_accept",
    "suggestion_ignore",
    "suggestion_opens_form",
    "tag_save",
    "tags_from_text",
]
