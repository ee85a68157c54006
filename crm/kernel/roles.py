"""Staff roles: Django groups whose permissions say who may do what.

The groups are first created by a data migration (crm/kernel/migrations/0002_roles.py).
ROLE_PERMISSIONS below is the one table of who may do what; after every
`migrate` (and every test-database flush) sync_roles grants what it lists,
so a new app only adds its permissions here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crm.kernel.models import User

FRONTLINE = "frontline"
MANAGER = "manager"
OWNER = "owner"

# Group names as people see them in the admin.
GROUP_NAMES = {
    FRONTLINE: "Frontline staff",
    MANAGER: "Manager",
    OWNER: "Owner",
}
LABELS = {FRONTLINE: "Frontline", MANAGER: "Manager", OWNER: "Owner"}
# "app_label.codename" permissions each role holds.
_FRONTLINE = [
    "customers.view_customer",
    "customers.add_customer",
    "customers.change_customer",
    "customers.add_person",
    "customers.change_person",
    "customers.delete_person",
    "customers.add_importantdate",
    "customers.change_importantdate",
    "customers.delete_importantdate",
    "customers.add_note",
    "customers.add_followup",
    "customers.change_followup",
    "journeys.add_interaction",
    "journeys.view_touchpoint",
    "journeys.view_persona",
    "journeys.add_customerpersona",
    "microcx.view_budget",
    "microcx.add_gesture",
    "outreach.add_message",
    "outreach.view_message",
    "outreach.print_cards",
    "outreach.change_contactpreference",
    "outreach.redeem_offer",
]
_MANAGER = [
    *_FRONTLINE,
    "crm.view_location",
    "crm.view_all_locations",
    "crm.view_loyalty_dashboard",
    "customers.change_note",  # edit anyone's note
    "customers.archive_customer",
    "customers.import_customers",
    "customers.export_customers",
    "customers.change_tag",
    "inbox.view_sweeprun",
    "microcx.approve_gesture",
    "microcx.view_spend_report",
    "microcx.add_budget",
    "microcx.view_discretionrule",
    "journeys.add_touchpoint",
    "journeys.change_touchpoint",
    "journeys.add_persona",
    "journeys.change_persona",
    "journeys.add_journeystep",
    "journeys.change_journeystep",
    "journeys.add_touchpointmetric",
    "journeys.import_interactions",
    "journeys.add_apitoken",
]
ROLE_PERMISSIONS = {
    FRONTLINE: _FRONTLINE,
    MANAGER: _MANAGER,
    OWNER: [
        *_MANAGER,
        "crm.add_location",
        "crm.change_location",
        "crm.view_user",
        "crm.add_user",
        "crm.change_user",
        "crm.manage_security",
        "crm.manage_business",
        "insights.change_loyaltyrule",
        "customers.erase_customer",
        "microcx.adjust_budget",
        "microcx.change_discretionrule",
        "outreach.change_outreachsettings",
    ],
}

# Highest first: a user in several groups acts with the highest role.
RANK = [OWNER, MANAGER, FRONTLINE]


def role_of(user: User) -> str | None:
    """Return the user's highest role, caching the lookup on the user object.

    A superuser (made with `createsuperuser`, in no group) is an owner: owners see every location.
    """
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return OWNER
    cached = getattr(user, "_role_cache", False)
    if cached is not False:
        return cached
    from crm.kernel.permissions import group_names

    names = group_names(user)  # from the shared cache, with the user's permissions
    role = next((key for key in RANK if GROUP_NAMES[key] in names), None)
    user._role_cache = role
    return role


OWNER_EXISTS_CACHE_KEY = "crm:owner-exists"


def owner_exists() -> bool:
    """Whether the install has an owner: an active superuser or an active member of the Owner group.

    Until one exists the first-run page (/setup/) is open. A yes is cached: an install keeps its owners.
    """
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db.models import Q

    if cache.get(OWNER_EXISTS_CACHE_KEY):
        return True
    found = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=GROUP_NAMES[OWNER]))
        .exists()
    )
    if found:
        cache.set(OWNER_EXISTS_CACHE_KEY, True, 300)
    return found


def is_manager_or_owner(user: User) -> bool:
    return role_of(user) in (MANAGER, OWNER)


def is_owner(user: User) -> bool:
    return role_of(user) == OWNER


def sync_roles(**kwargs) -> None:
    """Create the role groups if missing and grant each the permissions in ROLE_PERMISSIONS."""
    from django.contrib.auth.models import Group, Permission

    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=GROUP_NAMES[role])
        wanted = {tuple(perm.split(".", 1)) for perm in perms}
        found = [
            p
            for p in Permission.objects.filter(codename__in={c for _, c in wanted}).select_related("content_type")
            if (p.content_type.app_label, p.codename) in wanted
        ]
        group.permissions.add(*found)
