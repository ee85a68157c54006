"""The kernel's pages: staff, locations and a member of staff's own settings."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from crm.kernel.access import get_location_for_user, require_perm
from crm.kernel.forms import LocationForm, ProfileForm, StaffForm
from crm.kernel.models import Location, User
from crm.kernel.services import location_save, profile_save, staff_save

STAFF_PAGE_SIZE = 50


@require_perm("crm.view_user")
def staff_list(request):
    """Everyone who works here, with their role and locations; owners add and change them."""
    staff = User.objects.prefetch_related("groups", "locations").order_by("-is_active", "first_name", "username")
    page = Paginator(staff, STAFF_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "crm/staff_list.html", {"page": page})


@require_perm("crm.add_user")
def staff_create(request):
    return _staff_form(request, User())


@require_perm("crm.change_user")
def staff_edit(request, pk: int):
    return _staff_form(request, get_object_or_404(User, pk=pk))


def _staff_form(request, member: User):
    form = StaffForm(request.POST or None, instance=member, editor=request.user)
    if request.method == "POST" and form.is_valid():
        member = staff_save(
            user=form.save(commit=False),
            role=form.cleaned_data["role"],
            locations=list(form.cleaned_data["locations"]),
            password=form.cleaned_data.get("password"),
        )
        messages.success(request, f"Saved {member}.")
        return redirect("staff-list")
    return render(request, "crm/staff_form.html", {"form": form, "member": member})


@require_perm("crm.view_location")
def location_list(request):
    locations = Location.objects.all()
    return render(request, "crm/location_list.html", {"locations": locations})


@require_perm("crm.add_location")
def location_create(request):
    return _location_form(request, Location())


@require_perm("crm.change_location")
def location_edit(request, pk: int):
    return _location_form(request, get_location_for_user(request.user, pk))


def _location_form(request, location: Location):
    form = LocationForm(request.POST or None, instance=location)
    if request.method == "POST" and form.is_valid():
        location = location_save(location=form.save(commit=False))
        messages.success(request, f"Saved {location.name}.")
        return redirect("location-list")
    return render(request, "crm/location_form.html", {"form": form, "location": location})


def profile(request):
    """A member of staff's own settings: the start-of-shift email."""
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        profile_save(user=form.save(commit=False))
        messages.success(request, "Saved.")
        return redirect("profile")
    from django_otp import user_has_device

    from crm.kernel.security import may_use_two_factor

    context = {
        "form": form,
        "may_use_two_factor": may_use_two_factor(request.user),
        "has_two_factor": user_has_device(request.user, confirmed=True),
    }
    return render(request, "crm/profile.html", context)
