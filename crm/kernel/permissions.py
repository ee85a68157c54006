"""Each user's row, permissions and role groups, read from the shared cache instead of three or four queries a page.

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

import hashlib

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS

from crm.kernel.cache import bump, read_ahead, versioned

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


def _user_version_key(user_pk) -> str:
    return f"crm:user-version:{user_pk}"


def _user_key(user_pk) -> str:
    return f"crm:user:{user_pk}:{_secrets_tag()}"


@read_ahead
def _read_ahead(user_pk) -> list[str]:
    """What every signed-in request reads: the user's row and their permissions, each with its version."""
    return [_user_version_key(user_pk), _user_key(user_pk), VERSION_KEY, _key(user_pk)]


def user_changed(*user_pks) -> None:
    """These users' rows changed (a save does this itself; a QuerySet.update() must call it)."""
    bump(*(_user_version_key(pk) for pk in user_pks))


def _secrets_tag() -> str:
    """Which secret keys the kept session hashes were made with (a new SECRET_KEY reads them afresh)."""
    secrets = repr((settings.SECRET_KEY, list(settings.SECRET_KEY_FALLBACKS)))
    return hashlib.sha256(secrets.encode()).hexdigest()[:16]


def _read_user(pk) -> tuple | None:
    """The user's row without the password hash, with the session hashes made from it; None for no user."""
    from django.contrib.auth import get_user_model

    user = get_user_model()._default_manager.filter(pk=pk).first()
    if user is None:
        return None
    fields = [field for field in user._meta.concrete_fields if field.attname != "password"]
    return (
        [field.attname for field in fields],
        [getattr(user, field.attname) for field in fields],
        user.get_session_auth_hash(),
        list(user.get_session_auth_fallback_hash()),
    )


class StaffModelBackend(ModelBackend):
    """Django's ModelBackend, reading each request's user (named by the session) from the shared cache.

    The row is kept under a version per user that every save or delete of the user (and every
    QuerySet.update() of users, through user_changed) renews at once and again on commit, so a member of
    staff deactivated, renamed or given a new password counts on their next request. The password hash
    itself is never kept in the cache: only the session hashes made from it (HMACs under SECRET_KEY), which
    Django's session check compares; the password field is loaded from the database if anything asks for it.
    """

    def get_user(self, user_id):
        from django.contrib.auth import get_user_model

        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        kept = versioned(_user_version_key(pk), _user_key(pk), lambda: _read_user(pk), CACHE_SECONDS)
        if kept is None:
            return None
        names, values, session_hash, fallback_hashes = kept
        user = model.from_db(DEFAULT_DB_ALIAS, names, values)
        user._kept_session_hashes = (session_hash, tuple(fallback_hashes))
        return user if self.user_can_authenticate(user) else None


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
    post_delete.connect(_user_row_changed, sender=user_model, dispatch_uid="crm.permissions.user-row-deleted")
    post_migrate.connect(changed, dispatch_uid="crm.permissions.migrated")


def _user_row_changed(sender, instance, **kwargs) -> None:
    user_changed(instance.pk)


def _user_saved(sender, instance, created, **kwargs) -> None:
    user_changed(instance.pk)
    # The row itself is read again on the next request (user_changed). A new user may take the id of a
    # removed one; saving an existing user changes none of the permissions cached.
    if created:
        changed()
