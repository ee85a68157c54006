from django.apps import AppConfig


class KernelConfig(AppConfig):
    """Floor 1: locations, staff and roles, access, audit, encryption, CSV and uploads, business settings.

    Its label stays "crm" (it was the crm app), so tables, migrations, permissions and
    AUTH_USER_MODEL = "crm.User" are unchanged. It imports no domain app.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "crm.kernel"
    label = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from crm.kernel.roles import sync_roles

        # Runs after auth has created permissions, whichever app migrated last.
        post_migrate.connect(sync_roles, dispatch_uid="crm.sync_roles")

        # Search terms (names, emails, phones) stay out of runserver's and gunicorn's request lines.
        # Added here, not in LOGGING: configuring those loggers there would drop their own handlers.
        import logging

        from crm.kernel.logfilters import HideSearchTerms

        for name in ("django.server", "gunicorn.access"):
            logger = logging.getLogger(name)
            if not any(isinstance(f, HideSearchTerms) for f in logger.filters):
                logger.addFilter(HideSearchTerms())

        from crm.kernel import audit, security  # noqa: F401 - security connects the login receiver

        audit.register()

        # business, like access and permissions, names the keys each request reads ahead (crm.kernel.cache).
        from crm.kernel import access, business, permissions  # noqa: F401

        permissions.connect()
        access.connect()
