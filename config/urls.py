"""The app's URLs. The sandbox EHR is a separate server with its own URLconf (sandbox/)."""

from django.contrib import admin
from django.urls import include, path

from api import main as api_v1
from smartapp import health, views
from smartapp.api_clients import oauth as api_oauth
from smartapp.observability import endpoint as metrics_endpoint
from smartapp.qa import views as qa_views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_endpoint.metrics, name="metrics"),
    path("smart/launch", views.ehr_launch, name="smart-launch"),
    path("smart/start", views.standalone_start, name="smart-start"),
    path("smart/callback", views.callback, name="smart-callback"),
    path("smart/check/<str:ticket>", views.check_launch, name="smart-check-start"),
    path("qa/launch", qa_views.qa_launch, name="qa-launch"),
    path("qa/launches", qa_views.launches, name="qa-launches"),
    path("qa/launches/<str:handle>", qa_views.launch_detail, name="qa-launch-detail"),
    path("qa/check", qa_views.check, name="qa-check"),
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path("admin/", admin.site.urls),
    # The use-case API (docs/api.md); the reference page before ninja's own paths.
    path("api/v1/docs", api_v1.reference, name="api-v1-reference"),
    path("api/v1/oauth/token", api_oauth.token, name="api-v1-token"),
    path("staff/api-clients/", include("smartapp.api_clients.urls")),
    path("api/v1/", api_v1.api.urls),
    path("", include("portal.urls")),
]

handler400 = "smartapp.error_handlers.bad_request"
handler403 = "smartapp.error_handlers.permission_denied"
handler404 = "smartapp.error_handlers.page_not_found"
handler500 = "smartapp.error_handlers.server_error"
