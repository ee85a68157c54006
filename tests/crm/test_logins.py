"""Logins: argon2, lockouts after repeated failures, idle sessions, and two-factor codes."""

import datetime

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from django.test import override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.kernel.models import SecurityPolicy
from tests.crm.factories import UserFactory

PASSWORD = "a long shop password"
START = datetime.datetime(2026, 11, 22, 9, 0, tzinfo=datetime.UTC)


def log_in(client, username, password=PASSWORD, ip="198.51.100.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def with_password(role: str, username: str, location):
    user = UserFactory(role=role, username=username, locations=[location])
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def staff(location):
    return with_password("frontline", "sam", location)


def _totp_at(device, t):
    from django_otp.oath import TOTP

    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = t
    return f"{generator.token():0{device.digits}d}"


def test_new_passwords_are_hashed_with_argon2(settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    assert make_password("whatever it is").startswith("argon2$")


def test_the_project_puts_argon2_first():
    from crm import settings as project_settings

    assert project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_a_short_or_common_password_is_refused_on_change(client, staff):
    client.post(reverse("login"), {"username": "sam", "password": PASSWORD})
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "password1", "new_password2": "password1"},
    )
    errors = response.context["form"].errors["new_password2"]
    assert any("too short" in e for e in errors) and any("too common" in e for e in errors)


# --- brute force -------------------------------------------------------------


def test_five_wrong_passwords_lock_that_name_on_that_address(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "sam", "wrong").status_code == 200
    locked = log_in(client, "sam", "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # Even the right password is refused while locked.
    assert log_in(client, "sam").status_code == 429
    # Another computer (address) may still log in as sam: one shared till cannot lock everyone out.
    assert log_in(client, "sam", ip="198.51.100.99").status_code == 302


def test_a_lockout_ends_after_the_cool_off(client, staff, settings, time_at):
    time_at(START)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "sam", "wrong")
    assert log_in(client, "sam").status_code == 429
    time_at(START + settings.AXES_COOLOFF_TIME + datetime.timedelta(minutes=1))
    assert log_in(client, "sam").status_code == 302


def test_an_owner_unlocks_a_locked_login(client, staff, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "sam", "wrong")
    attempt = AccessAttempt.objects.get(username="sam")

    from django.test import Client

    owner_client = Client()
    owner_client.force_login(owner)
    page = owner_client.get(reverse("security")).content.decode()
    assert "sam" in page and "Unlock" in page
    assert owner_client.post(reverse("lockout-unlock", kwargs={"pk": attempt.pk})).status_code == 302
    assert not AccessAttempt.objects.filter(username="sam").exists()
    assert log_in(client, "sam").status_code == 302


# --- idle sessions -----------------------------------------------------------


