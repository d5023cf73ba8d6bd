"""A launch's recorded steps (see `smartapp.diagnostics`); deleted with the launch."""

from __future__ import annotations

from django.db import models


class LaunchStep(models.Model):
    """One moment of a launch: what it was, when, how long it took and how it ended."""

    id = models.BigAutoField(primary_key=True)
    launch = models.ForeignKey("smartapp.Launch", on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(help_text="when the step began")
    name = models.CharField(max_length=40)
    outcome = models.CharField(max_length=60, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "smartapp"
        indexes = [  # noqa: RUF012  (Django convention)
            models.Index(fields=["launch", "at"]),
            models.Index(fields=["request_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.outcome} at {self.at:%H:%M:%S}"
