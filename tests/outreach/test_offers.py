"""Offers with codes: unique, readable codes with an expiry, redeemed once at the till, a check-in or an import."""

import datetime
import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from journeys import importer
from journeys.models import Interaction
from outreach import offers
from outreach.models import ContactPreference, Message
from outreach.offers import Offer
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.outreach.offer_helpers import consenting, mark_sent, message_for, sent_offer

pytestmark = pytest.mark.postgres

CODE = re.compile(r"^[A-HJKMNP-Z2-9]{5}-[A-HJKMNP-Z2-9]{5}$")


def test_codes_are_readable_and_unlike_each_other():
    codes = {offers.new_code() for _ in range(5000)}
    assert len(codes) == 5000
    assert all(CODE.match(code) for code in codes)
    assert not {"0", "O", "1", "I", "L"} & set("".join(codes))
    # 31 symbols, 10 places: about 49 bits, far from guessable
    assert len(offers.ALPHABET) ** offers.CODE_LENGTH > 2**49


def test_a_code_is_read_in_any_case_with_or_without_its_dash():
    assert offers.normalise_code(" kx7pm q4rta ") == "KX7PM-Q4RTA"
    assert offers.normalise_code("KX7PMQ4RTA") == "KX7PM-Q4RTA"
    assert offers.normalise_code("kx7-pm-q4r-ta") == "KX7PM-Q4RTA"


def test_two_offers_never_share_a_code(customer):
    first = sent_offer(customer)
    other = consenting(CustomerFactory(home_location=customer.home_location))
    with pytest.raises(IntegrityError), transaction.atomic():
        Offer.objects.create(
            message=message_for(other),
            customer=other,
            location=first.location,
            description="Same code",
            code=first.code,
            expires_on=first.expires_on,
        )


def test_a_clash_of_codes_draws_another(customer, monkeypatch):
    first = sent_offer(customer)
    drawn = iter([first.code, "ABCDE-FGHJK"])
    monkeypatch.setattr(offers, "new_code", lambda: next(drawn))
    other = consenting(CustomerFactory(home_location=customer.home_location))
    offer = offers.offer_attach(message=message_for(other), kind="gift", description="A $20 gift card")
    assert offer.code == "ABCDE-FGHJK"


def test_an_offer_makes_the_message_marketing_and_runs_sixty_days_by_default(customer, location):
    consenting(customer)
    message = message_for(customer)
    offer = offers.offer_attach(message=message, kind="gift", description="  A $20 gift card ")
    message.refresh_from_db()
    assert message.is_marketing
    assert offer.description == "A $20 gift card"
    assert offer.expires_on == location.local_today() + datetime.timedelta(days=60)
    assert message.offer == offer


def test_an_offer_needs_marketing_consent_and_saves_nothing_without_it(customer):
    consenting(customer)
    ContactPreference.objects.filter(customer=customer).update(marketing_consent_at=None)
    message = message_for(customer)
    with pytest.raises(ValidationError) as refused:
        offers.offer_attach(message=message, kind="discount", description="10% off")
    assert "has not agreed to marketing" in refused.value.message_dict["offer"][0]
    assert not Offer.objects.exists()
    message.refresh_from_db()
    assert not message.is_marketing


def test_an_offer_cannot_expire_in_the_past(customer, location):
    message = message_for(consenting(customer))
    with pytest.raises(ValidationError) as refused:
        offers.offer_attach(
            message=message,
            kind="discount",
            description="10% off",
            expires_on=location.local_today() - datetime.timedelta(days=1),
        )
    assert "expired already" in refused.value.message_dict["expires_on"][0]


def test_an_offer_runs_through_its_last_local_day_then_is_refused(customer, location, frontline, time_at):
    tz = location.tzinfo
    time_at(datetime.datetime(2026, 11, 2, 9, 0, tzinfo=tz))
    offer = sent_offer(customer, expires_on=datetime.date(2026, 11, 10))
    time_at(datetime.datetime(2026, 11, 11, 0, 1, tzinfo=tz))
    with pytest.raises(ValidationError) as refused:
        offers.offer_redeem(offer=offer, via=Offer.Via.TILL, by=frontline)
    assert refused.value.message_dict["code"] == [f"Code {offer.code} expired on 10 Nov 2026."]
    assert Offer.objects.get(pk=offer.pk).redeemed_at is None
    time_at(datetime.datetime(2026, 11, 10, 23, 59, tzinfo=tz))
    assert offers.offer_redeem(offer=offer, via=Offer.Via.TILL, by=frontline).is_redeemed


def test_an_offer_whose_message_never_went_cannot_be_redeemed(customer, frontline):
    message = message_for(consenting(customer))
    offer = offers.offer_attach(message=message, kind="discount", description="10% off")
    with pytest.raises(ValidationError) as refused:
        offers.offer_redeem(offer=offer, via=Offer.Via.TILL, by=frontline)
    assert "has not been sent" in refused.value.message_dict["code"][0]


