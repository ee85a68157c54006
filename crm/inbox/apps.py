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
        from crm.inbox import notifications, receivers
        from microcx import signals as microcx_signals

        # Reminders of a closed follow-up, or of a customer just contacted, are settled; erasing a
        # customer also removes the reminders that named them and cached figures (customers' signals).
        receivers.connect()

        # A background import's check or import finished tells its person, in their inbox.
        from crm.kernel import signals as kernel_signals

        kernel_signals.import_job_finished.connect(
            notifications.import_job_finished, dispatch_uid="crm.inbox.notifications.import_job_finished"
        )
        # Notifications saved or removed anywhere (a cascade when an important date is deleted or a customer erased,
        # an edit in the admin) renew the badge and the cached inbox too.
        from django.db.models.signals import post_delete, post_save

        from crm.inbox.models import Notification

        post_save.connect(notifications.counts_changed, sender=Notification, dispatch_uid="crm.inbox.counts_saved")
        post_delete.connect(notifications.counts_changed, sender=Notification, dispatch_uid="crm.inbox.counts_changed")
        # A gesture approved or turned down tells its proposer, in their inbox.
        microcx_signals.gesture_decided.connect(
            notifications.gesture_decided, dispatch_uid="crm.inbox.notifications.gesture_decided"
        )
