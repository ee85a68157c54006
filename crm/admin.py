from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from crm.models import DigestSend, Heartbeat, Location, Notification, SweepRun, User


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["name", "timezone", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "address"]


@admin.register(User)
class StaffAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Locations", {"fields": ("locations",)}))
    filter_horizontal = ("groups", "user_permissions", "locations")
    list_display = ["username", "first_name", "last_name", "email", "is_active"]
    list_filter = ["groups", "locations", "is_active"]


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "beat_at"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "recipient", "kind", "occurrence", "read_at", "done_at"]
    list_filter = ["kind", "occurrence"]
    search_fields = ["title"]
    raw_id_fields = ["recipient", "customer", "follow_up", "important_date", "gesture"]


@admin.register(SweepRun)
class SweepRunAdmin(admin.ModelAdmin):
    list_display = ["name", "started_at", "finished_at", "raised", "error"]
    readonly_fields = ["name", "started_at", "finished_at", "raised", "error"]


@admin.register(DigestSend)
class DigestSendAdmin(admin.ModelAdmin):
    list_display = ["recipient", "day", "status", "attempts", "items", "last_error"]
    list_filter = ["status", "day"]
