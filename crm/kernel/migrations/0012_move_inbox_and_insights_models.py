"""The inbox's models (Notification, SweepRun, DigestSend, Heartbeat) and the win-back rule leave the crm app.

Only the state: the tables and rows stay, and crm.inbox / crm.insights take them over in their 0001.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0011_business_settings"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="digestsend",
                    name="recipient",
                ),
                migrations.DeleteModel(
                    name="Heartbeat",
                ),
                migrations.RemoveField(
                    model_name="loyaltyrule",
                    name="updated_by",
                ),
                migrations.RemoveField(
                    model_name="notification",
                    name="customer",
                ),
                migrations.RemoveField(
                    model_name="notification",
                    name="follow_up",
                ),
                migrations.RemoveField(
                    model_name="notification",
                    name="gesture",
                ),
                migrations.RemoveField(
                    model_name="notification",
                    name="important_date",
                ),
                migrations.RemoveField(
                    model_name="notification",
                    name="recipient",
                ),
                migrations.DeleteModel(
                    name="SweepRun",
                ),
                migrations.DeleteModel(
                    name="DigestSend",
                ),
                migrations.DeleteModel(
                    name="LoyaltyRule",
                ),
                migrations.DeleteModel(
                    name="Notification",
                ),
            ],
            database_operations=[],
        ),
    ]