def test_staff_redeem_a_code_once_at_the_till_from_the_search_page(client, frontline, customer, location):
    offer = sent_offer(customer)
    client.force_login(frontline)
    page = client.get(reverse("offer-search"), {"code": offer.code.lower().replace("-", "")})
    assert page.status_code == 200
    assert offer.description in page.content.decode() and "Redeem at the till" in page.content.decode()
    response = client.post(reverse("offer-redeem", args=[offer.pk]), {"via": "till"})
    assert response.status_code == 302
    offer.refresh_from_db()
    assert (offer.redeemed_via, offer.redeemed_by, offer.redeemed_location) == ("till", frontline, location)
    first = offer.redeemed_at
    again = client.post(reverse("offer-redeem", args=[offer.pk]), {"via": "till"})
    assert again.status_code == 200
    assert "was already redeemed on" in again.content.decode() and "it can be used once" in again.content.decode()
    offer.refresh_from_db()
    assert offer.redeemed_at == first


def test_the_search_page_says_clearly_when_no_offer_has_the_code(client, frontline, django_assert_max_num_queries):
    client.force_login(frontline)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("offer-search"), {"code": "ABCDE-FGHJK"})
    assert page.status_code == 200
    assert "No offer has the code ABCDE-FGHJK" in page.content.decode()
    short = client.get(reverse("offer-search"), {"code": "ABC"})
    assert "A code has 10 letters and digits" in short.content.decode()


def test_the_search_page_runs_a_constant_number_of_queries(client, frontline, customer, django_assert_max_num_queries):
    offer = sent_offer(customer)
    client.force_login(frontline)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("offer-search"), {"code": offer.code}).status_code == 200


def test_a_frontline_member_does_not_find_another_locations_offer(client, frontline, other_customer):
    offer = sent_offer(other_customer)
    client.force_login(frontline)
    page = client.get(reverse("offer-search"), {"code": offer.code})
    assert "No offer has the code" in page.content.decode()
    assert client.post(reverse("offer-redeem", args=[offer.pk]), {"via": "till"}).status_code == 404
    assert Offer.objects.get(pk=offer.pk).redeemed_at is None


def test_the_customer_page_shows_the_offer_and_its_code_form(client, frontline, customer):
    offer = sent_offer(customer)
    client.force_login(frontline)
    page = client.get(reverse("customer-detail", args=[customer.pk])).content.decode()
    assert offer.code in page and offer.description in page and "Check in &amp; redeem" in page


def test_the_code_typed_on_the_customer_page_is_redeemed_once(client, frontline, customer):
    offer = sent_offer(customer)
    client.force_login(frontline)
    url = reverse("customer-offer-redeem", args=[customer.pk])
    response = client.post(url, {"code": offer.code.lower(), "via": "till"})
    assert response.status_code == 302 and response.url.endswith("#offers")
    assert Offer.objects.get(pk=offer.pk).redeemed_via == "till"
    again = client.post(url, {"code": offer.code, "via": "till"})
    assert again.status_code == 200
    assert "was already redeemed on" in again.content.decode()


def test_a_code_of_someone_else_is_refused_beside_the_field(client, frontline, customer, location):
    someone = CustomerFactory(first_name="Bo", home_location=location)
    offer = sent_offer(someone)
    client.force_login(frontline)
    response = client.post(reverse("customer-offer-redeem", args=[customer.pk]), {"code": offer.code, "via": "till"})
    assert response.status_code == 200
    assert f"No offer of Anna&#x27;s has the code {offer.code}" in response.content.decode()
    assert Offer.objects.get(pk=offer.pk).redeemed_at is None


def test_check_in_and_redeem_records_the_visit_and_the_redemption_on_it(client, frontline, customer, location):
    offer = sent_offer(customer)
    client.force_login(frontline)
    response = client.post(reverse("offer-redeem", args=[offer.pk]), {"via": "check_in", "back": "customer"})
    assert response.status_code == 302
    visit = Interaction.objects.get(customer=customer, kind="visit")
    offer.refresh_from_db()
    assert offer.redeemed_via == "check_in"
    assert offer.redeemed_interaction == visit
    assert offer.redeemed_location == location == visit.location
    client.post(reverse("offer-redeem", args=[offer.pk]), {"via": "check_in", "back": "customer"})
    assert Interaction.objects.filter(customer=customer, kind="visit").count() == 1
    assert Offer.objects.get(pk=offer.pk).redeemed_interaction == visit


