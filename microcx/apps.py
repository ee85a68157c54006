from django.apps import AppConfig


class MicrocxConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "microcx"
    verbose_name = "Micro-CX budget"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from microcx import customer_page

        customer_page.register()
        # The one place the default discretion rules are seeded: after every migrate, new database or
        # old, and after a test database flush.
        post_migrate.connect(_default_rules, sender=self, dispatch_uid="microcx.default_rules")


def _default_rules(**kwargs) -> None:
    from microcx.services.discretion import ensure_default_rules

    ensure_default_rules()
