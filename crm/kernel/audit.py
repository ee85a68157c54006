"""The audit trail (django-auditlog): which models are audited, and how entries stay discreet.

Who changed notes, important dates, people, follow-ups, customers, gestures, budgets, discretion
rules, locations, staff roles, the security policy and the business settings is recorded by django-auditlog's signals.
Who *read* a customer's sensitive notes is recorded by record_sensitive_view. Free text that may be
sensitive is never copied into the trail: its changes show as "(hidden)" and an entry names such
an object by kind and number only. Every entry about a customer carries their id in
additional_data["customer_id"], so an owner can read one customer's trail and erasing the
customer can scrub it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps
from django.db.models.signals import pre_save

if TYPE_CHECKING:
    from crm.kernel.models import User

HIDDEN = "(hidden)"

# model label -> auditlog register() options. Passwords and login times of staff stay out.
AUDITED = {
    "customers.Customer": {
        "exclude_fields": ["search_document", "search_name", "phone_digits", "updated_at", "email_lower"]
    },
    "customers.Person": {},
    "customers.ImportantDate": {"exclude_fields": ["next_prompt_on"]},
    "customers.Note": {"mask_fields": ["text"], "exclude_fields": ["updated_at"]},
    "customers.FollowUp": {"mask_fields": ["prompt"], "exclude_fields": ["next_reminder_on"]},
    "microcx.Gesture": {"mask_fields": ["description", "customer_reaction", "rejection_reason"]},
    "microcx.Budget": {},
    "microcx.DiscretionRule": {},
    "crm.Location": {},
    "crm.User": {
        "exclude_fields": ["password", "last_login", "email_failures", "email_failing_since"],
        "m2m_fields": {"groups", "locations"},
    },
    "crm.SecurityPolicy": {},
    "crm.BusinessSettings": {"exclude_fields": ["updated_at"]},
    "insights.LoyaltyRule": {"exclude_fields": ["updated_at"]},
    # Consent to marketing and "do not contact", as the customer or staff set them; the address stays out.
    "outreach.ContactPreference": {"mask_fields": ["postal_address"], "exclude_fields": ["updated_at"]},
}
# Objects whose own name may be sensitive free text: an entry names them by kind and number.
NAMED_BY_NUMBER = {"customers.Note", "customers.FollowUp", "microcx.Gesture"}


def hide(value: str) -> str:
    """Mask a sensitive value completely (auditlog's default keeps half of it)."""
    return HIDDEN


def register() -> None:
    """Register the audited models with django-auditlog (called once, from CrmConfig.ready)."""
    from auditlog.models import LogEntry
    from auditlog.registry import auditlog

    for label, options in AUDITED.items():
        model = apps.get_model(label)
        if auditlog.contains(model):
            continue
        if options.get("mask_fields"):
            options = {**options, "mask_callable": "crm.kernel.audit.hide"}
        auditlog.register(model, **options)
        if label == "customers.Customer" or any(f.name == "customer" for f in model._meta.fields):
            # auditlog stores what this returns in additional_data (LogEntryManager.log_create).
            model.get_additional_data = _customer_data
    pre_save.connect(_discreet_entry, sender=LogEntry, dispatch_uid="crm.kernel.audit.discreet")


def _discreet_entry(sender, instance, **kwargs) -> None:
    """Name possibly sensitive objects by kind and number, and tag entries with their customer."""
    model = instance.content_type.model_class() if instance.content_type_id else None
    if model is None:
        return
    label = model._meta.label
    if label in NAMED_BY_NUMBER:
        instance.object_repr = f"{model._meta.verbose_name.capitalize()} #{instance.object_pk}"


def _customer_data(instance) -> dict:
    """Tag an audited object's entries with the customer it belongs to."""
    if instance._meta.label == "customers.Customer":
        return {"customer_id": instance.pk}
    return {"customer_id": instance.customer_id}


def _record(customer, user: User | None, action: int, **fields) -> None:
    from auditlog.models import LogEntry

    extra = fields.pop("extra", {})
    LogEntry.objects.log_create(
        customer,
        force_log=True,
        action=action,
        actor=user,
        changes=None,
        additional_data={"customer_id": customer.pk, **extra},
        **fields,
    )


def record_sensitive_view(*, user: User, customer, note_ids: list[int]) -> None:
    """Record that `user` was shown these sensitive notes of `customer` (a customer or their id).

    Pages do not call this: they disclose what they show through crm.kernel.confidences, which records
    each page view once.
    """
    from auditlog.models import LogEntry

    if note_ids:
        if isinstance(customer, int):
            customer = apps.get_model("customers", "Customer").objects.get(pk=customer)
        _record(customer, user, LogEntry.Action.ACCESS, extra={"sensitive_notes": sorted(set(note_ids))})


def record_erasure(*, user: User, customer) -> None:
    """Scrub what the trail said about an erased customer, then record who erased them (not what)."""
    from auditlog.models import LogEntry

    name = f"Erased customer #{customer.pk}"
    scrub_customer(customer.pk, object_repr=name)
    _record(
        customer,
        user,
        LogEntry.Action.DELETE,
        object_repr=name,
        changes_text="Personal data erased at the customer's request.",
        extra={"erased": True},
    )


def record_import(*, user: User | None, what: str, figures: dict[str, int]) -> None:
    """Record one entry for a whole import ("Imported interactions: 100,000 imported, 25,000 new customers"),
    not one per customer or row it touched."""
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    said = ", ".join(f"{value:,} {name.replace('_', ' ')}" for name, value in figures.items())
    LogEntry.objects.create(
        content_type=ContentType.objects.get(app_label="customers", model="customer"),
        object_pk="",
        object_repr=f"Import of {what}",
        action=LogEntry.Action.CREATE,
        actor=user,
        changes_text=f"Imported {what}: {said}.",
        additional_data={"import": what, **figures},
    )


def scrub_customer(customer_id: int, object_repr: str) -> int:
    """Remove personal data from every audit entry about one customer; keep who did what and when."""
    from auditlog.models import LogEntry

    return LogEntry.objects.filter(additional_data__customer_id=customer_id).update(
        changes=None, changes_text="", object_repr=object_repr, serialized_data=None
    )
