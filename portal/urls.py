from django.urls import path

from portal import account, documents, drilldowns, search, views

app_name = "portal"
urlpatterns = [
    path("", account.home, name="home"),
    path("l/<str:handle>/", views.summary, name="summary"),
    path("l/<str:handle>/patients", search.patient_search, name="patient-search"),
    path("l/<str:handle>/vitals/<str:kind>", drilldowns.vital_history, name="vital-history"),
    path("l/<str:handle>/labs", drilldowns.lab_history, name="lab-history"),
    path("l/<str:handle>/list/<str:name>", views.section_list, name="section-list"),
    path(
        "l/<str:handle>/documents/<str:rtype>/<str:rid>",
        documents.document,
        name="document",
    ),
    path(
        "l/<str:handle>/documents/<str:rtype>/<str:rid>/<int:index>/content",
        documents.document_content,
        name="document-content",
    ),
    path("l/<str:handle>/style.css", views.style, name="style"),
    path("l/<str:handle>/sign-out", account.sign_out, name="sign-out"),
    path("sign-out", account.sign_out_all, name="sign-out-all"),
    path("signed-out", account.signed_out, name="signed-out"),
]
