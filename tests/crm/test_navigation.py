"""The navigation bar is rendered once per process for each set of what it shows (crm/inbox/templatetags):
whatever changes on it shows at once, and each reader's log-out form carries their own CSRF token."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse

from crm.inbox.models import Notification
from crm.inbox.notifications import notification_mark, notifications_raise
from crm.kernel.services import staff_save

pytestmark = pytest.mark.django_db

LOGOUT_TOKEN = re.compile(r'action="/accounts/logout/"><input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"')


def _nav(client, name="home") -> str:
    html = client.get(reverse(name)).content.decode()
    return html[html.index("<nav") : html.index("</nav>")]


def test_two_sessions_of_one_user_share_the_bar_but_each_logs_out_with_its_own_token(frontline):
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    for client in (first, second):
        client.force_login(frontline)
    tokens = [LOGOUT_TOKEN.search(_nav(client)).group(1) for client in (first, second)]
    assert tokens[0] != tokens[1]
    for client, token in zip((first, second), tokens, strict=True):
        assert client.post(reverse("logout"), {"csrfmiddlewaretoken": token}).status_code == 302
        assert client.get(reverse("home")).status_code == 302  # signed out


def test_the_bar_follows_the_page_the_unread_count_the_name_and_the_role(client, frontline, customer, location):
    client.force_login(frontline)
    assert 'active" href="/"' in _nav(client) and 'active" href="/inbox/"' in _nav(client, "inbox")
    assert "text-bg-danger" not in _nav(client)
    notifications_raise(
        notifications=[
            Notification(
                recipient=frontline,
                kind=Notification.Kind.KEEP_IN_TOUCH,
                customer=customer,
                occurrence=datetime.date(2026, 6, 1),
                title="Say hello",
            )
        ]
    )
    assert '<span class="badge rounded-pill text-bg-danger">1</span>' in _nav(client)
    notification_mark(notification=Notification.objects.get(recipient=frontline), done=True)
    assert "text-bg-danger" not in _nav(client)
    frontline.first_name = "Robin"
    frontline.save()
    assert "Robin" in _nav(client)
    assert reverse("staff-list") not in _nav(client)
    staff_save(user=frontline, role="owner", locations=[location])
    bar = _nav(client)
    assert reverse("staff-list") in bar and "Owner" in bar
