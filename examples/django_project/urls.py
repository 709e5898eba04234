"""Routes without trailing slashes, as ``examples/demo.py`` calls them."""

from __future__ import annotations

from django.urls import path

from examples.django_project import views

urlpatterns = [
    path("hello", views.hello),
    path("async-hello", views.async_hello),
    path("boom", views.boom),
    path("flaky", views.flaky),
    path("slow", views.slow),
    path("stream", views.stream),
    path("stock", views.stock),
    path("api/items", views.ItemList.as_view()),
    path("api/items/<int:pk>", views.ItemDetail.as_view()),
]

handler400 = "seawall.integrations.django.views.bad_request"
handler403 = "seawall.integrations.django.views.permission_denied"
handler404 = "seawall.integrations.django.views.page_not_found"
handler500 = "seawall.integrations.django.views.server_error"
