from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The top floor below the configuration: seed_demo and seed_scale, which fill every app (the inbox too).

    No models; only management commands. Nothing imports it.
    """

    name = "crm.demo"
    label = "demo"
    verbose_name = "Demo and scale data"
