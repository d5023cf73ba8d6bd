"""The routes config/urls.py gives this package, for its tests alone (so they do not depend
on the project's wiring): the token endpoint, the staff pages, and the admin's login."""

from django.contrib import admin
from django.urls import include, path

import smartapp.api_clients.oauth

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/oauth/token", smartapp.api_clients.oauth.token),
    path("staff/api-clients/", include("smartapp.api_clients.urls")),
]
