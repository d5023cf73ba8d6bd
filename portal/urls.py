from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("l/<str:handle>/", views.summary, name="summary"),
    path("l/<str:handle>/patients", views.patient_search, name="patient-search"),
    path("l/<str:handle>/sign-out", views.sign_out, name="sign-out"),
    path("sign-out", views.sign_out_all, name="sign-out-all"),
    path("signed-out", views.signed_out, name="signed-out"),
]
