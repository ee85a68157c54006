"""Each user's permissions and role groups, read from the shared cache instead of two or three queries a page.

Every signed-in page asks has_perm a dozen times (the navigation) and most ask the user's role. Django's
ModelBackend reads the permissions once per request (two queries) and role_of reads the groups (one more).
SharedPermissionCache, listed before ModelBackend in AUTHENTICATION_BACKENDS, keeps what those queries
return in the shared cache under one key per user, stamped with a permissions version, and hands it to
ModelBackend through ModelBackend's own per-request attributes (_user_perm_cache, _group_perm_cache,
_perm_cache), so neither backend queries on a hit. It authenticates nobody: sessions keep naming ModelBackend.

Any change to who holds what (a user's groups or own permissions, a group's permissions, a group, a
permission or a user removed or added, a migration) gives the version a new value, at once and again when
the transaction commits, so the next request reads the change. While the cache is unreachable every read
is a miss: the queries run as before.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from crm.kernel.cache import bump, versioned

VERSION_KEY = "crm:permissions-version"
CACHE_SECONDS = 600
_model_backend = ModelBackend()


def _key(user_pk) -> str:
    return f"crm:permissions:{user_pk}"


def changed(**kwargs) -> None:
    """Who holds what may have changed: the next read of anyone's permissions loads them again."""
    bump(VERSION_KEY)


def _read(user) -> tuple[frozenset, frozenset, frozenset]:
    return (
        frozenset(_model_backend._get_permissions(user, None, "user")),
        frozenset(_model_backend._get_permissions(user, None, "group")),
        frozenset(user.groups.values_list("name", flat=True)),
    )


def _load(user) -> None:
    """Put the user's permissions and group names on the user object (ModelBackend's attributes)."""
    if hasattr(user, "_perm_cache"):
        return
    user_perms, group_perms, names = versioned(VERSION_KEY, _key(user.pk), lambda: _read(user), CACHE_SECONDS)
    user._user_perm_cache = set(user_perms)
    user._group_perm_cache = set(group_perms)
    user._perm_cache = {*user_perms, *group_perms}
    user._group_names_cache = names


def group_names(user) -> frozenset[str]:
    """The names of the user's groups, read with their permissions (at most once per request)."""
    if not hasattr(user, "_group_names_cache"):
        prefetched = getattr(user, "_prefetched_objects_cache", {}).get("groups")
        if prefetched is not None:  # a list of staff read with their groups
            user._group_names_cache = frozenset(group.name for group in prefetched)
        elif not hasattr(user, "_perm_cache") and user.is_active:
            _load(user)
        else:
            user._group_names_cache = frozenset(user.groups.values_list("name", flat=True))
    return user._group_names_cache


class SharedPermissionCache:
    """Answers permission questions from the shared cache; ModelBackend (after it) reuses what it loaded.

    Deliberately no get_user: a session (and the test client's force_login) must keep naming ModelBackend.
    """

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj, app_label) -> bool:
        return any(perm[: perm.index(".")] == app_label for perm in self.get_all_permissions(user_obj))

    def _usable(self, user_obj, obj) -> bool:
        return obj is None and user_obj.is_active and not user_obj.is_anonymous

    def get_user_permissions(self, user_obj, obj=None):
        if not self._usable(user_obj, obj):
            return set()
        _load(user_obj)
        return user_obj._user_perm_cache

    def get_group_permissions(self, user_obj, obj=None):
        if not self._usable(user_obj, obj):
            return set()
        _load(user_obj)
        return user_obj._group_perm_cache

    def get_all_permissions(self, user_obj, obj=None):
        if not self._usable(user_obj, obj):
            return set()
        _load(user_obj)
        return user_obj._perm_cache


def connect() -> None:
    """Give the version a new value whenever who holds what may have changed (crm.kernel.apps)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

    user_model = get_user_model()
    for through in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(changed, sender=through, dispatch_uid=f"crm.permissions.m2m.{through._meta.label}")
    for model in (Group, Permission):
        post_save.connect(changed, sender=model, dispatch_uid=f"crm.permissions.save.{model._meta.label}")
    for model in (Group, Permission, user_model):
        post_delete.connect(changed, sender=model, dispatch_uid=f"crm.permissions.delete.{model._meta.label}")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="crm.permissions.user-saved")
    post_migrate.connect(changed, dispatch_uid="crm.permissions.migrated")


def _user_saved(sender, instance, created, **kwargs) -> None:
    # A new user may take the id of a removed one; saving an existing user changes none of what is cached
    # (is_active and is_superuser are read from the user row on every request).
    if created:
        changed()
