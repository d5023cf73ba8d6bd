"""The app's URLs. The sandbox EHR is a separate server with its own URLconf (sandbox/)."""

from django.contrib import admin
from django.urls import include, path

from smartapp import health, views
from smartapp.observability import endpoint as metrics_endpoint

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_endpoint.metrics, name="metrics"),
    path("smart/launch", views.ehr_launch, name="smart-launch"),
    path("smart/start", views.standalone_start, name="smart-start"),
    path("smart/callback", views.callback, name="smart-callback"),
    path("qa/launch", views.qa_launch, name="qa-launch"),
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path("admin/", admin.site.urls),
    path("", include("portal.urls")),
]
