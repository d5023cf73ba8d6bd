"""SMART Backend Services against the live sandbox: `client_credentials` with a signed
assertion (https://hl7.org/fhir/smart-app-launch/backend-services.html)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc6749 import InvalidScopeError
from django.core.management import call_command
from joserfc import jwk, jwt

from sandbox.clients import register_backend_client, register_client
from sandbox.grants import system_scope_grant
from sandbox.models import Client, Token
from tests.fixtures.sandbox import REDIRECT, make_key

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def token_url(base: str) -> str:
    return base.removesuffix("/fhir") + "/auth/token"


def assertion(
    client_id: str, aud: str, key: jwk.Key, alg: str, *, exp_in: int = 120, jti: str = ""
) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "exp": now + exp_in,
        "iat": now,
        "jti": jti or uuid.uuid4().hex,
    }
    header = {"alg": alg, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[alg])


def ask(base: str, signed: str, scope: str = "system/*.rs", **form: str) -> httpx.Response:
    data = {
        "grant_type": "client_credentials",
        "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": signed,
        **form,
    }
    return httpx.post(token_url(base), data=data)


def public_jwks(key: jwk.Key, alg: str) -> dict[str, Any]:
    return {"keys": [{**key.as_dict(private=False), "alg": alg, "use": "sig"}]}


@pytest.fixture
def backend(sandbox, jwks_host):
    """Register a backend client; `(client_id, key, alg)`; inline JWKS or a JWKS URL."""

    def make(
        alg: str = "RS384", *, inline: bool = False, scopes: str = "system/*.rs", cid: str = ""
    ) -> tuple[str, jwk.Key, str]:
        key = make_key(alg)
        client_id = cid or f"backend-{alg}-{'inline' if inline else 'url'}"
        jwks = public_jwks(key, alg)
        if inline:
            register_backend_client(client_id=client_id, jwks=jwks, scopes=scopes)
        else:
            register_backend_client(client_id=client_id, jwks_uri=jwks_host(jwks), scopes=scopes)
        return client_id, key, alg

    return make


def token_for(sandbox, backend, scope: str = "system/*.rs", **options: Any) -> dict[str, Any]:
    client_id, key, alg = backend()
    base = sandbox.base(**options)
    response = ask(base, assertion(client_id, token_url(base), key, alg), scope)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_discovery_advertises_client_credentials(sandbox) -> None:
    config = httpx.get(f"{sandbox.base()}/.well-known/smart-configuration").json()
    assert "client_credentials" in config["grant_types_supported"]
    assert "client-confidential-asymmetric" in config["capabilities"]
    assert {"RS384", "ES384"} <= set(config["token_endpoint_auth_signing_alg_values_supported"])
    assert {"permission-v1", "permission-v2"} <= set(config["capabilities"])


@pytest.mark.parametrize(("alg", "inline"), [("RS384", False), ("ES384", True), ("ES384", False)])
def test_backend_client_gets_a_system_token(sandbox, backend, alg: str, inline: bool) -> None:
    client_id, key, alg = backend(alg, inline=inline)
    response = ask(sandbox.base(), assertion(client_id, token_url(sandbox.base()), key, alg))
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["Cache-Control"]
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "system/*.rs"
    assert body["expires_in"] == 3600
    # SMART Backend Services: the server SHALL NOT issue a refresh token; no launch context.
    assert "refresh_token" not in body
    assert not {"patient", "encounter", "id_token"} & set(body)
    row = Token.objects.get(access_token=body["access_token"])
    assert (row.user_ref, row.context, row.refresh_token) == ("system", {}, None)


def test_token_lifetime_follows_token_ttl(sandbox, backend) -> None:
    assert token_for(sandbox, backend, token_ttl=5)["expires_in"] == 5


def test_replayed_jti_refused(sandbox, backend) -> None:
    client_id, key, alg = backend()
    signed = assertion(client_id, token_url(sandbox.base()), key, alg)
    assert ask(sandbox.base(), signed).status_code == 200
    replay = ask(sandbox.base(), signed)
    assert replay.status_code in (400, 401)
    assert replay.json()["error"] == "invalid_client"


def test_assertion_living_longer_than_five_minutes_refused(sandbox, backend) -> None:
    client_id, key, alg = backend()
    signed = assertion(client_id, token_url(sandbox.base()), key, alg, exp_in=600)
    response = ask(sandbox.base(), signed)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize("inline", [False, True])
def test_assertion_signed_with_another_key_refused(sandbox, backend, inline: bool) -> None:
    client_id, _, alg = backend(inline=inline)
    signed = assertion(client_id, token_url(sandbox.base()), make_key(alg), alg)
    response = ask(sandbox.base(), signed)
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "scope", ["user/*.rs", "patient/Observation.rs", "system/*.rs launch/patient", "openid", ""]
)
def test_non_system_scopes_refused(sandbox, backend, scope: str) -> None:
    client_id, key, alg = backend(cid="backend-scopes")
    response = ask(sandbox.base(), assertion(client_id, token_url(sandbox.base()), key, alg), scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_v1_site_refuses_v2_scopes_and_takes_v1_ones(sandbox, backend) -> None:
    client_id, key, alg = backend(scopes="")
    v1 = sandbox.base(smart="v1")
    refused = ask(v1, assertion(client_id, token_url(v1), key, alg), "system/*.rs")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    granted = ask(v1, assertion(client_id, token_url(v1), key, alg), "system/*.read")
    assert granted.status_code == 200, granted.text
    assert granted.json()["scope"] == "system/*.read"


def test_granted_scope_is_what_the_client_may_have(sandbox, backend) -> None:
    client_id, key, alg = backend(scopes="system/Observation.rs")
    base = sandbox.base()
    both = ask(
        base,
        assertion(client_id, token_url(base), key, alg),
        "system/Observation.rs system/Condition.rs",
    )
    assert both.status_code == 200, both.text
    assert both.json()["scope"] == "system/Observation.rs"
    other = ask(base, assertion(client_id, token_url(base), key, alg), "system/Condition.rs")
    assert other.status_code == 400
    assert other.json()["error"] == "invalid_scope"


def test_system_token_searches_across_patients(sandbox, backend) -> None:
    token = token_for(sandbox, backend, "system/Observation.rs")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    response = httpx.get(f"{sandbox.base()}/Observation", params={"_count": 500}, headers=headers)
    assert response.status_code == 200, response.text
    subjects = {e["resource"]["subject"]["reference"] for e in response.json()["entry"]}
    assert len(subjects) > 1
    # Only what was granted: Condition is outside system/Observation.rs.
    assert httpx.get(f"{sandbox.base()}/Condition", headers=headers).status_code == 403


def test_backend_client_cannot_use_authorization_code(sandbox, backend) -> None:
    client_id, key, alg = backend()
    signed = assertion(client_id, token_url(sandbox.base()), key, alg)
    form = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT}
    response = ask(sandbox.base(), signed, **form)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert not Client.objects.get(client_id=client_id).check_response_type("code")


def test_smart_app_cannot_use_client_credentials(sandbox, make_client) -> None:
    app = make_client("private_key_jwt", client_id="app-not-backend")
    response = app.post_token({"grant_type": "client_credentials", "scope": "system/*.rs"})
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    secret_app = make_client("secret_basic")  # not even a private_key_jwt client
    response = secret_app.post_token({"grant_type": "client_credentials", "scope": "system/*.rs"})
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"


def test_register_backend_client_needs_one_key_source(db) -> None:
    with pytest.raises(ValueError, match="one of them"):
        register_backend_client(client_id="b")
    with pytest.raises(ValueError, match="one of them"):
        register_backend_client(client_id="b", jwks_uri="http://x/j", jwks={"keys": []})
    with pytest.raises(ValueError, match="'keys'"):
        register_backend_client(client_id="b", jwks={"kty": "RSA"})


def test_register_client_is_unchanged_by_backend_registration(db) -> None:
    register_backend_client(client_id="switch", jwks_uri="http://127.0.0.1:1/jwks.json")
    client = register_client(client_id="switch", redirect_uris=[REDIRECT])
    assert client.grant_types == ["authorization_code", "refresh_token"]
    assert (client.auth_method, client.jwks) == ("none", {})


def test_seed_command_registers_a_backend_client(db, tmp_path, settings) -> None:
    settings.SANDBOX_BUNDLE_DIR = tmp_path / "bundles"
    key = make_key("ES384")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(public_jwks(key, "ES384")))
    call_command("sandbox_seed", "--backend-client-id", "seeded", "--backend-jwks-file", str(path))
    client = Client.objects.get(client_id="seeded")
    assert client.grant_types == ["client_credentials"]
    assert client.jwks["keys"][0]["kid"] == key.kid
    call_command(
        "sandbox_seed", "--backend-client-id", "seeded-url", "--backend-jwks-url", "http://x/j"
    )
    assert Client.objects.get(client_id="seeded-url").jwks_uri == "http://x/j"


@pytest.mark.parametrize(
    ("requested", "allowed", "version", "granted"),
    [
        ("system/*.rs", "", "v2", "system/*.rs"),
        ("system/Observation.rs", "system/*.rs", "v2", "system/Observation.rs"),
        ("system/Observation.rs system/Patient.r", "system/*.r", "v2", "system/Patient.r"),
        ("system/*.read", "system/*.rs", "v1", "system/*.read"),
        (  # a restricted scope is narrower than the unrestricted one
            "system/Observation.rs?category=laboratory",
            "system/Observation.rs",
            "v2",
            "system/Observation.rs?category=laboratory",
        ),
    ],
)
def test_system_scope_grant(requested: str, allowed: str, version: str, granted: str) -> None:
    assert system_scope_grant(requested, allowed, version) == granted


@pytest.mark.parametrize(
    ("requested", "allowed", "version"),
    [
        ("", "", "v2"),
        ("patient/*.rs", "", "v2"),
        ("system/*.rs", "", "v1"),
        ("system/Condition.rs", "system/Observation.rs", "v2"),
        ("system/*.cruds", "system/*.rs", "v2"),
    ],
)
def test_system_scope_grant_refusals(requested: str, allowed: str, version: str) -> None:
    with pytest.raises(InvalidScopeError):
        system_scope_grant(requested, allowed, version)
