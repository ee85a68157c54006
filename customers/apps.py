from django.apps import AppConfig


class CustomersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "customers"

    def ready(self) -> None:
        from customers import import_kind

        # Big customer files are checked and imported as background jobs (crm.kernel.import_jobs).
        import_kind.register()
