"""The sandbox EHR's own URLconf, served by `manage.py runsandbox` on its own origin."""

from django.urls import path

from sandbox import views
from smartapp import health

urlpatterns = [
    path("", views.index, name="sandbox-index"),
    path("healthz", health.healthz),
]
