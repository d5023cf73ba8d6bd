"""Template filters for the summary's presentation rules (smartapp/summary/presentation.py)."""

from __future__ import annotations

from django import template
from django.utils import timezone

from smartapp.summary.presentation import how_long_ago

register = template.Library()


@register.filter
def ago(shown_date: str | None) -> str | None:
    """The age of a reading in words ("22 months ago"), None within the last week."""
    return how_long_ago(shown_date, timezone.localdate())
