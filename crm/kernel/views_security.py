"""Two-factor pages for staff, and the owner's Security page: policy, lockouts, audit trail."""

from __future__ import annotations

import datetime

import segno
from auditlog.models import LogEntry
from axes.models import AccessAttempt
from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.kernel import roles, security, services
from crm.kernel.access import require_perm
from crm.kernel.cache import forget_cached_session
from crm.kernel.forms import BusinessSettingsForm, FirstRunForm, LoginForm, SecurityPolicyForm, TwoFactorCodeForm
from crm.kernel.models import BusinessSettings, SecurityPolicy, User

AUDIT_PAGE_SIZE = 50


def _next_or(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path on this site only: redirect() would read a bare word ("0") as a URL name and fail.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# --- two-factor for the signed-in user --------------------------------------------------


def two_factor_verify(request):
    """Ask for the authenticator code after the password, when the user has a device."""
    device = TOTPDevice.objects.devices_for_user(request.user, confirmed=True).first()
    if device is None:
        request.session.pop(security.TWO_FACTOR_PENDING, None)
        return redirect(_next_or(request, "home"))
    form = TwoFactorCodeForm(request.POST or None, device=device, submit_label="Verify")
    if request.method == "POST" and form.is_valid():
        otp_login(request, device)
        request.session.pop(security.TWO_FACTOR_PENDING, None)
        return redirect(_next_or(request, "home"))
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": _next_or(request, "")})


def two_factor_setup(request):
    """Set up an authenticator app (managers and owners): scan the code, then confirm with one code."""
    user = request.user
    if not security.may_use_two_factor(user):
        raise PermissionDenied("Two-factor is for managers and owners.")
    confirmed = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    if confirmed is not None:
        required = roles.is_owner(user) and security.owners_must_use_two_factor()
        return render(request, "registration/two_factor_setup.html", {"confirmed": confirmed, "required": required})
    device = services.two_factor_device_for_setup(user=user)
    form = TwoFactorCodeForm(request.POST or None, device=device, submit_label="Turn on two-factor")
    if request.method == "POST" and form.is_valid():
        services.two_factor_confirm(device=device)
        otp_login(request, device)
        request.session.pop(security.TWO_FACTOR_SETUP_REQUIRED, None)
        request.session.pop(security.TWO_FACTOR_PENDING, None)
        messages.success(request, "Two-factor is on. Each login now asks for a code from your app.")
        return redirect(_next_or(request, "profile"))
    qr = segno.make(device.config_url, error="m")
    context = {
        "form": form,
        "qr_svg": qr.svg_inline(scale=5, border=2, dark="#1f4e5f"),
        "secret": _grouped(device.bin_key),
        "must": request.session.get(security.TWO_FACTOR_SETUP_REQUIRED, False),
        "next": _next_or(request, ""),
    }
    return render(request, "registration/two_factor_setup.html", context)


def _grouped(key: bytes) -> str:
    from base64 import b32encode

    text = b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@require_POST
def two_factor_remove(request):
    """Turn two-factor off for oneself (not for an owner while the business requires it)."""
    user = request.user
    if not security.may_use_two_factor(user):
        raise PermissionDenied("Two-factor is for managers and owners.")
    if roles.is_owner(user) and security.owners_must_use_two_factor():
        messages.error(request, "The business requires two-factor for owners, so it stays on.")
        return redirect("two-factor-setup")
    services.two_factor_remove(user=user)
    messages.success(request, "Two-factor is off for your account.")
    return redirect("profile")


# --- the owner's Security page ----------------------------------------------------------


@require_perm("crm.manage_security")
def security_page(request):
    """Policy, locked-out logins, and each member of staff's two-factor state."""
    policy = SecurityPolicy.current()
    has_device = TOTPDevice.objects.devices_for_user(request.user, confirmed=True).exists()
    form = SecurityPolicyForm(request.POST or None, instance=policy, owner_has_device=has_device)
    if request.method == "POST" and form.is_valid():
        services.security_policy_save(policy=form.save(commit=False), by=request.user)
        messages.success(request, "Security policy saved.")
        return redirect("security")
    lockouts = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT).order_by(
        "-attempt_time"
    )[:100]
    staff = (
        User.objects.filter(is_active=True)
        .annotate(has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .prefetch_related("groups")
        .order_by("first_name", "last_name", "username")
    )
    context = {
        "form": form,
        "lockouts": lockouts,
        "staff": staff,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    return render(request, "crm/security.html", context)


@require_perm("crm.manage_business")
def business_settings(request):
    """The business's name, currency and default time zone for new locations (owners)."""
    form = BusinessSettingsForm(request.POST or None, instance=BusinessSettings.current())
    if request.method == "POST" and form.is_valid():
        services.business_settings_save(by=request.user, **{name: form.cleaned_data[name] for name in form.Meta.fields})
        messages.success(request, "Business settings saved.")
        return redirect("business-settings")
    return render(request, "crm/business_settings.html", {"form": form})


@login_not_required
@never_cache
def first_run(request):
    """Set up a fresh install (no owner yet): the business, the first location and the first owner, then log in.

    Once any owner exists this page does not exist (404), so it cannot be used to take over an install.
    """
    if roles.owner_exists():
        raise Http404("This install is set up.")
    form = FirstRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items() if name != "password_again"}
        try:
            owner = services.first_run_complete(**fields)
        except services.FirstRunClosed:
            raise Http404("This install is set up.") from None
        except ValidationError as error:
            form.add_error(None, error.messages)
            return render(request, "registration/first_run.html", {"form": form})
        auth_login(request, owner, backend="crm.kernel.permissions.StaffModelBackend")
        messages.success(request, f"Welcome, {owner.first_name}. {form.cleaned_data['business_name']} is set up.")
        return redirect("home")
    return render(request, "registration/first_run.html", {"form": form})


@require_POST
@require_perm("crm.manage_security")
def lockout_unlock(request, pk: int):
    attempt = get_object_or_404(AccessAttempt, pk=pk)
    services.lockout_unlock(attempt=attempt, by=request.user)
    messages.success(request, f"{attempt.username or 'That login'} can try again now.")
    return redirect("security")


@require_POST
@require_perm("crm.manage_security")
def staff_two_factor_reset(request, pk: int):
    """Remove a member of staff's authenticator (a lost phone); they set it up again at next login."""
    member = get_object_or_404(User, pk=pk, is_active=True)
    if services.two_factor_remove(user=member, by=request.user):
        messages.success(request, f"Two-factor removed for {member}. They can set it up again from their profile.")
    return redirect("security")


@require_perm("crm.manage_security")
def audit_log(request):
    """The audit trail, newest first, for one member of staff or one customer, or everyone."""
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    actor = customer = None
    if request.GET.get("staff"):
        actor = get_object_or_404(User, pk=_int_or_404(request.GET["staff"]))
        entries = entries.filter(actor=actor)
    if request.GET.get("customer"):
        # Owners see every location's customers, erased ones included: their trail outlives them.
        # Named through the app registry: the kernel imports no domain app (README "Layout").
        customer_model = apps.get_model("customers", "Customer")
        customer = get_object_or_404(customer_model, pk=_int_or_404(request.GET["customer"]))
        entries = entries.filter(additional_data__customer_id=customer.pk)
    if request.GET.get("viewed") == "1":
        entries = entries.filter(action=LogEntry.Action.ACCESS)
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    names = _related_names(page.object_list)
    for entry in page.object_list:
        entry.rows = _change_rows(entry, names)
    staff = User.objects.order_by("first_name", "last_name", "username")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "actor": actor,
        "customer": customer,
        "staff": staff,
        "viewed": request.GET.get("viewed"),
        "query": query.urlencode(),
    }
    return render(request, "crm/audit_log.html", context)


