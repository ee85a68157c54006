from django.apps import AppConfig


class OutreachConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "outreach"
    verbose_name = "Reaching out"

    def ready(self) -> None:
        from outreach import customer_page

        customer_page.register()

        from outreach import offer_page

        offer_page.register()
