from django.contrib import admin

from crm.inbox.models import DigestSend, Heartbeat, Notification, SweepRun


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
