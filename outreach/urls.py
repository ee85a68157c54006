from django.urls import path

from outreach import views

urlpatterns = [
    path("customers/<int:pk>/write/", views.compose, name="outreach-compose"),
    path("customers/<int:pk>/contact-preferences/", views.contact_preferences, name="outreach-contact-preferences"),
    path("messages/<int:pk>/", views.message_detail, name="outreach-message"),
    path("messages/<int:pk>/stop/", views.message_stop, name="outreach-message-stop"),
    path("messages/<int:pk>/card/", views.card_print, name="outreach-card-print"),
    path("messages/<int:pk>/posted/", views.card_posted, name="outreach-card-posted"),
    path("cards/", views.cards_today, name="outreach-cards"),
    path("outreach/settings/", views.outreach_settings, name="outreach-settings"),
    # The customer's own links from an email: signed, no login.
    path("u/<str:token>/", views.unsubscribe, name="outreach-unsubscribe"),
    path("p/<str:token>/", views.preferences, name="outreach-preferences"),
]