def test_an_expired_code_at_check_in_records_no_visit(frontline, customer, location, time_at):
    tz = location.tzinfo
    time_at(datetime.datetime(2026, 11, 2, 9, 0, tzinfo=tz))
    offer = sent_offer(customer, expires_on=datetime.date(2026, 11, 3))
    time_at(datetime.datetime(2026, 11, 20, 9, 0, tzinfo=tz))
    with pytest.raises(ValidationError):
        offers.offer_redeem_at_check_in(offer=offer, staff=frontline)
    assert not Interaction.objects.filter(customer=customer).exists()


def test_a_stale_copy_of_an_offer_cannot_redeem_it_twice(frontline, customer):
    offer = sent_offer(customer)
    stale = Offer.objects.get(pk=offer.pk)
    offers.offer_redeem(offer=offer, via=Offer.Via.TILL, by=frontline)
    with pytest.raises(ValidationError, match="already redeemed"):
        offers.offer_redeem(offer=stale, via=Offer.Via.CHECK_IN, by=frontline)
    assert Offer.objects.get(pk=offer.pk).redeemed_via == "till"


def _check(raw: bytes):
    return importer.check(raw, options={})


def _commit(plan) -> dict:
    return importer.commit(plan, user=None)


def _purchases(*rows: str) -> bytes:
    return ("email,date,touchpoint,amount,receipt,offer code\n" + "\n".join(rows) + "\n").encode()


def test_an_imported_purchase_carrying_the_code_redeems_it_on_that_purchase(customer, location):
    offer = sent_offer(customer)
    day = location.local_today()
    plan = _check(_purchases(f"{customer.email},{day},in-store,120.00,R-1001,{offer.code.lower()}"))
    assert plan.is_valid, plan.bad_rows
    result = _commit(plan)
    assert result["imported"] == 1 and result["offers_redeemed"] == 1 and result["offer_codes_refused"] == []
    purchase = Interaction.objects.get(external_ref="R-1001")
    offer.refresh_from_db()
    assert offer.redeemed_via == "import"
    assert offer.redeemed_interaction == purchase
    assert offer.redeemed_at == purchase.occurred_at
    assert offer.redeemed_by is None and offer.redeemed_location == location
    # The same file again adds nothing and redeems nothing.
    assert _commit(_check(_purchases(f"{customer.email},{day},in-store,120.00,R-1001,{offer.code}")))["imported"] == 0


def test_a_second_purchase_with_a_used_code_is_imported_and_the_code_refused_by_line(customer, location):
    offer = sent_offer(customer)
    day = location.local_today()
    _commit(_check(_purchases(f"{customer.email},{day},in-store,50,R-1,{offer.code}")))
    result = _commit(
        _check(
            _purchases(
                f"{customer.email},{day},in-store,30,R-2,{offer.code}", f"{customer.email},{day},in-store,5,R-3,"
            )
        )
    )
    assert result["imported"] == 2 and result["offers_redeemed"] == 0
    assert len(result["offer_codes_refused"]) == 1
    assert result["offer_codes_refused"][0].startswith(f"Line 2: Code {offer.code} was already redeemed on")
    said = importer.done_message(result)
    assert "0 offer codes redeemed. Not redeemed: Line 2: Code" in said
    assert Offer.objects.get(pk=offer.pk).redeemed_interaction == Interaction.objects.get(external_ref="R-1")


def test_an_imported_code_of_another_customer_is_refused(customer, location):
    offer = sent_offer(CustomerFactory(home_location=location))
    result = _commit(_check(_purchases(f"{customer.email},{location.local_today()},in-store,50,R-9,{offer.code}")))
    assert result["imported"] == 1 and result["offers_redeemed"] == 0
    assert result["offer_codes_refused"] == [f"Line 2: no offer of this customer has the code {offer.code!r}."]
    assert Offer.objects.get(pk=offer.pk).redeemed_at is None


def test_an_import_whose_code_expired_before_the_purchase_is_refused_but_one_before_expiry_counts(
    customer, location, time_at
):
    tz = location.tzinfo
    time_at(datetime.datetime(2026, 10, 1, 9, 0, tzinfo=tz))
    offer = sent_offer(customer, expires_on=datetime.date(2026, 10, 10))
    time_at(datetime.datetime(2026, 10, 20, 9, 0, tzinfo=tz))
    late = _commit(_check(_purchases(f"{customer.email},2026-10-11,in-store,50,R-5,{offer.code}")))
    assert late["offer_codes_refused"] == [f"Line 2: Code {offer.code} expired on 10 Oct 2026."]
    # Bought on the last day, sent in late by the till: it counts.
    on_time = _commit(_check(_purchases(f"{customer.email},2026-10-10,in-store,50,R-6,{offer.code}")))
    assert on_time["offers_redeemed"] == 1


