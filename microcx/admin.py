from django.contrib import admin

from microcx.models import Budget, DiscretionRule, Gesture, LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read only: the ledger is append-only (the database refuses changes too)."""

    list_display = ["budget", "kind", "amount", "gesture", "created_by", "created_at"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register([Budget, DiscretionRule, Gesture])
