"""The sandbox EHR's URLconf, served on its own origin by `manage.py runsandbox`.

Everything that belongs to one simulated EHR exists twice: at the root (a well-behaved EHR)
and under `/sim/<blob>/` (an EHR that behaves as the options in the blob say).
"""

from django.urls import include, path
from django.views.decorators.clickjacking import xframe_options_sameorigin

from sandbox import (
    authorize_views,
    bulk_export,
    bulk_files,
    ehr_views,
    fhir_api,
    fhir_discovery,
    token_views,
)
from smartapp import health

# The sign-in pages show inside the EHR chart's iframe (same origin as the chart).
framed = xframe_options_sameorigin

per_ehr = [
    path("fhir", fhir_api.page, name="fhir-page"),
    path("fhir/.well-known/smart-configuration", fhir_discovery.smart_configuration),
    path("fhir/.well-known/openid-configuration", fhir_discovery.openid_configuration),
    path("fhir/metadata", fhir_discovery.capability_statement),
    # Bulk Data $export: before the generic `fhir/<type>` patterns, which would take them.
    path("fhir/$export", bulk_export.system_export),
    path("fhir/Patient/$export", bulk_export.patient_export),
    path("fhir/Group/<str:group_id>/$export", bulk_export.group_export),
    path("bulk/status/<str:job_id>", bulk_export.status),
    path("bulk/files/<str:job_id>/<int:number>.ndjson", bulk_files.download),
    path("fhir/<str:resource_type>", fhir_api.search),
    path("fhir/<str:resource_type>/<str:resource_id>", fhir_api.read),
    path("auth/authorize", framed(authorize_views.authorize)),
    path("auth/login", framed(authorize_views.login)),
    path("auth/pick-patient", framed(authorize_views.pick_patient)),
    path("auth/consent", framed(authorize_views.consent)),
    path("auth/token", token_views.token),
    path("auth/revoke", token_views.revoke),
    path("auth/introspect", token_views.introspect),
    path("auth/jwks", token_views.jwks),
    path("ehr/launch", framed(ehr_views.ehr_launch)),
    path("ehr/", ehr_views.chart),
]

urlpatterns = [
    path("", ehr_views.index, name="sandbox-index"),
    path("healthz", health.healthz),
    path("sandbox/stats", ehr_views.stats_view),
    path("sandbox/stats/reset", ehr_views.stats_reset),
    path("sandbox/smart-style.json", ehr_views.smart_style),
    path("", include(per_ehr)),
    path("sim/<str:sim>/", include(per_ehr)),
]
