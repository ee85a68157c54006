from django.urls import path

from microcx import views

urlpatterns = [
    path("microcx/", views.overview, name="microcx"),
    path("customers/<int:pk>/gestures/new/", views.gesture_propose, name="gesture-propose"),
    path("microcx/gestures/<int:pk>/", views.gesture_detail, name="gesture-detail"),
    path("microcx/gestures/<int:pk>/receipt/", views.gesture_receipt, name="gesture-receipt"),
    path("microcx/gestures/<int:pk>/approve/", views.gesture_approve, name="gesture-approve"),
    path("microcx/gestures/<int:pk>/reject/", views.gesture_reject, name="gesture-reject"),
    path("microcx/gestures/<int:pk>/deliver/", views.gesture_deliver, name="gesture-deliver"),
    path("microcx/gestures/<int:pk>/cancel/", views.gesture_cancel, name="gesture-cancel"),
    path("microcx/queue/", views.gesture_queue, name="gesture-queue"),
    path("microcx/budgets/", views.budget_list, name="budget-list"),
    path("microcx/budgets/<int:pk>/", views.budget_detail, name="budget-detail"),
    path("microcx/report/", views.spend_report, name="spend-report"),
    path("microcx/report.csv", views.spend_report_csv, name="spend-report-csv"),
    path("microcx/rules/", views.discretion_rules, name="discretion-rules"),
]
