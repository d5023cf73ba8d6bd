"""The SMART authorization request (App Launch 2.x "app-launch", RFC 6749 4.1.1, RFC 7636 4.3).

Pure: from what discovery said and what the launch chose, the URL the browser is sent to,
with exactly `response_type`, `client_id`, `redirect_uri`, `scope`, `state`, `aud`, `launch`
(EHR launch only), `code_challenge`, `code_challenge_method=S256`, and `nonce` (OpenID
Connect, checked in the id_token).
"""

from __future__ import annotations

from authlib.oauth2.rfc6749.parameters import prepare_grant_uri

from smart.pkce import METHOD


def authorization_url(
    *,
    endpoint: str,
    client_id: str,
    redirect_uri: str,
    scope: str,
    state: str,
    aud: str,
    code_challenge: str,
    nonce: str,
    launch: str | None = None,
) -> str:
    extra = {
        "aud": aud,
        "code_challenge": code_challenge,
        "code_challenge_method": METHOD,
        "nonce": nonce,
    }
    if launch:
        extra["launch"] = launch
    url: str = prepare_grant_uri(
        endpoint, client_id, "code", redirect_uri=redirect_uri, scope=scope, state=state, **extra
    )
    return url
