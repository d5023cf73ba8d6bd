"""Template filters about a launch's navigation (`{% load launch_links %}`)."""

from __future__ import annotations

from django import template

from smartapp.launches import pages
from smartapp.models import Launch

register = template.Library()


@register.filter
def picks_patient(launch: Launch | None) -> bool:
    """Whether the launch chose its patient in our search (and may go back to it)."""
    return launch is not None and pages.picks_patient(launch)
