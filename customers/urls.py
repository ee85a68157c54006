from django.urls import path

from customers import views

urlpatterns = [
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/new/", views.customer_create, name="customer-create"),
    path("customers/import/", views.customer_import, name="customer-import"),
    path("customers/tags/", views.tag_list, name="tag-list"),
    path("customers/export/marketing.csv", views.customer_export, name="customer-export"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer-edit"),
    path("customers/<int:pk>/brief/", views.customer_brief, name="customer-brief"),
    path("customers/<int:pk>/timeline/", views.customer_timeline, name="customer-timeline"),
    path("customers/<int:pk>/archive/", views.customer_archive, name="customer-archive"),
    path("customers/<int:pk>/erase/", views.customer_erase, name="customer-erase"),
    path("customers/<int:pk>/privacy/", views.customer_privacy, name="customer-privacy"),
    path("customers/<int:pk>/privacy.json", views.customer_privacy, {"as_json": True}, name="customer-privacy-json"),
    path("customers/<int:pk>/people/new/", views.person_create, name="person-create"),
    path("people/<int:person_pk>/edit/", views.person_edit, name="person-edit"),
    path("people/<int:person_pk>/delete/", views.person_delete, name="person-delete"),
    path("customers/<int:pk>/dates/new/", views.date_create, name="date-create"),
    path("dates/<int:date_pk>/edit/", views.date_edit, name="date-edit"),
    path("dates/<int:date_pk>/delete/", views.date_delete, name="date-delete"),
    path("customers/<int:pk>/notes/new/", views.note_create, name="note-create"),
    path("notes/<int:note_pk>/edit/", views.note_edit, name="note-edit"),
    path("notes/<int:note_pk>/history/", views.note_history, name="note-history"),
    path(
        "suggestions/<int:suggestion_pk>/accept/",
        views.suggestion_decide,
        {"decision": "accept"},
        name="suggestion-accept",
    ),
    path(
        "suggestions/<int:suggestion_pk>/ignore/",
        views.suggestion_decide,
        {"decision": "ignore"},
        name="suggestion-ignore",
    ),
    path("customers/<int:pk>/follow-ups/new/", views.follow_up_create, name="follow-up-create"),
    path("follow-ups/<int:follow_up_pk>/done/", views.follow_up_done, name="follow-up-done"),
    path("follow-ups/<int:follow_up_pk>/take/", views.follow_up_take, name="follow-up-take"),
    path("follow-ups/<int:follow_up_pk>/dismiss/", views.follow_up_dismiss, name="follow-up-dismiss"),
]
