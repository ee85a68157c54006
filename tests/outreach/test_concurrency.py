"""Colleagues writing to the same customer at the same moment are counted one after the other."""

import threading

import pytest
from django.db import connection

from outreach import services
from outreach.models import Message
from tests.outreach.conftest import write

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_three_colleagues_writing_at_once_send_no_more_than_the_limit(frontline, manager, owner, reachable, location):
    start = threading.Barrier(3)
    outcomes = []

    def compose(sender):
        try:
            start.wait(timeout=10)
            write(reachable, sender, location, body=f"Dear Annie, from {sender.username}: congratulations!")
            outcomes.append("sent")
        except services.Refused as refused:
            outcomes.append(refused.verdict.about)
        finally:
            connection.close()

    threads = [threading.Thread(target=compose, args=(user,)) for user in (frontline, manager, owner)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["limit", "sent", "sent"]
    assert Message.objects.filter(customer=reachable).count() == 2
