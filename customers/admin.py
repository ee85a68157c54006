from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from customers.models import Customer, FollowUp, ImportantDate, Note, Person, Tag


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["first_name", "last_name", "email", "phone", "home_location", "visit_count", "archived_at"]
    list_filter = ["home_location", "archived_at"]
    search_fields = ["first_name", "last_name", "email", "phone", "external_id"]
    raw_id_fields = ["referred_by"]


@admin.register(Note)
class NoteAdmin(SimpleHistoryAdmin):
    list_display = ["customer", "author", "location", "created_at", "is_sensitive"]
    raw_id_fields = ["customer"]


admin.site.register([Tag, Person, ImportantDate, FollowUp])
