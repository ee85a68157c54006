import pytest
from django.core.management import call_command

from customers.models import Customer, FollowUp, ImportantDate, Note, Person
from customers.selectors import search_customers
from tests.crm.factories import UserFactory

pytestmark = pytest.mark.postgres


def test_seed_scale_bulk_inserts_searchable_customers_with_their_history(db, capsys):
    call_command("seed_scale", customers=200, notes_per_customer=3, locations=2, interactions_per_customer=2)
    assert Customer.objects.count() == 200
    assert Note.objects.count() == 600
    assert ImportantDate.objects.count() == 400
    assert Person.objects.exists() and FollowUp.objects.exists()
    assert all(c.locations.filter(pk=c.home_location_id).exists() for c in Customer.objects.all()[:20])
    someone = Customer.objects.order_by("pk")[100]
    manager = UserFactory(role="manager")
    assert someone in search_customers(manager, f"{someone.first_name} {someone.last_name}")
    from django.db.models import Sum

    from journeys.models import CustomerJourneyStat, CustomerPersona, Interaction, TouchpointMonth

    assert Interaction.objects.count() == 400
    assert CustomerJourneyStat.objects.aggregate(n=Sum("interactions"))["n"] == 400
    assert TouchpointMonth.objects.aggregate(n=Sum("interactions"))["n"] == 400
    assert CustomerPersona.objects.count() == 120
    # a second run adds more without clashing keys
    call_command("seed_scale", customers=10, notes_per_customer=0, locations=2)
    assert Customer.objects.count() == 210
    assert "done: 10 customers" in capsys.readouterr().out
