"""What every launch page shares: opening the launch named by the URL (bound to this browser,
framed for its EHR), a page of a long list, and the patient line's demographics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.utils import translation

from smartapp.launches import pages as launches
from smartapp.middleware import allow_framing
from smartapp.models import Launch
from smartapp.summary import service as summary_service
from smartapp.summary.contract import Demographics


def launch_for(request: HttpRequest, handle: str) -> Launch:
    """The launch behind `/l/<handle>/`, only for the browser that holds its cookie."""
    launch = launches.launch_for(handle, request.COOKIES)
    allow_framing(request, launch.connection.frame_origins)
    use_launch_language(request, launch)
    return launch


def launch_language(launch: Launch) -> str | None:
    """The supported language for the `locale` the launch's EHR sent ("es-MX" -> "es"), or
    None when it sent none or one the app has no translation for."""
    if not launch.locale:
        return None
    try:
        return translation.get_supported_language_variant(launch.locale.replace("_", "-").lower())
    except LookupError:
        return None


def use_launch_language(request: HttpRequest, launch: Launch) -> None:
    """The launch's pages in its EHR's language, over the browser's (LocaleMiddleware's)."""
    language = launch_language(launch)
    if language is not None:
        translation.activate(language)
        request.LANGUAGE_CODE = language


def page_of(request: HttpRequest, items: Sequence[Any], per_page: int = 20) -> Any:
    """One page of `items` (`?page=`; a bad number falls back to a valid page)."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def patient_demographics(launch: Launch) -> Demographics | None:
    """The patient line's data: the demographics section (usually from the cache)."""
    if not launch.patient_id:
        return None
    built = summary_service.build_summary(launch, only=("demographics",))
    section = built.sections["demographics"]
    return section.items[0] if section.items else None
