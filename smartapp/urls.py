"""The app's URLs. The sandbox EHR is a separate server with its own URLconf (sandbox/)."""

from django.contrib import admin
from django.urls import include, path

from smartapp import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("portal.urls")),
]
