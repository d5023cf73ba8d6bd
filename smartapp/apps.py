from django.apps import AppConfig


class SmartAppConfig(AppConfig):
    name = "smartapp"
    verbose_name = "SMART launch engine"

    def ready(self) -> None:
        # Before Django builds its middleware chain: the Django instrumentation adds one.
        from smartapp.observability import tracing

        if tracing.wanted():
            tracing.configure()
