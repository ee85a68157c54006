"""What the inbox and insights code does when something happens on the customers floor.

Connected once from InboxConfig.ready(); each `dispatch_uid` makes a second connect a no-op.
"""

from crm.inbox import notifications, privacy
from customers import signals
from customers.models import Customer, FollowUp


def _follow_up_closed(sender, follow_up, **kwargs) -> None:
    notifications.follow_up_closed(follow_up)


def _follow_up_taken(sender, follow_up, **kwargs) -> None:
    notifications.follow_up_taken(follow_up)


def _contact_recorded(sender, customer, **kwargs) -> None:
    notifications.customer_contacted(customer)


def _contacts_recorded(sender, customer_ids, **kwargs) -> None:
    notifications.customers_contacted(customer_ids)


def _customer_erasing(sender, customer, by=None, **kwargs) -> None:
    privacy.erase_customer_traces(customer, by)


def connect() -> None:
    """Reminders of a closed follow-up, or of a customer just contacted, are settled; erasing a
    customer also removes the reminders that named them and the cached figures."""
    signals.follow_up_closed.connect(_follow_up_closed, sender=FollowUp, dispatch_uid="crm.inbox.follow_up_closed")
    signals.follow_up_taken.connect(_follow_up_taken, sender=FollowUp, dispatch_uid="crm.inbox.follow_up_taken")
    signals.contact_recorded.connect(_contact_recorded, sender=Customer, dispatch_uid="crm.inbox.contact_recorded")
    signals.contacts_recorded.connect(_contacts_recorded, sender=Customer, dispatch_uid="crm.inbox.contacts_recorded")
    signals.customer_erasing.connect(_customer_erasing, sender=Customer, dispatch_uid="crm.customer_erasing")
