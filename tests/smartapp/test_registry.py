"""smartapp.registry and `manage.py ehr_register`: registrations that would work, secrets sealed."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from joserfc import jwk

from smart.scopes import LaunchKind
from smartapp.models import EhrConnection
from smartapp.registry import (
    RegistrationError,
    credentials_for,
    enabled_connection,
    register_connection,
)

ISS = "https://ehr.example.org/fhir"


def register(**overrides: Any) -> EhrConnection:
    values: dict[str, Any] = {
        "slug": "acme",
        "name": "Acme Health",
        "iss": ISS,
        "client_id": "app",
        "client_auth": "client_secret_basic",
        "client_secret": "s3cret-value",
    }
    values.update(overrides)
    return register_connection(**values)


@pytest.mark.django_db
def test_secret_is_sealed_and_usable() -> None:
    connection = register()
    stored = EhrConnection.objects.get()
    assert "s3cret-value" not in stored.client_secret_encrypted
    assert credentials_for(stored).secret == "s3cret-value"
    assert "s3cret-value" not in repr(credentials_for(stored))
    assert enabled_connection(ISS) == connection
    assert enabled_connection(ISS + "/") is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"iss": "http://ehr.example.org/fhir"}, "iss"),
        ({"iss": "ehr.example.org/fhir"}, "iss"),
        ({"client_auth": "magic"}, "client_auth"),
        ({"client_secret": None}, "secret"),
        ({"client_auth": "private_key_jwt", "client_secret": None}, "private key"),
        ({"client_auth": "private_key_jwt", "private_key_pem": "not a key"}, "private key"),
        ({"frame_origins": ["https://ehr.example.org/chart"]}, "frame origin"),
    ],
)
def test_registrations_that_would_not_work(overrides: dict, field: str) -> None:
    with pytest.raises(RegistrationError, match=field):
        register(**overrides)


@pytest.mark.django_db
def test_private_key_jwt_registration() -> None:
    pem = jwk.ECKey.generate_key("P-384", private=True).as_pem(private=True).decode()
    connection = register(client_auth="private_key_jwt", client_secret=None, private_key_pem=pem)
    assert connection.signing_alg == "ES384"
    assert connection.key_id
    public = connection.public_jwk()
    assert public is not None
    assert public["kid"] == connection.key_id
    p256 = jwk.ECKey.generate_key("P-256", private=True).as_pem(private=True).decode()
    with pytest.raises(RegistrationError, match="P-384"):
        register(slug="other", iss=ISS + "2", client_auth="private_key_jwt", private_key_pem=p256)


@pytest.mark.django_db
def test_ehr_register_command(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(jwk.RSAKey.generate_key(2048, private=True).as_pem(private=True))
    call_command(
        "ehr_register",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--iss",
        ISS,
        "--client-id",
        "app",
        "--private-key",
        str(key),
        "--scopes-ehr",
        "launch  patient/Patient.rs",
        "--frame-origin",
        "https://ehr.example.org",
    )
    connection = EhrConnection.objects.get()
    assert connection.client_auth == "private_key_jwt"
    assert connection.signing_alg == "RS384"
    assert connection.scopes_for(LaunchKind.EHR) == "launch patient/Patient.rs"
    assert connection.frame_origins == ["https://ehr.example.org"]
    call_command(
        "ehr_register",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--iss",
        ISS,
        "--client-id",
        "app",
        "--public",
    )  # updates in place
    updated = EhrConnection.objects.get()
    assert updated.client_auth == "none"
    assert not updated.private_key_encrypted
    with pytest.raises(CommandError):
        call_command(
            "ehr_register",
            "--slug",
            "x",
            "--name",
            "X",
            "--iss",
            "ftp://x",
            "--client-id",
            "a",
            "--public",
        )


@pytest.mark.django_db
def test_admin_pages_render_without_secrets(admin_client) -> None:
    connection = register()
    page = admin_client.get(f"/admin/smartapp/ehrconnection/{connection.pk}/change/")
    assert page.status_code == 200
    assert b"s3cret-value" not in page.content
    assert b"new_client_secret" in page.content


@pytest.mark.django_db
def test_jwks_publishes_a_shared_key_once(client) -> None:
    """RFC 7517 4.5: keys in a set have distinct `kid`s; an authorization server that finds
    two usable keys for one kid refuses every client assertion ("Multiple usable public keys
    found in the JWKS"). Two connections that share a key publish it once."""
    pem = jwk.ECKey.generate_key("P-384", private=True).as_pem(private=True).decode()
    other = jwk.ECKey.generate_key("P-384", private=True).as_pem(private=True).decode()
    for slug, key in (("acme", pem), ("acme-west", pem), ("beta", other)):
        register(
            slug=slug,
            iss=f"https://{slug}.example.org/fhir",
            client_auth="private_key_jwt",
            client_secret=None,
            private_key_pem=key,
        )
    published = client.get("/.well-known/jwks.json").json()["keys"]
    kids = [key["kid"] for key in published]
    assert sorted(kids) == sorted({c.key_id for c in EhrConnection.objects.all()}), (
        "each key exactly once"
    )
    assert len(kids) == 2


def ehr_register(slug: str, iss: str) -> None:
    call_command(
        "ehr_register", "--slug", slug, "--name", slug, "--iss", iss, "--client-id", "a", "--public"
    )


@pytest.mark.django_db(transaction=True)
def test_ehr_register_refuses_an_iss_another_slug_uses_in_one_line() -> None:
    ehr_register("acme", ISS)
    with pytest.raises(CommandError) as refused:
        ehr_register("acme-2", ISS)
    message = str(refused.value)
    assert "acme" in message
    assert "iss" in message
    assert "\n" not in message
    assert "IntegrityError" not in message
    ehr_register("acme", ISS)  # the owner updates itself freely
    assert list(EhrConnection.objects.values_list("slug", flat=True)) == ["acme"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("slug", "iss", "field"),
    [
        ("x" * 51, ISS, "slug"),
        ("not a slug", ISS, "slug"),
        ("acme", "https://ehr.example.org/" + "f" * 500, "iss"),
    ],
)
def test_ehr_register_refuses_values_the_table_cannot_hold(slug: str, iss: str, field: str) -> None:
    with pytest.raises(CommandError, match=field):
        ehr_register(slug, iss)
    assert not EhrConnection.objects.exists()


@pytest.mark.django_db
def test_ehr_register_with_a_backend_services_client(tmp_path: Path, client) -> None:
    """Extraction's own client: its key sealed, its public half on the JWKS URL, kept when
    the connection is registered again without it."""
    key = tmp_path / "backend.pem"
    pem = jwk.ECKey.generate_key("P-384", private=True).as_pem(private=True)
    key.write_bytes(pem)
    out = StringIO()
    call_command(
        "ehr_register", "--slug", "acme", "--name", "Acme", "--iss", ISS, "--client-id", "app",
        "--public", "--backend-key", str(key), "--backend-client-id", "acme-bulk",
        "--system-scopes", "system/Patient.rs  system/Observation.rs", stdout=out,
    )  # fmt: skip
    assert "backend services as acme-bulk" in out.getvalue()
    connection = EhrConnection.objects.get()
    assert connection.has_backend_services
    assert (connection.backend_client_id, connection.backend_alg) == ("acme-bulk", "ES384")
    assert connection.system_scopes == "system/Patient.rs system/Observation.rs"
    assert pem.decode() not in connection.backend_key_encrypted
    published = client.get("/.well-known/jwks.json").json()["keys"]
    assert [key["kid"] for key in published] == [connection.backend_key_id]
    assert "d" not in published[0]  # the public half only
    ehr_register("acme", ISS)  # again, without backend flags: the backend client stays
    assert EhrConnection.objects.get().has_backend_services


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"backend_client_id": "bulk"}, "together"),
        ({"backend_key_pem": "pem"}, "together"),
        ({"system_scopes": "patient/*.rs"}, "system/"),
        ({"backend_client_id": "bulk", "backend_key_pem": "not a key"}, "key"),
    ],
)
def test_backend_registrations_that_would_not_work(overrides: dict, words: str) -> None:
    with pytest.raises(RegistrationError, match=words):
        register(**overrides)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--public", "--backend-client-id", "bulk"], "needs --backend-key"),
        (["--public", "--backend-key", "/nonexistent/key.pem"], "--backend-key: cannot read"),
        (["--private-key", "/nonexistent/key.pem"], "--private-key: cannot read"),
    ],
)
def test_ehr_register_says_what_is_missing_in_one_line(flags: list[str], words: str) -> None:
    base = ["--slug", "acme", "--name", "Acme", "--iss", ISS, "--client-id", "app"]
    with pytest.raises(CommandError, match=words):
        call_command("ehr_register", *base, *flags)
    assert not EhrConnection.objects.exists()
