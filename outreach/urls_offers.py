from django.urls import path

from outreach import views_offers, views_tracking

urlpatterns = [
    path("offers/", views_offers.offer_search, name="offer-search"),
    path("offers/<int:pk>/redeem/", views_offers.offer_redeem, name="offer-redeem"),
    path("customers/<int:pk>/offers/redeem/", views_offers.customer_offer_redeem, name="customer-offer-redeem"),
    # Public: an email's tracking image and its tracked links (signed tokens, no login).
    path("e/o/<str:token>.gif", views_tracking.email_open, name="email-open"),
    path("e/c/<str:token>/", views_tracking.email_click, name="email-click"),
]
