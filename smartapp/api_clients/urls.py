"""Staff pages: issue, rotate and revoke API clients (`smartapp.api_clients.staff`)."""

from django.urls import URLPattern, path

from smartapp.api_clients import staff

app_name = "api_clients"
urlpatterns: list[URLPattern] = [
    path("", staff.client_list, name="list"),
    path("issue", staff.issue, name="issue"),
    path("<int:pk>/rotate", staff.rotate, name="rotate"),
    path("<int:pk>/revoke", staff.revoke, name="revoke"),
]
