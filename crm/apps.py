from django.apps import AppConfig


class CrmConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from crm.roles import sync_roles

        # Runs after auth has created permissions, whichever app migrated last.
        post_migrate.connect(sync_roles, dispatch_uid="crm.sync_roles")

        # Search terms (names, emails, phones) stay out of runserver's and gunicorn's request lines.
        # Added here, not in LOGGING: configuring those loggers there would drop their own handlers.
        import logging

        from crm.logfilters import HideSearchTerms

        for name in ("django.server", "gunicorn.access"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, HideSearchTerms) for f in logger.filters):
                logger.addFilter(HideSearchTerms())

        from crm import audit, notifications, privacy, security  # noqa: F401 - security connects the login receiver
        from customers import extensions

        audit.register()
        # Erasing a customer also removes the reminders that named them and cached figures.
        extensions.erase_hooks.append(privacy.erase_customer_traces)

        # Reminders of a closed follow-up, or of a customer just contacted, are settled.
        extensions.follow_up_closed_hooks.append(notifications.follow_up_closed)
        extensions.contact_recorded_hooks.append(notifications.customer_contacted)
        extensions.contacts_recorded_hooks.append(notifications.customers_contacted)
        extensions.follow_up_taken_hooks.append(notifications.follow_up_taken)
