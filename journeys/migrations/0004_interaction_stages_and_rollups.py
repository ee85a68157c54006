"""Give existing interactions a stage and build the journey rollups from them."""

from django.db import migrations


def forwards(apps, schema_editor):
    Interaction = apps.get_model("journeys", "Interaction")
    Touchpoint = apps.get_model("journeys", "Touchpoint")
    for touchpoint in Touchpoint.objects.all():
        Interaction.objects.filter(touchpoint=touchpoint, stage="").exclude(kind="purchase").update(
            stage=touchpoint.stage
        )
    Interaction.objects.filter(stage="", kind="purchase").update(stage="during")
    from journeys import rollups

    rollups.rebuild(connection=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("journeys", "0003_apitoken_customerjourneystat_customerpersona_and_more")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
