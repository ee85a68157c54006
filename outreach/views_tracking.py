"""The tracking image and the tracked links of sent emails: public, no login, never a 500 (a bad token is a 404)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from outreach import tracking


@login_not_required
@never_cache
@require_GET
def email_open(request, token: str):
    """The 1x1 image an email loads: count the first open, return a transparent GIF."""
    message_id = tracking.read_open_token(token)
    if message_id is None:
        raise Http404("No such image")
    tracking.open_record(message_id=message_id)
    return HttpResponse(tracking.PIXEL, content_type="image/gif")


@login_not_required
@never_cache
@require_GET
def email_click(request, token: str):
    """A tracked link: count the first click, then go where the email pointed (only there)."""
    found = tracking.read_click_token(token)
    if found is None:
        raise Http404("No such link")
    url = tracking.click_record(message_id=found[0], index=found[1])
    if url is None:
        raise Http404("No such link")
    return HttpResponseRedirect(url)
