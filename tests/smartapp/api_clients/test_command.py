"""manage.py api_client: issue prints the secret once; rotate, revoke, list; one-line errors."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from smartapp.api_clients.credentials import digest
from smartapp.api_clients.models import ApiClient

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("api_client", *args, stdout=out)
    return out.getvalue()


def _field(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(name + ": ")).split(": ")[1]


def test_issue_rotate_revoke_list(tenants):
    out = run(
        "issue", "--name", "BI", "--connection", "hosp-a", "--connection", "hosp-b",
        "--scope", "summary.read", "--scope", "patients.read", "--rate-limit", "10",
    )  # fmt: skip
    client_id, secret = _field(out, "client_id"), _field(out, "client_secret")
    made = ApiClient.objects.get(client_id=client_id)
    assert made.secret_hash == digest(secret)
    assert made.created_by == "cli"
    assert made.rate_limit_per_minute == 10
    assert made.connections.count() == 2

    rotated = run("rotate", client_id)
    assert _field(rotated, "client_secret") != secret
    listed = run("list")
    assert client_id in listed
    assert "active" in listed
    assert secret not in listed

    assert "revoked" in run("revoke", client_id)
    assert "revoked" in run("list")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["issue", "--name", "x", "--connection", "nope", "--scope", "summary.read"], "nope"),
        (["issue", "--name", "x", "--connection", "hosp-a", "--scope", "all"], "unknown scope"),
        (["rotate", "sac_missing"], "no API client 'sac_missing'"),
        (["revoke", "sac_missing"], "no API client"),
    ],
)
def test_errors_are_one_line(tenants, args, message):
    with pytest.raises(CommandError, match=message) as caught:
        run(*args)
    assert "\n" not in str(caught.value)


def test_list_with_none(db):
    assert run("list").strip() == "no API clients"
