from django.urls import path

from journeys import api, views, views_manage

urlpatterns = [
    path("customers/<int:pk>/log/", views.interaction_log, name="interaction-log"),
    path("customers/<int:pk>/check-in/", views.customer_check_in, name="customer-check-in"),
    path("customers/<int:pk>/persona/", views_manage.persona_assign, name="persona-assign"),
    path("journeys/touchpoints/", views_manage.touchpoint_list, name="touchpoint-list"),
    path("journeys/touchpoints/new/", views_manage.touchpoint_create, name="touchpoint-create"),
    path("journeys/touchpoints/<int:pk>/", views_manage.touchpoint_detail, name="touchpoint-detail"),
    path("journeys/touchpoints/<int:pk>/edit/", views_manage.touchpoint_edit, name="touchpoint-edit"),
    path("journeys/metrics/import/", views_manage.metric_import, name="metric-import"),
    path("journeys/personas/", views_manage.persona_list, name="persona-list"),
    path("journeys/personas/new/", views_manage.persona_create, name="persona-create"),
    path("journeys/personas/<int:pk>/", views_manage.persona_map, name="persona-map"),
    path("journeys/personas/<int:pk>/edit/", views_manage.persona_edit, name="persona-edit"),
    path("journeys/personas/<int:pk>/steps/new/", views_manage.step_create, name="step-create"),
    path("journeys/steps/<int:step_pk>/", views_manage.step_edit, name="step-edit"),
    path("journeys/import/", views_manage.interaction_import, name="interaction-import"),
    path("journeys/api-tokens/", views_manage.api_tokens, name="api-tokens"),
    path("api/v1/interactions", api.interactions, name="api-interactions"),
    path("api/v1/openapi.json", api.openapi, name="api-openapi"),
]
