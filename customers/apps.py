from django.apps import AppConfig


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"

    def ready(self) -> None:
        from customers import import_kind

        # Big customer files are checked and imported as background jobs (crm.kernel.import_jobs).
        import_kind.register()
        _watch_pages()


def _watch_pages() -> None:
    """Writes that change what a customer page shows (customers/page_cache.py)."""
    from crm.kernel.models import BusinessSettings, Location, User
    from customers import page_cache, signals
    from customers.models import Customer, FollowUp, ImportantDate, Note, Person, Suggestion, Tag

    page_cache.watch(Customer, lambda customer: [customer.pk])
    page_cache.watch(FollowUp)
    # Today and the inbox show whether the note behind a follow-up is private: a new note is behind none yet.
    # A note edited changes its kept timeline entry: only a new one leaves the parts kept apart from notes.
    page_cache.watch(Note, across=lambda note, created: not created, notes_only=lambda note, created: created)
    for model in (ImportantDate, Person):
        page_cache.watch(model, across=False)
    page_cache.watch(
        Suggestion,
        lambda suggestion: Note.objects.filter(pk=suggestion.note_id).values_list("customer_id", flat=True),
        across=False,
        notes_only=True,
    )
    page_cache.watch_tags(Customer.tags.through)
    for model in (Tag, Location, BusinessSettings):
        page_cache.watch_shared(model)
    # Names of staff are on notes and follow-ups; signing in only sets last_login.
    page_cache.watch_shared(User, unless_only=frozenset({"last_login"}))
    signals.contacts_recorded.connect(
        lambda sender, customer_ids, **kwargs: page_cache.changed(*customer_ids),
        weak=False,
        dispatch_uid="page_cache.contacts_recorded",
    )
