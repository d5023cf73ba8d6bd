from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "smartapp.warehouse"
    label = "warehouse"
    verbose_name = "Canonical clinical store"
    default_auto_field = "django.db.models.BigAutoField"
