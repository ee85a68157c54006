from django.contrib import admin

from journeys.models import Interaction, JourneyStep, Persona, Touchpoint, TouchpointMetric


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "touchpoint", "location", "occurred_at", "amount", "external_ref"]
    list_filter = ["kind", "touchpoint", "location"]
    raw_id_fields = ["customer", "staff"]


admin.site.register([Touchpoint, Persona, JourneyStep, TouchpointMetric])