def _entry_fields(entry: LogEntry):
    """(name, field or None, values) for each change the entry records."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    for name, values in (entry.changes_dict or {}).items():
        field = None
        if model is not None:
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                field = None  # a field since removed keeps its stored name
        yield name, field, values


def _related_names(entries) -> dict[tuple[type, str], str]:
    """The names of every object a page of entries points at ("Proposed by: Sara Garcia", not "1"),
    one query per kind of object."""
    wanted: dict[type, set[str]] = {}
    for entry in entries:
        for _name, field, values in _entry_fields(entry):
            if field is not None and field.is_relation and field.many_to_one and not isinstance(values, dict):
                wanted.setdefault(field.related_model, set()).update(
                    str(v) for v in values if v not in (None, "None", "")
                )
    names = {}
    for model, pks in wanted.items():
        valid = [int(pk) for pk in pks if pk.isdigit()]
        for pk, obj in model._default_manager.in_bulk(valid).items():
            names[(model, str(pk))] = str(obj)
    return names


def _change_rows(entry: LogEntry, names: dict | None = None) -> list[tuple[str, str, str]]:
    """(field, before, after) for an entry, named as people read them; no query per entry."""
    names = names or {}
    rows = []
    for name, field, values in _entry_fields(entry):
        if field is not None and (field.auto_created or name in NOT_SHOWN):
            continue  # ids, reverse relations and bookkeeping say nothing to a reader
        label = str(getattr(field, "verbose_name", name)).capitalize()
        if isinstance(values, dict):  # many-to-many: {"type": "m2m", "operation": ..., "objects": [...]}
            operation = {"add": "added", "delete": "removed"}.get(values.get("operation"), values.get("operation", ""))
            rows.append((label, operation, ", ".join(map(str, values.get("objects", [])))))
        else:
            before, after = [*list(values), "", ""][:2]
            if field is not None and field.is_relation and field.many_to_one:
                model = field.related_model
                rows.append((label, *(names.get((model, str(v)), _shown(v)) for v in (before, after))))
                continue
            rows.append((label, _shown(before, field), _shown(after, field)))
    return rows


# Fields an audit reader does not need to see changing.
NOT_SHOWN = {
    "id",
    "idempotency_key",
    "created_at",
    "updated_at",
    "flags",
    "search_document",
    "search_name",
    "phone_digits",
}


def _shown(value, field=None) -> str:
    """A stored value as people read it: choice labels, dates to the minute, "—" for nothing."""
    if value in (None, "None", ""):
        return "—"
    text = str(value)
    choices = dict(getattr(field, "flatchoices", None) or [])
    if choices:
        return str(choices.get(text, choices.get(_number(text), text)))
    if len(text) >= 16 and text[4] == "-" and text[10] in " T" and text[13] == ":":
        # An ISO date and time (stored in UTC), in the business's local time, to the minute.
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            return text[:16].replace("T", " ")
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.strftime("%Y-%m-%d %H:%M")
    return text


def _number(text: str):
    try:
        return int(text)
    except ValueError:
        return text


def _int_or_404(value: str) -> int:
    from django.http import Http404

    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Http404 from None
    if not 0 < number < 2**63:
        raise Http404
    return number


class LogoutView(auth_views.LogoutView):
    """Sign out; while the shared cache cannot be reached, say the session is still open (503) instead.

    Signing out then would end the session in PostgreSQL only, and its copy in Redis would let the old cookie
    back in once Redis returns (crm.kernel.cache.forget_cached_session). Nothing is changed, so trying again works.
    """

    def post(self, request, *args, **kwargs):
        if not forget_cached_session(request.session):
            page = loader.render_to_string(
                "registration/logout_failed.html", {"stylesheet": f"{settings.STATIC_URL}css/app.css"}
            )
            response = HttpResponse(page, status=503)
            response["Retry-After"] = "10"
            return response
        return super().post(request, *args, **kwargs)


class LoginView(auth_views.LoginView):
    """Django's login page; a malformed user name or password is a 400 with the field's message."""

    form_class = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        # A fresh install with no owner yet offers the first-run page.
        return {**super().get_context_data(**kwargs), "offer_first_run": not roles.owner_exists()}

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.malformed:
            response.status_code = 400
        return response
