from django.apps import AppConfig


class JourneysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "journeys"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from journeys import customer_page
        from journeys.catalogue import ensure_catalogue

        customer_page.register()
        # Also after a test database flush, which empties what the data migration seeded.
        post_migrate.connect(ensure_catalogue, sender=self, dispatch_uid="journeys.ensure_catalogue")
