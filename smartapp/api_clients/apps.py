from django.apps import AppConfig


class ApiClientsConfig(AppConfig):
    name = "smartapp.api_clients"
    label = "api_clients"
    verbose_name = "Use-case API clients"
    default_auto_field = "django.db.models.BigAutoField"
