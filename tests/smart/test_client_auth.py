"""smart.client_auth: each registered method prepares the token request as its spec says."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import pytest
from joserfc import jwk, jwt

from smart.client_auth import (
    ASSERTION_LIFETIME_S,
    ClientCredentials,
    TokenRequest,
    method_for,
    methods,
)

ENDPOINT = "https://ehr.example.org/token"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def prepare(credentials: ClientCredentials, now: float = 1_700_000_000.0):
    method = method_for(credentials.method)
    request = method.prepare(credentials, TokenRequest(ENDPOINT, dict(FORM), "grant_type=x"), now)
    return request.uri, request.headers, request.body


def test_the_registry_names_every_method():
    assert set(methods()) == {
        "none",
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }
    with pytest.raises(ValueError, match="unknown"):
        method_for("client_secret_jwt")


def test_public_clients_send_only_their_id():
    _, headers, body = prepare(ClientCredentials("app", "none"))
    assert "Authorization" not in headers
    assert parse_qs(body) == {"grant_type": ["x"], "client_id": ["app"]}


def test_client_secret_basic_uses_the_authorization_header():  # RFC 6749 2.3.1
    _, headers, body = prepare(ClientCredentials("app", "client_secret_basic", secret="s3"))
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"app:s3").decode()
    assert "s3" not in body


def test_client_secret_post_uses_the_body():  # RFC 6749 2.3.1, the alternative
    _, headers, body = prepare(ClientCredentials("app", "client_secret_post", secret="s3"))
    assert "Authorization" not in headers
    assert parse_qs(body) == {"grant_type": ["x"], "client_id": ["app"], "client_secret": ["s3"]}


@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (jwk.RSAKey.generate_key(2048, private=True), "RS384"),
        (jwk.ECKey.generate_key("P-384", private=True), "ES384"),
    ],
)
def test_private_key_jwt_signs_a_short_lived_unique_assertion(key, alg):
    credentials = ClientCredentials("app", "private_key_jwt", private_key=key, key_id="k1", alg=alg)
    bodies = [parse_qs(prepare(credentials)[2]) for _ in range(2)]
    assert bodies[0]["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]
    tokens = [jwt.decode(body["client_assertion"][0], key, algorithms=[alg]) for body in bodies]
    claims = tokens[0].claims
    assert tokens[0].header["kid"] == "k1"
    assert claims["iss"] == claims["sub"] == "app"
    assert claims["aud"] == ENDPOINT
    assert claims["exp"] - claims["iat"] == ASSERTION_LIFETIME_S == 300
    assert claims["iat"] == 1_700_000_000
    assert tokens[0].claims["jti"] != tokens[1].claims["jti"]  # never reused


def test_private_key_jwt_without_a_key_is_refused():
    with pytest.raises(ValueError, match="private key"):
        prepare(ClientCredentials("app", "private_key_jwt"))