def test_offers_are_in_the_customers_privacy_export(customer):
    from customers.privacy import customer_export

    offer = sent_offer(customer)
    exported = customer_export(customer)["offers"]
    assert exported == [
        {
            "code": offer.code,
            "kind": "A discount",
            "description": offer.description,
            "valid_until": offer.expires_on.isoformat(),
            "redeemed_at": None,
        }
    ]


def test_a_manager_elsewhere_may_redeem_through_the_all_locations_view(client, other_customer, other_location):
    manager = UserFactory(role="manager", username="max", locations=[other_location])
    offer = sent_offer(other_customer)
    client.force_login(manager)
    assert client.post(reverse("offer-redeem", args=[offer.pk]), {"via": "till"}).status_code == 302
    assert Offer.objects.get(pk=offer.pk).redeemed_location == other_location


def test_an_unsent_offer_shows_as_not_sent_on_the_search_page(client, frontline, customer):
    message = message_for(consenting(customer))
    offer = offers.offer_attach(message=message, kind="discount", description="10% off")
    client.force_login(frontline)
    page = client.get(reverse("offer-search"), {"code": offer.code}).content.decode()
    assert "Not sent" in page and "has not been sent" in page
    mark_sent(message)
    assert Message.objects.get(pk=message.pk).state == "sent"


def test_a_till_sending_a_purchase_with_the_code_through_the_api_redeems_it(client, customer, location, manager):
    import json

    from journeys.services_manage import api_token_create

    offer = sent_offer(customer)
    token = api_token_create(name="Till", by=manager)[1]
    record = {
        "email": customer.email,
        "occurred_at": timezone.localtime(timezone.now(), location.tzinfo).strftime("%Y-%m-%dT%H:%M:%S"),
        "touchpoint": "in-store",
        "amount": "89.00",
        "external_ref": "TILL-77",
        "location": location.name,
        "offer_code": offer.code,
    }
    response = client.post(
        reverse("api-interactions"),
        json.dumps(record),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201
    offer.refresh_from_db()
    assert offer.redeemed_via == "import" and offer.redeemed_interaction_id == response.json()["id"]


def test_the_import_command_redeems_a_code_carried_by_a_purchase(customer, location, tmp_path):
    from django.core.management import call_command

    offer = sent_offer(customer)
    path = tmp_path / "till.csv"
    path.write_bytes(_purchases(f"{customer.email},{location.local_today()},in-store,40,R-77,{offer.code}"))
    call_command("import_interactions", str(path))
    assert Offer.objects.get(pk=offer.pk).redeemed_interaction == Interaction.objects.get(external_ref="R-77")


@pytest.mark.django_db(transaction=True)
def test_two_tills_redeeming_the_same_code_at_the_same_moment_redeem_it_once(frontline, manager, customer):
    import threading

    from django.db import connection

    offer = sent_offer(customer)
    barrier = threading.Barrier(2)
    results = []

    def redeem(staff):
        try:
            barrier.wait(timeout=30)
            offers.offer_redeem(offer=offer, via=Offer.Via.TILL, by=staff)
            results.append("redeemed")
        except ValidationError as error:
            results.append(error.message_dict["code"][0])
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(staff,)) for staff in (frontline, manager)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results.count("redeemed") == 1
    assert any("already redeemed" in result for result in results)


def test_registering_the_apps_again_connects_each_receiver_and_slot_once(frontline, customer, location):
    """Check-in and imported codes are customers signals with a dispatch_uid, the measured rates a slot:
    a second ready() (a reloaded module) adds nothing twice."""
    from customers import extensions, signals
    from journeys import customer_page as journeys_page
    from outreach import offer_page

    before = (len(signals.check_in_asked.receivers), len(signals.offer_codes_imported.receivers))
    journeys_page.register()
    offer_page.register()
    assert (len(signals.check_in_asked.receivers), len(signals.offer_codes_imported.receivers)) == before
    assert [slot.name for slot in extensions.slots.touchpoint_figures] == ["outreach.email"]
    offer = sent_offer(customer)
    redeemed, visit = offers.offer_redeem_at_check_in(offer=offer, staff=frontline)
    assert redeemed.redeemed_interaction == visit and visit.kind == "visit"
    day = location.local_today()
    result = _commit(_check(_purchases(f"{customer.email},{day},in-store,9,R-9,{offer.code}")))
    assert result["offers_redeemed"] == 0 and len(result["offer_codes_refused"]) == 1


@pytest.mark.parametrize("role", ["frontline", "manager", "owner"])
def test_every_role_that_redeems_finds_offers_in_the_menu_next_to_cards(client, location, role):
    client.force_login(UserFactory(role=role, locations=[location]))
    labels = [item["label"] for item in client.get(reverse("home")).context["nav_items"]]
    assert labels[labels.index("Cards") + 1] == "Offers"
    assert f'href="{reverse("offer-search")}"' in client.get(reverse("home")).content.decode()
