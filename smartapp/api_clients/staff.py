"""Staff pages: list, issue, rotate and revoke service clients (`/staff/api-clients/`).

Staff only (`is_staff`); anyone else is sent to the admin login. Rotate and revoke take a
confirmation page (GET) and then a POST with its CSRF token. A new secret appears once, in
the response to the POST that made it, with `Cache-Control: no-store`: never in a redirect,
a message or the session, so it is neither stored nor shown again by going back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from smartapp.api_clients import api_settings, credentials
from smartapp.api_clients.models import ApiClient
from smartapp.api_clients.scopes import API_SCOPES
from smartapp.models import EhrConnection

log = logging.getLogger(__name__)


class IssueForm(forms.Form):
    name = forms.CharField(max_length=200)
    connections = forms.ModelMultipleChoiceField(
        queryset=EhrConnection.objects.filter(enabled=True).order_by("name"),
        to_field_name="slug",
        label="Tenants",
    )
    scopes = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {text}") for name, text in API_SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    rate_limit = forms.IntegerField(
        min_value=1, max_value=1_000_000, required=False, label="Rate limit (calls per minute)"
    )


MANAGE = "api_clients.change_apiclient"  # issue, rotate, revoke (superusers hold every one)


def staff_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff with the permission to manage API clients (a client reads patient data in
    bulk: being staff is not enough); others: the admin login, or 403. Never cached, as the
    pages may carry a secret."""

    @staff_member_required
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(MANAGE):
            raise PermissionDenied("managing API clients needs api_clients.change_apiclient")
        response = view(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    return guarded


def _who(request: HttpRequest) -> str:
    return str(request.user.get_username())


def _secret_page(request: HttpRequest, client: ApiClient, secret: str, action: str) -> HttpResponse:
    return render(
        request,
        "api_clients/secret.html",
        {"client": client, "secret": secret, "action": action},
    )


@staff_page
@require_http_methods(["GET"])
def client_list(request: HttpRequest) -> HttpResponse:
    clients = ApiClient.objects.prefetch_related("connections").order_by("-created")
    return render(
        request,
        "api_clients/list.html",
        {"clients": clients, "default_rate_limit": api_settings.rate_limit_per_minute()},
    )


@staff_page
@require_http_methods(["GET", "POST"])
def issue(request: HttpRequest) -> HttpResponse:
    form = IssueForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            client, secret = credentials.issue(
                form.cleaned_data["name"],
                [c.slug for c in form.cleaned_data["connections"]],
                form.cleaned_data["scopes"],
                rate_limit=form.cleaned_data["rate_limit"],
                created_by=request.user.get_username(),
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            log.info(
                "api client changed",
                extra={"client": client.client_id, "action": "issue", "by": _who(request)},
            )
            return _secret_page(request, client, secret, "issued")
    return render(request, "api_clients/issue.html", {"form": form})


def _confirmed_action(
    request: HttpRequest, pk: int, action: str, apply: Callable[[ApiClient], str | None]
) -> HttpResponse:
    client = get_object_or_404(ApiClient, pk=pk)
    error = ""
    if request.method == "POST":
        try:
            secret = apply(client)
        except ValueError as exc:
            error = str(exc)
        else:
            log.info(
                "api client changed",
                extra={"client": client.client_id, "action": action, "by": _who(request)},
            )
            if secret is not None:
                return _secret_page(request, client, secret, action)
            return redirect("api_clients:list")
    return render(
        request, "api_clients/confirm.html", {"client": client, "action": action, "error": error}
    )


@staff_page
@require_http_methods(["GET", "POST"])
def rotate(request: HttpRequest, pk: int) -> HttpResponse:
    return _confirmed_action(request, pk, "rotate", credentials.rotate)


@staff_page
@require_http_methods(["GET", "POST"])
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    return _confirmed_action(request, pk, "revoke", credentials.revoke)
