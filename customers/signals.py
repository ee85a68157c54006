"""Events of the customers floor that the apps above it act on.

Customers sends these and never imports its receivers: journeys, microcx and the inbox and
insights code connect to them from their AppConfig.ready(), always with a `dispatch_uid`, so a
receiver connected twice (a second ready(), a reloaded module) still runs once per event.
Every signal is sent with `sender=` the model class it is about.
"""

from django.dispatch import Signal

# A follow-up was done or dismissed: follow_up=FollowUp. (The inbox settles its reminders.)
follow_up_closed = Signal()

# A member of staff took on a whole-location follow-up: follow_up=FollowUp (its assignee is set).
follow_up_taken = Signal()

# A contact with the customer was recorded (a visit, a call, an email): customer=Customer.
contact_recorded = Signal()

# Many contacts were recorded at once (an import): customer_ids=list[int], one chunk at a time.
contacts_recorded = Signal()

# The customer is being erased, inside the erase transaction: customer=Customer, by=User (the owner).
# Each app removes the personal data and free text it holds about them; amounts and counts stay.
customer_erasing = Signal()

# The owner exports what the business holds about a customer: customer=Customer. Each receiver
# returns {section name: plain JSON-ready data}; the key "profile" adds fields to the profile.
customer_exporting = Signal()

# Another app on floor 3 made a contact at a touchpoint (outreach: an email sent, a card posted):
# customer=Customer, touchpoint_slug, location, staff, occurred_at, summary, external_ref. Journeys records
# it as an interaction, once per external_ref, and returns the interaction's id (None: no such touchpoint).
contact_made = Signal()

# Which of these email addresses are on a do-not-send list (an erased customer's, kept only as a hash)?
# addresses=list[str]. A receiver returns the set of those it holds, lower-cased. Importers ask once per
# batch before they record consent.
address_suppression_asked = Signal()


# A sibling app asks for the customer to be checked in (outreach: "Check in & redeem" an offer):
# customer=Customer, staff=User. Journeys records the one-tap visit at the staff member's location (a
# second tap within minutes is the same visit) and returns it, an Interaction. Sent inside the caller's
# transaction; a receiver's error propagates, so the visit and what the caller does on it are all or nothing.
check_in_asked = Signal()

# An interaction import committed purchases that carried offer codes, inside its transaction:
# codes=[(line, interaction id, customer id, code, occurred_at, location id)]. Each receiver returns a
# dict added to the import's result (outreach redeems the codes and says, by line, which it refused).
offer_codes_imported = Signal()


def suppressed_addresses(addresses: list[str]) -> set[str]:
    """The addresses (lower-cased) that some app keeps on its do-not-send list."""
    wanted = [address.strip().lower() for address in addresses if address and address.strip()]
    if not wanted:
        return set()
    from customers.models import Customer

    found: set[str] = set()
    for _receiver, answer in address_suppression_asked.send(sender=Customer, addresses=wanted):
        found |= set(answer or ())
    return found


def address_suppressed(address: str) -> bool:
    """Whether some app keeps this address on its do-not-send list."""
    return bool(suppressed_addresses([address]))


def check_in(*, customer, staff):
    """Check the customer in through whichever app records visits (journeys); None when none does."""
    from customers.models import Customer

    for _receiver, visit in check_in_asked.send(sender=Customer, customer=customer, staff=staff):
        if visit is not None:
            return visit
    return None


def offer_codes_redeem(codes: list[tuple]) -> dict:
    """Hand an import's offer codes to the apps that redeem them; their answers merged into one dict."""
    from customers.models import Customer

    result: dict = {}
    for _receiver, answer in offer_codes_imported.send(sender=Customer, codes=codes):
        result.update(answer or {})
    return result
