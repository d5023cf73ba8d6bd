from django.apps import AppConfig


class SmartAppConfig(AppConfig):
    name = "smartapp"
    verbose_name = "SMART launch engine"
