"""The business's name, currency and default time zone: seeded from the environment, then an owner's to edit."""

from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core import mail
from django.template import Context, Template
from django.urls import reverse

from crm.kernel import business, services
from crm.kernel.models import BusinessSettings, Location
from crm.kernel.templatetags.crm_tags import money

pytestmark = pytest.mark.postgres


def test_migrate_seeds_the_row_from_the_environment(db):
    row = BusinessSettings.objects.get()
    assert (row.name, row.currency, row.timezone) == ("Clearview Optics", "USD", "America/New_York")


def test_the_environment_seeds_the_row_again_if_it_is_missing(db, settings):
    BusinessSettings.objects.all().delete()
    settings.BUSINESS_NAME = "Corner Books"
    settings.BUSINESS_CURRENCY = "GBP"
    settings.BUSINESS_TIMEZONE = "Europe/London"
    assert business.current() == business.Business(name="Corner Books", currency="GBP", timezone="Europe/London")
    row = BusinessSettings.objects.get()
    assert (row.name, row.currency, row.timezone) == ("Corner Books", "GBP", "Europe/London")


def test_once_seeded_the_environment_no_longer_decides(db, settings, owner):
    business.current()
    services.business_settings_save(by=owner, name="Lumen Eyewear", currency="EUR", timezone="Europe/Paris")
    settings.BUSINESS_NAME = "Something else"
    settings.BUSINESS_CURRENCY = "JPY"
    assert business.current().name == "Lumen Eyewear"
    assert business.current().currency == "EUR"


def test_money_uses_the_stored_currency_and_the_cache_is_dropped_on_save(db, owner, django_assert_num_queries):
    assert money(Decimal("20")) == "$20.00"
    with django_assert_num_queries(0):
        for _ in range(50):
            money(Decimal("1250"))
    services.business_settings_save(by=owner, name="Zürich Optik", currency="CHF", timezone="Europe/Zurich")
    assert money(Decimal("1250")) == "1,250.00 CHF"
    services.business_settings_save(by=owner, name="Zürich Optik", currency="EUR", timezone="Europe/Zurich")
    assert money(Decimal("-5")) == "-€5.00"


def test_a_new_location_starts_in_the_business_time_zone(db, owner):
    services.business_settings_save(by=owner, name="Kiwi Coffee", currency="NZD", timezone="Pacific/Auckland")
    assert Location(name="Ponsonby").timezone == "Pacific/Auckland"


def test_the_navigation_and_the_digest_email_name_the_stored_business(db, time_at, owner, frontline):
    import datetime

    from crm.inbox import digests
    from crm.inbox.context_processors import site
    from crm.inbox.models import Notification

    services.business_settings_save(by=owner, name="Kiwi Coffee", currency="NZD", timezone="Pacific/Auckland")

    class Request:
        user = owner

    assert Template("{{ business_name }}").render(Context(site(Request()))) == "Kiwi Coffee"
    Notification.objects.create(
        recipient=frontline, kind="message", occurrence=datetime.date(2026, 11, 22), title="Call Ben", url="/x/"
    )
    time_at(datetime.datetime(2026, 11, 22, 13, 1, tzinfo=datetime.UTC))  # 8:01 in New York
    for digest_id in digests.digests_due():
        digests.digest_send(digest_id=digest_id)
    [email] = [sent for sent in mail.outbox if sent.to == [frontline.email]]
    assert email.subject.startswith("Today at Kiwi Coffee:")
    assert "Kiwi Coffee CRM" in email.body


def test_an_owner_edits_the_business_on_its_page_and_it_is_audited(client, owner):
    client.force_login(owner)
    page = client.get(reverse("business-settings"))
    assert page.status_code == 200
    assert b"Business" in page.content
    response = client.post(
        reverse("business-settings"),
        {"name": "Lumen Eyewear", "currency": "EUR", "timezone": "Europe/Paris", "track_email": "on"},
    )
    assert response.status_code == 302
    assert business.current() == business.Business(name="Lumen Eyewear", currency="EUR", timezone="Europe/Paris")
    home = client.get(reverse("home"))
    assert "Lumen Eyewear" in home.content.decode()
    entry = LogEntry.objects.get_for_model(BusinessSettings).latest("timestamp")
    assert entry.actor == owner
    assert entry.changes_dict["currency"] == ["USD", "EUR"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "  ", "currency": "USD", "timezone": "Europe/Paris"}, "name", "This field is required."),
        ({"name": "Shop", "currency": "XYZ", "timezone": "Europe/Paris"}, "currency", "not one of the available"),
        ({"name": "Shop", "currency": "usd", "timezone": "Europe/Paris"}, "currency", "not one of the available"),
        ({"name": "Shop", "currency": "USD", "timezone": "Mars/Olympus"}, "timezone", "not one of the available"),
        ({"name": "x" * 121, "currency": "USD", "timezone": "Europe/Paris"}, "name", "at most 120 characters"),
    ],
)
def test_bad_business_settings_are_refused_beside_the_field(client, owner, data, field, message):
    client.force_login(owner)
    before = business.current()
    response = client.post(reverse("business-settings"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field])
    assert f'id="error_1_id_{field}"' in response.content.decode()
    business.forget()
    assert business.current() == before


def test_the_business_page_has_constant_queries(client, owner, django_assert_max_num_queries):
    client.force_login(owner)
    client.get(reverse("business-settings"))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("business-settings")).status_code == 200


def test_only_owners_see_business_in_the_menu(client, manager, owner):
    client.force_login(manager)
    assert reverse("business-settings") not in client.get(reverse("home")).content.decode()
    client.force_login(owner)
    assert reverse("business-settings") in client.get(reverse("home")).content.decode()


def test_authenticator_apps_name_the_stored_business(db, owner):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    services.business_settings_save(by=owner, name="Lumen Eyewear", currency="EUR", timezone="Europe/Paris")
    device = TOTPDevice.objects.create(user=owner, name="phone", confirmed=False)
    assert "issuer=Lumen%20Eyewear%20CRM" in device.config_url


def test_the_lists_offer_real_places_and_currencies_in_use():
    from crm.kernel.models import currency_choices, timezone_choices

    zones = [name for name, _label in timezone_choices()]
    assert "America/New_York" in zones and "Europe/Berlin" in zones and "UTC" in zones
    assert not {"Factory", "localtime"} & set(zones)
    codes = [code for code, _label in currency_choices()]
    assert {"USD", "EUR", "GBP", "JPY", "CHF", "XOF"} <= set(codes)
    assert not {"ADP", "XTS", "XAU", "DEM"} & set(codes)
