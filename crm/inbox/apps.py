from django.apps import AppConfig


class InboxConfig(AppConfig):
    """Floor 4: notifications, the reminder sweeps, digests, the Today and Operations pages.

    It reads the domain apps (customers, journeys, microcx) and the kernel; nothing reads it.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "crm.inbox"
    label = "inbox"
    verbose_name = "Inbox and reminders"

    def ready(self) -> None:
        from crm.inbox import notifications, privacy
        from customers import extensions
        from microcx import signals as microcx_signals

        # Erasing a customer also removes the reminders that named them and cached figures.
        extensions.erase_hooks.append(privacy.erase_customer_traces)

        # Reminders of a closed follow-up, or of a customer just contacted, are settled.
        extensions.follow_up_closed_hooks.append(notifications.follow_up_closed)
        extensions.contact_recorded_hooks.append(notifications.customer_contacted)
        extensions.contacts_recorded_hooks.append(notifications.customers_contacted)
        extensions.follow_up_taken_hooks.append(notifications.follow_up_taken)

        # A gesture approved or turned down tells its proposer, in their inbox.
        microcx_signals.gesture_decided.connect(
            notifications.gesture_decided, dispatch_uid="crm.inbox.notifications.gesture_decided"
        )
