"""Managers and owners are told when gestures wait for them: on Today, in the Inbox and in the menu."""

import pytest
from django.urls import reverse

from tests.customers.factories import CustomerFactory

OVER_FRONTLINE_LIMIT = "60"  # the default frontline limit is $50 a gesture


@pytest.mark.parametrize("waiting", [1, 7])
def test_manager_sees_waiting_gestures_on_today_in_the_inbox_and_the_menu(
    client, propose, frontline, manager, location, waiting, django_assert_max_num_queries
):
    for i in range(waiting):
        propose(
            frontline, OVER_FRONTLINE_LIMIT, customer=CustomerFactory(first_name=f"Grace{i}", home_location=location)
        )
    client.force_login(manager)
    with django_assert_max_num_queries(16):
        today = client.get(reverse("home"))
    page = today.content.decode()
    assert f"{waiting} gesture{'s' if waiting > 1 else ''} waiting for approval" in page
    assert 'data-testid="nav-count-microcx"' in page
    assert 'data-testid="menu-dot"' in page  # the phone's collapsed menu says something waits inside
    assert len(today.context["approvals"]) == min(waiting, 5)
    assert ("See all 7 in the queue" in page) == (waiting > 5)
    assert "per-gesture limit" in page  # why each one waits: over the per-gesture limit, with the figures
    inbox = client.get(reverse("inbox")).content.decode()
    assert f"{waiting} gesture{'s' if waiting > 1 else ''} waiting for approval" in inbox
    assert reverse("gesture-queue") in inbox


def test_frontline_staff_are_not_shown_approvals_they_cannot_give(client, propose, frontline):
    propose(frontline, OVER_FRONTLINE_LIMIT)
    client.force_login(frontline)
    page = client.get(reverse("home")).content.decode()
    assert "waiting for approval" not in page
    assert "nav-count-microcx" not in page


def test_nothing_waiting_means_no_card_and_no_badge(client, propose, frontline, manager):
    gesture = propose(frontline, "10")  # within discretion: approved at once
    assert gesture.status == "approved"
    client.force_login(manager)
    page = client.get(reverse("home")).content.decode()
    assert "waiting for approval" not in page and "nav-count-microcx" not in page
    assert "menu-dot" not in page


def test_the_queue_says_why_each_gesture_needs_approval(client, propose, frontline, manager):
    propose(frontline, OVER_FRONTLINE_LIMIT)
    client.force_login(manager)
    page = client.get(reverse("gesture-queue")).content.decode()
    assert 'data-testid="approval-reason"' in page and "per-gesture limit" in page


def test_the_queue_flags_an_amount_far_above_what_that_gesture_usually_costs(client, propose, frontline, manager):
    for _ in range(3):
        propose(frontline, "20", category="gift_card")  # approved at once: the usual gift card
    propose(frontline, "90", category="gift_card")
    propose(frontline, "30", category="gift_card")  # over the frontline limit, but not odd
    client.force_login(manager)
    page = client.get(reverse("gesture-queue"))
    odd = [row["odd_amount"] for row in page.context["rows"]]
    assert sorted(bool(o) for o in odd) == [False, True]
    assert "Unusual amount: $90.00" in page.content.decode() and "on average" in page.content.decode()
