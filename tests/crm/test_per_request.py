"""What every signed-in page pays: permissions, role and the inbox badge come from the shared cache, and
every change to them counts on the very next request."""

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.urls import reverse

from crm.inbox import notifications
from crm.inbox.models import Notification
from crm.kernel import permissions, roles
from crm.kernel.models import User
from customers.models import ImportantDate
from customers.services import important_date_delete

pytestmark = pytest.mark.django_db


def next_request(user: User) -> User:
    """The user as the next request loads them: a fresh object, nothing kept on it."""
    return User.objects.get(pk=user.pk)


def group(role: str) -> Group:
    return Group.objects.get(name=roles.GROUP_NAMES[role])


def test_permissions_and_role_are_read_once_then_come_from_the_shared_cache(frontline, django_assert_num_queries):
    first = next_request(frontline)
    assert first.has_perm("customers.view_customer") and first.role == roles.FRONTLINE
    user = next_request(frontline)
    with django_assert_num_queries(0):
        assert user.has_perm("customers.view_customer")
        assert not user.has_perm("crm.manage_security")  # a refusal falls through to ModelBackend: no query
        assert user.has_module_perms("customers") and not user.has_module_perms("insights")
        assert user.role == roles.FRONTLINE
        assert "outreach.print_cards" in user.get_all_permissions()


def test_a_group_losing_a_permission_counts_on_the_next_request(frontline):
    assert next_request(frontline).has_perm("outreach.print_cards")
    print_cards = Permission.objects.get(codename="print_cards")
    group(roles.FRONTLINE).permissions.remove(print_cards)
    assert not next_request(frontline).has_perm("outreach.print_cards")
    group(roles.FRONTLINE).permissions.add(print_cards)
    assert next_request(frontline).has_perm("outreach.print_cards")


def test_a_new_role_counts_on_the_next_request(frontline):
    before = next_request(frontline)
    assert before.role == roles.FRONTLINE and not before.has_perm("crm.view_location")
    frontline.groups.set([group(roles.MANAGER)])
    after = next_request(frontline)
    assert after.role == roles.MANAGER and after.has_perm("crm.view_location")
    group(roles.MANAGER).user_set.remove(frontline)  # from the group's side
    assert next_request(frontline).role is None and not next_request(frontline).has_perm("customers.view_customer")


def test_a_permission_given_to_the_user_counts_on_the_next_request(frontline):
    assert not next_request(frontline).has_perm("crm.manage_security")
    frontline.user_permissions.add(Permission.objects.get(codename="manage_security"))
    assert next_request(frontline).has_perm("crm.manage_security")


def test_a_deactivated_user_holds_nothing_at_once(frontline):
    assert next_request(frontline).has_perm("customers.view_customer")
    User.objects.filter(pk=frontline.pk).update(is_active=False)  # no signal: is_active is read from the row
    assert not next_request(frontline).has_perm("customers.view_customer")


def test_the_version_changes_again_when_the_change_commits(frontline, django_capture_on_commit_callbacks):
    """A request that read the old rows while the change was uncommitted cannot leave them cached as current."""
    next_request(frontline).has_perm("outreach.print_cards")
    with django_capture_on_commit_callbacks() as callbacks:
        group(roles.FRONTLINE).permissions.remove(Permission.objects.get(codename="print_cards"))
    during = cache.get(permissions.VERSION_KEY)
    assert callbacks
    for callback in callbacks:
        callback()
    assert cache.get(permissions.VERSION_KEY) not in (None, during)


def test_the_staff_list_reads_roles_from_its_own_prefetch(owner, frontline, django_assert_num_queries):
    staff = list(User.objects.prefetch_related("groups"))
    with django_assert_num_queries(0):
        assert {user.pk: user.role for user in staff}[frontline.pk] == roles.FRONTLINE


# --- the inbox badge ---------------------------------------------------------------------------------------


def raise_for(user, customer, n: int) -> list[Notification]:
    notifications.notifications_raise(
        notifications=[
            Notification(
                recipient=user,
                kind="message",
                occurrence=datetime.date(2026, 1, 1) - datetime.timedelta(days=i),
                title=f"n{i}",
                customer=customer,
            )
            for i in range(n)
        ]
    )
    return list(Notification.objects.filter(recipient=user).order_by("pk"))


def test_the_unread_count_is_cached_and_a_read_notification_drops_it_at_once(
    frontline, customer, django_assert_num_queries
):
    first, second, _third = raise_for(frontline, customer, 3)
    assert notifications.unread_count(next_request(frontline)) == 3
    with django_assert_num_queries(0):
        assert notifications.unread_count(frontline) == 3
    notifications.notification_mark(notification=first, read=True)
    assert notifications.unread_count(frontline) == 2
    notifications.notification_mark(notification=second, done=True)
    assert notifications.unread_count(frontline) == 1
    notifications.notification_mark(notification=first, read=False)
    assert notifications.unread_count(frontline) == 2


def test_the_unread_count_follows_raising_settling_and_cascades(frontline, manager, customer):
    raise_for(frontline, customer, 1)
    assert notifications.unread_count(frontline) == 1 and notifications.unread_count(manager) == 0
    date = ImportantDate.objects.create(customer=customer, kind="birthday", month=6, day=1)
    Notification.objects.filter(recipient=frontline).update(important_date=date)
    raise_for(manager, customer, 2)
    assert notifications.unread_count(frontline) == 1 and notifications.unread_count(manager) == 2
    important_date_delete(important_date=date)  # the frontline's notification goes with the date
    assert notifications.unread_count(frontline) == 0 and notifications.unread_count(manager) == 2
    notifications.notifications_forget(customer=customer)
    assert notifications.unread_count(manager) == 0


def test_the_badge_on_the_page_drops_as_soon_as_a_notification_is_read(client, frontline, customer):
    first, _second = raise_for(frontline, customer, 2)
    client.force_login(frontline)
    assert client.get(reverse("inbox")).context["inbox_count"] == 2
    assert client.get(reverse("inbox-badge")).context["inbox_count"] == 2
    client.post(reverse("notification-mark", args=[first.pk]), {"action": "read"})
    assert client.get(reverse("inbox-badge")).context["inbox_count"] == 1


def test_a_signed_in_page_pays_the_user_and_nothing_else(client, frontline, customer, django_assert_max_num_queries):
    raise_for(frontline, customer, 1)
    client.force_login(frontline)
    client.get(reverse("inbox-badge"))  # fills the shared cache, as any earlier page has
    # The user and the savepoint pair of ATOMIC_REQUESTS; the session, permissions and the count are cached.
    with django_assert_max_num_queries(3):
        page = client.get(reverse("inbox-badge"))
    assert page.context["inbox_count"] == 1
