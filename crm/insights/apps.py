from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Floor 4: the loyalty figures, the dashboard, the win-back rule, loyalty_report.

    It reads the domain apps (customers, journeys, microcx) and the kernel; nothing reads it.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "crm.insights"
    label = "insights"
    verbose_name = "Loyalty insights"
