"""Create the three staff roles as groups and grant them the CRM's own permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Frontline staff": [],
    "Manager": ["view_location", "view_all_locations", "view_loyalty_dashboard"],
    "Owner": [
        "view_location",
        "add_location",
        "change_location",
        "view_all_locations",
        "view_loyalty_dashboard",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; create the CRM's now.
    app_config = apps.get_app_config("crm")
    app_config.models_module = True  # create_permissions skips stubs without it
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="crm", codename__in=codenames))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]
    operations = [migrations.RunPython(create_roles, remove_roles)]
