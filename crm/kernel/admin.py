from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from crm.kernel.models import Location, User


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
