from django.urls import path

from journeys import views

urlpatterns = [
    path("customers/<int:pk>/log/", views.interaction_log, name="interaction-log"),
    path("customers/<int:pk>/check-in/", views.customer_check_in, name="customer-check-in"),
]
