"""Answer a friendly 503 while the database is unreachable, never a 500.

A request that meets a dropped or refused database connection rolls back whole
(ATOMIC_REQUESTS), so nothing is half-saved and the user can simply try again:
say so, with Retry-After, in a page that needs no database to render.
"""

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.views import defaults

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 10


def database_unavailable() -> HttpResponse:
    """The 503 page: rendered without the request, so no context processor touches the database.

    The stylesheet is linked by its plain name (collectstatic keeps it beside the hashed copy), so
    the page cannot fail on a missing manifest entry: it must render whatever else is wrong.
    """
    page = loader.render_to_string("503.html", {"stylesheet": f"{settings.STATIC_URL}css/app.css"})
    response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Turn a database outage met by a view (or its transaction's commit) into the 503 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            logger.warning("Database unavailable during %s %s: %s", request.method, request.path, exception)
            return database_unavailable()
        return None


def bad_request(request, exception):
    """handler400: the 400 page, saying why when the view gave a reason for the person (RequestRefused)."""
    from django.shortcuts import render

    from crm.kernel.forms import RequestRefused

    message = str(exception) if isinstance(exception, RequestRefused) else ""
    return render(request, "400.html", {"message": message}, status=400)


def server_error(request):
    """handler500: an outage met outside a view (loading the session or user in a middleware) is a 503 too.

    Django calls this inside its except block, so sys.exc_info() is the error.
    """
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable()
    return defaults.server_error(request)


class ReadAheadMiddleware:
    """Read the signed-in user's cached keys (row, permissions, locations, unread count, settings) in one MGET.

    Placed after SessionMiddleware: the session names the user; the rest of the request reads each of those
    keys from what was read ahead (crm.kernel.cache.reading_ahead) instead of a round trip to Redis each.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.contrib.auth import SESSION_KEY, get_user_model
        from django.core.exceptions import ValidationError

        from crm.kernel.cache import reading_ahead

        session = getattr(request, "session", None)
        user_pk = None
        if session is not None and session.session_key:
            try:
                user_pk = get_user_model()._meta.pk.to_python(session.get(SESSION_KEY))
            except ValidationError:
                user_pk = None
        with reading_ahead(user_pk):
            return self.get_response(request)
