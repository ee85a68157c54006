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

        from crm import notifications
        from customers import extensions

        # Reminders of a closed follow-up, or of a customer just contacted, are settled.
        extensions.follow_up_closed_hooks.append(notifications.follow_up_closed)
        extensions.contact_recorded_hooks.append(notifications.customer_contacted)
        extensions.contacts_recorded_hooks.append(notifications.customers_contacted)
        extensions.follow_up_taken_hooks.append(notifications.follow_up_taken)
