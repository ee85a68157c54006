from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from crm import views, views_dashboard, views_security

urlpatterns = [
    path("", views.home, name="home"),
    path("staff/", views.staff_list, name="staff-list"),
    path("staff/new/", views.staff_create, name="staff-create"),
    path("staff/<int:pk>/edit/", views.staff_edit, name="staff-edit"),
    path("locations/", views.location_list, name="location-list"),
    path("locations/new/", views.location_create, name="location-create"),
    path("locations/<int:pk>/edit/", views.location_edit, name="location-edit"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/badge/", views.inbox_badge, name="inbox-badge"),
    path("inbox/<int:pk>/", views.notification_mark, name="notification-mark"),
    path("accounts/profile/", views.profile, name="profile"),
    path("operations/", views.operations, name="operations"),
    path("dashboard/", views_dashboard.dashboard, name="loyalty-dashboard"),
    path("dashboard/customers/", views_dashboard.customers_behind, name="loyalty-customers"),
    path("dashboard/win-back-rule/", views_dashboard.win_back_rule, name="loyalty-rule"),
    path("accounts/login/", views_security.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
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
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

# A database outage met before a view runs (loading the session) is a 503 page too.
handler400 = "crm.middleware.bad_request"
handler500 = "crm.middleware.server_error"
