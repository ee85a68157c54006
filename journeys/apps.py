from django.apps import AppConfig


class JourneysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "journeys"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from journeys import customer_page, import_kind
        from journeys.catalogue import ensure_catalogue

        customer_page.register()
        # Big visit and purchase files are checked and imported as background jobs (crm.kernel.import_jobs).
        import_kind.register()
        # The one place the default touchpoints are seeded: after every migrate, new database or old,
        # and after a test database flush.
        post_migrate.connect(ensure_catalogue, sender=self, dispatch_uid="journeys.ensure_catalogue")
