from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from crm.inbox import views as inbox_views
from crm.insights import views as insights_views
from crm.kernel import views as kernel_views
from crm.kernel import views_imports, views_security

urlpatterns = [
    path("", inbox_views.home, name="home"),
    path("staff/", kernel_views.staff_list, name="staff-list"),
    path("staff/new/", kernel_views.staff_create, name="staff-create"),
    path("staff/<int:pk>/edit/", kernel_views.staff_edit, name="staff-edit"),
    path("locations/", kernel_views.location_list, name="location-list"),
    path("locations/new/", kernel_views.location_create, name="location-create"),
    path("locations/<int:pk>/edit/", kernel_views.location_edit, name="location-edit"),
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/badge/", inbox_views.inbox_badge, name="inbox-badge"),
    path("inbox/<int:pk>/", inbox_views.notification_mark, name="notification-mark"),
    path("imports/<int:pk>/", views_imports.import_job, name="import-job"),
    path("imports/<int:pk>/progress/", views_imports.import_job_progress, name="import-job-progress"),
    path("imports/<int:pk>/confirm/", views_imports.import_job_confirm, name="import-job-confirm"),
    path("imports/<int:pk>/cancel/", views_imports.import_job_cancel, name="import-job-cancel"),
    path("accounts/profile/", kernel_views.profile, name="profile"),
    path("operations/", inbox_views.operations, name="operations"),
    path("dashboard/", insights_views.dashboard, name="loyalty-dashboard"),
    path("dashboard/customers/", insights_views.customers_behind, name="loyalty-customers"),
    path("dashboard/win-back-rule/", insights_views.win_back_rule, name="loyalty-rule"),
    # The gestures' monthly review keeps its address under micro-CX; the insights code serves it.
    path("microcx/review/", insights_views.monthly_review, name="monthly-review"),
    path("accounts/login/", views_security.LoginView.as_view(), name="login"),
    path("accounts/logout/", views_security.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/two-factor/", views_security.two_factor_verify, name="two-factor-verify"),
    path("accounts/two-factor/setup/", views_security.two_factor_setup, name="two-factor-setup"),
    path("accounts/two-factor/remove/", views_security.two_factor_remove, name="two-factor-remove"),
    path("security/", views_security.security_page, name="security"),
    path("setup/", views_security.first_run, name="first-run"),
    path("business/", views_security.business_settings, name="business-settings"),
    path("security/lockouts/<int:pk>/unlock/", views_security.lockout_unlock, name="lockout-unlock"),
    path(
        "security/staff/<int:pk>/two-factor/reset/",
        views_security.staff_two_factor_reset,
        name="staff-two-factor-reset",
    ),
    path("security/audit/", views_security.audit_log, name="audit-log"),
    path("", include("customers.urls")),
    path("", include("journeys.urls")),
    path("", include("microcx.urls")),
    path("", include("outreach.urls_offers")),
    path("", include("outreach.urls")),
    path("healthz", inbox_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

if settings.BENCHMARK_VIEWS:
    from crm.kernel import views_benchmark

    urlpatterns.append(path("bench/floor/<int:pk>/", views_benchmark.floor, name="bench-floor"))

# A database outage met before a view runs (loading the session) is a 503 page too.
handler400 = "crm.kernel.middleware.bad_request"
handler500 = "crm.kernel.middleware.server_error"
