from django.apps import AppConfig


class MicrocxConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "microcx"