def test_a_session_ends_after_thirty_idle_minutes(client, staff, time_at, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    time_at(START)
    log_in(client, "sam")
    assert client.get(reverse("home")).status_code == 200
    time_at(START + datetime.timedelta(minutes=31))
    assert client.get(reverse("home")).url.startswith(reverse("login"))


def test_a_page_polling_by_itself_does_not_keep_the_session_open(client, staff, time_at):
    time_at(START)
    log_in(client, "sam")
    for minutes in (10, 20, 29):
        time_at(START + datetime.timedelta(minutes=minutes))
        assert client.get(reverse("inbox-badge"), HTTP_HX_REQUEST="true").status_code == 200
    time_at(START + datetime.timedelta(minutes=31))
    # The badge's next poll sends the whole page to the login page.
    expired = client.get(reverse("inbox-badge"), HTTP_HX_REQUEST="true")
    assert expired.status_code == 204
    assert expired["HX-Redirect"] == reverse("login")


def test_an_active_session_stays_open(client, staff, time_at):
    time_at(START)
    log_in(client, "sam")
    for minutes in (20, 40, 60, 80):
        time_at(START + datetime.timedelta(minutes=minutes))
        assert client.get(reverse("home")).status_code == 200


# --- two-factor --------------------------------------------------------------


def set_up_two_factor(client) -> TOTPDevice:
    client.get(reverse("two-factor-setup"))
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(reverse("two-factor-setup"), {"code": _totp_at(device, int(START.timestamp()))})
    assert response.status_code == 302, response.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    return device


@pytest.fixture
def manager_with_password(location):
    return with_password("manager", "max", location)


def test_a_manager_turns_on_two_factor_and_then_needs_a_code_at_login(client, manager_with_password, time_at):
    time_at(START)
    log_in(client, "max")
    page = client.get(reverse("two-factor-setup")).content.decode()
    assert "<svg" in page and "Key:" in page
    device = set_up_two_factor(client)
    client.post(reverse("logout"))

    time_at(START + datetime.timedelta(minutes=5))
    assert log_in(client, "max").status_code == 302
    # Every page sends the session to the code page until the code is given.
    blocked = client.get(reverse("customer-list"))
    assert blocked.url == reverse("two-factor-verify") + "?next=/customers/"
    wrong = client.post(reverse("two-factor-verify"), {"code": "000000"})
    assert "did not match" in wrong.content.decode()
    # Straight away, even the right code is refused: the message says to wait, not that it is wrong.
    hurried = client.post(reverse("two-factor-verify"), {"code": _totp_at(device, int(START.timestamp()) + 300)})
    assert "Too many wrong codes: wait 1 second," in hurried.content.decode()
    # django-otp throttles after a wrong code (1 s, then doubling): a guesser slows down.
    time_at(START + datetime.timedelta(minutes=5, seconds=1))
    now = int((START + datetime.timedelta(minutes=5, seconds=1)).timestamp())
    right = client.post(reverse("two-factor-verify"), {"code": _totp_at(device, now), "next": "/customers/"})
    assert right.url == "/customers/"
    assert client.get(reverse("customer-list")).status_code == 200


def test_frontline_staff_do_not_get_two_factor(client, staff):
    log_in(client, "sam")
    assert client.get(reverse("two-factor-setup")).status_code == 403


def test_owners_must_set_up_two_factor_once_the_business_requires_it(client, location, time_at):
    from django.core.cache import cache

    with_password("owner", "ola", location)
    time_at(START)
    log_in(client, "ola")
    # Not before the owner has a device: they would lock themselves out.
    refused = client.post(reverse("security"), {"require_owner_two_factor": "on"})
    assert "Set up two-factor on your own account first" in refused.content.decode()
    set_up_two_factor(client)
    assert client.post(reverse("security"), {"require_owner_two_factor": "on"}).status_code == 302
    assert SecurityPolicy.current().require_owner_two_factor

    second = with_password("owner", "otto", location)
    cache.clear()
    client.post(reverse("logout"))
    log_in(client, "otto")
    response = client.get(reverse("home"))
    assert response.url.startswith(reverse("two-factor-setup"))
    assert "requires two-factor for owners" in client.get(response.url).content.decode()
    # The owner cannot switch it off for themself while it is required.
    set_up_two_factor(client)
    client.post(reverse("two-factor-remove"))
    assert TOTPDevice.objects.filter(user=second, confirmed=True).exists()


def test_an_owner_resets_a_lost_authenticator(client, manager_with_password, owner, time_at):
    time_at(START)
    log_in(client, "max")
    set_up_two_factor(client)
    from django.test import Client

    owner_client = Client()
    owner_client.force_login(owner)
    response = owner_client.post(reverse("staff-two-factor-reset", kwargs={"pk": manager_with_password.pk}))
    assert response.status_code == 302, response
    assert not TOTPDevice.objects.filter(user=manager_with_password).exists()


@override_settings(TRUST_PROXY_HEADERS=True)
def test_behind_a_trusted_proxy_the_address_it_saw_is_the_client(rf):
    from crm.kernel.security import client_ip

    # The proxy appends what it saw; what comes before was sent by the client and may be forged.
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5", REMOTE_ADDR="10.0.0.1")
    assert client_ip(request) == "203.0.113.5"


@override_settings(TRUST_PROXY_HEADERS=True)
def test_a_forged_forwarded_address_does_not_dodge_the_lockout(client, staff, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("login"),
            {"username": "sam", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"10.9.9.{attempt}, 203.0.113.5",
        )
    response = client.post(
        reverse("login"), {"username": "sam", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="10.9.9.99, 203.0.113.5"
    )
    assert response.status_code == 429


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(rf):
    from crm.kernel.security import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.5", REMOTE_ADDR="10.0.0.1")
    assert client_ip(request) == "10.0.0.1"


@pytest.mark.redis
def test_signing_out_while_redis_fails_keeps_the_session_open_and_says_so_never_half_ended(
    client, staff, monkeypatch, settings
):
    """With cached_db sessions a sign-out that ended only the row would leave the copy in Redis, trusted on return."""
    from django.contrib.sessions.models import Session
    from redis.exceptions import ConnectionError as RedisConnectionError

    from crm.kernel.cache import KeptClientRedisCacheClient

    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    log_in(client, "sam")
    assert client.get("/").status_code == 200  # the session is now read from Redis
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value

    def unreachable(self, *args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with monkeypatch.context() as outage:
        outage.setattr(KeptClientRedisCacheClient, "delete", unreachable)
        refused = client.post(reverse("logout"))
    assert refused.status_code == 503 and refused["Retry-After"]
    assert "You are still signed in" in refused.content.decode()
    assert Session.objects.filter(session_key=cookie).exists()

    # Redis is back: the session is as the page said (still open), and signing out now ends it everywhere.
    assert client.get("/").status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=cookie).exists()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie  # the old cookie, kept by someone
    assert client.get("/").status_code == 302


@pytest.mark.redis
def test_without_the_refusal_the_row_would_go_and_redis_would_still_let_the_old_cookie_in(client, staff, settings):
    """What the refusal prevents: the cached copy of a session whose row is deleted is still trusted."""
    from django.contrib.sessions.models import Session

    log_in(client, "sam")
    assert client.get("/").status_code == 200
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    Session.objects.filter(session_key=cookie).delete()  # what a sign-out skipping Redis leaves behind
    assert client.get("/").status_code == 200
