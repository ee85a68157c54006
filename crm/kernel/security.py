"""Login safety: client addresses, idle sessions and the two-factor step.

django-axes counts failed logins (settings.AXES_*); django-otp checks the codes. This module
only decides when a signed-in session must show a code first, and keeps idle sessions short.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from auditlog.cid import set_cid
from auditlog.middleware import AuditlogMiddleware as _AuditlogMiddleware
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django_otp import user_has_device

from crm.kernel import roles

# Session keys.
TWO_FACTOR_PENDING = "two_factor_pending"  # a code is needed before anything else
TWO_FACTOR_SETUP_REQUIRED = "two_factor_setup_required"  # an owner must set up a device first
LAST_SEEN = "last_seen"

# Pages a session waiting for its code may still open.
OPEN_DURING_TWO_FACTOR = {"two-factor-verify", "two-factor-setup", "logout", "healthz", "login"}
# How often an active session's expiry is pushed back (a session write at most this often).
TOUCH_EVERY_SECONDS = 60
POLICY_CACHE_KEY = "crm:security-policy"


def client_ip(request: HttpRequest) -> str | None:
    """Return the client's address; behind a trusted proxy, the address that proxy saw.

    The proxy appends the address it saw to X-Forwarded-For, so the last entry is the one to
    trust: anything before it was sent by the client and may be forged.
    """
    if settings.TRUST_PROXY_HEADERS:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return request.META.get("REMOTE_ADDR")


# The request being served, for the audit entries it writes (AuditlogMiddleware, _fill_from_request).
_audited_request: ContextVar[tuple | None] = ContextVar("crm_audited_request", default=None)


class AuditlogMiddleware(_AuditlogMiddleware):
    """django-auditlog's middleware, recording the address client_ip trusts (not a forged header).

    auditlog's own connects a pre_save receiver for LogEntry on every request and disconnects it after
    (each taking the signal's lock and clearing its receiver cache), and works out the address and port
    even when the page writes no entry, as most do not. Here one receiver, connected once, fills an entry
    from the request (and its actor) noted in a context variable, when an entry is saved.
    """

    def __call__(self, request):
        set_cid(request)
        # The actor as the request began (as auditlog's did), so a login or logout view does not change it.
        token = _audited_request.set((request, self._get_actor(request)))
        try:
            return self.get_response(request)
        finally:
            _audited_request.reset(token)

    @staticmethod
    def _get_remote_addr(request):
        return client_ip(request)


@receiver(pre_save, sender=LogEntry, dispatch_uid="crm-audit-entry-from-request")
def _fill_from_request(sender, instance, **kwargs) -> None:
    """Put the signed-in user, their address and port on an audit entry written while serving a request."""
    audited = _audited_request.get()
    if audited is None:
        return
    request, actor = audited
    if actor is not None and instance.actor is None:
        instance.actor = actor
        instance.actor_email = getattr(actor, "email", None)
    instance.remote_addr = AuditlogMiddleware._get_remote_addr(request)
    instance.remote_port = AuditlogMiddleware._get_remote_port(request)


def owners_must_use_two_factor() -> bool:
    """Whether the business requires two-factor for owners, read at each login through the shared cache.

    Every web machine reads the one cache (crm/settings.py CACHES) and saving the policy deletes the
    key (crm.kernel.services.security_policy_save), so a change is seen everywhere at once, not after a delay.
    """
    from crm.kernel.models import SecurityPolicy

    required = cache.get(POLICY_CACHE_KEY)
    if required is None:
        required = SecurityPolicy.current().require_owner_two_factor
        cache.set(POLICY_CACHE_KEY, required, 300)
    return required


def may_use_two_factor(user) -> bool:
    return roles.is_manager_or_owner(user)


@receiver(user_logged_in)
def start_session(sender, request, user, **kwargs) -> None:
    """At login, note whether this session must pass the two-factor step first."""
    if request is None or not hasattr(request, "session"):
        return
    request.session[LAST_SEEN] = int(time.time())
    if user_has_device(user, confirmed=True):
        request.session[TWO_FACTOR_PENDING] = True
    elif roles.is_owner(user) and owners_must_use_two_factor():
        request.session[TWO_FACTOR_SETUP_REQUIRED] = True


class TwoFactorMiddleware:
    """Send a session that still owes its code (or an owner's device) to the two-factor pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            pending = session.get(TWO_FACTOR_PENDING) and not request.user.is_verified()
            setup = session.get(TWO_FACTOR_SETUP_REQUIRED)
            if (pending or setup) and not self._open(request):
                url = reverse("two-factor-verify" if pending else "two-factor-setup")
                if request.method != "GET":
                    return redirect(url)
                # Back to the page asked for once the code is given (next=, encoded as for the login page).
                return redirect_to_login(request.get_full_path(), url)
        return self.get_response(request)

    @staticmethod
    def _open(request) -> bool:
        if request.path.startswith(settings.STATIC_URL):
            return True
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return True  # a 404 reveals nothing
        return match.url_name in OPEN_DURING_TWO_FACTOR


# Requests a page makes by itself (polling), which are not someone using the computer.
BACKGROUND_URL_NAMES = {"inbox-badge"}


class IdleSessionMiddleware:
    """Push an active session's expiry back, at most once a minute, on requests a person made.

    The session ends SESSION_COOKIE_AGE seconds after the last such request (SESSION_IDLE_MINUTES),
    so a shop computer left signed in locks itself even with a page open that polls the server.
    Writing the session only once a minute keeps pages from paying for a write on every request.
    When an in-page (htmx) request finds the session over, the whole page goes to the login page
    instead of the login form being swapped into a corner of the page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is None:
            return self.get_response(request)
        if request.user.is_authenticated:
            now = int(time.time())
            last_seen = session.get(LAST_SEEN)
            if last_seen is not None and now - last_seen >= settings.SESSION_COOKIE_AGE:
                # Idle too long: ended here, whatever the session store's own expiry says (a session read
                # from the cache is not checked against its row's expire_date), as if the row had expired.
                session.flush()
                request.user = AnonymousUser()
            elif now - (last_seen or 0) >= TOUCH_EVERY_SECONDS and not self._background(request):
                session[LAST_SEEN] = now  # marks the session modified: saved with a new expiry
        if not request.user.is_authenticated and request.headers.get("HX-Request"):
            login = reverse(settings.LOGIN_URL)
            if request.path != login:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = login
                return response
        return self.get_response(request)

    @staticmethod
    def _background(request) -> bool:
        try:
            return resolve(request.path_info).url_name in BACKGROUND_URL_NAMES
        except Resolver404:
            return False
