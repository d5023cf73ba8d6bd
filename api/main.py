"""The use-case API, version 1: one django-ninja `NinjaAPI` at /api/v1/ (docs/api.md).

Why django-ninja (with pydantic) rather than DRF + drf-spectacular: the schemas are typed
classes checked by mypy, the same style as the rest of the code's frozen dataclasses; the
OpenAPI document is generated from them, as OpenAPI 3.1 (drf-spectacular writes 3.0 by
default); and a read-only API over services needs none of DRF's serializers, viewsets or
permission classes.

Served here: the browser's calls (api/browser.py), the service clients' calls
(api/service.py), the OpenAPI document at /api/v1/openapi.json and its reference page at
/api/v1/docs (rendered on the server from the document: no script, no CDN). The token
endpoint for service clients is a plain Django view (smartapp/api_clients/oauth.py) at
/api/v1/oauth/token. Every error is a problem details body (api/problems.py).

No CORS: nothing here ever sets `Access-Control-Allow-*`, so other origins' scripts cannot
read an answer, and the browser's anti-forgery header cannot be sent cross-origin (a
preflight that nobody grants).
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET
from ninja import NinjaAPI

from api import browser, problems, service
from api.auth import ServiceBearer
from smart import errors as app_errors
from smartapp.api_clients.scopes import API_SCOPES

TOKEN_URL = "/api/v1/oauth/token"  # noqa: S105  (a path, not a secret)
DESCRIPTION = """Read-only JSON over the patient summary contract.

- **Browser** calls (the app's own pages): the launch's session cookie plus the header
  `X-CSRF: 1`, same origin only.
- **Service clients** (other products): `Authorization: Bearer <token>`, the token from
  `POST /api/v1/oauth/token` (OAuth 2.0 client credentials), bound to tenants and scopes.

Errors are RFC 9457 problem details. Lists are paged by `cursor`. Answers carry an `ETag`;
send it back in `If-None-Match` for a `304` when nothing changed.
"""


class Api(NinjaAPI):
    """The document as it is: error answers as `application/problem+json`, and the service
    clients' scheme as OAuth 2.0 client credentials with its token URL and scopes (ninja
    knows only "bearer"), so client generators know where a token comes from."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        document = super().get_openapi_schema(*args, **kwargs)
        document["components"]["securitySchemes"]["ServiceBearer"] = {
            "type": "oauth2",
            "description": ServiceBearer.openapi_description,
            "flows": {"clientCredentials": {"tokenUrl": TOKEN_URL, "scopes": dict(API_SCOPES)}},
        }
        for methods in document["paths"].values():
            for operation in methods.values():
                if service.SCOPE_KEY in operation:
                    scope = operation.pop(service.SCOPE_KEY)
                    operation["security"] = [{"ServiceBearer": [scope]}]
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        answer["content"] = {problems.PROBLEM_TYPE: content["application/json"]}
        return document


api = Api(
    title="SMART patient summary API",
    version="1.0.0",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    docs_url=None,
)
api.add_router("/", browser.router)
api.add_router("/", service.router)
for exception_class, handler in problems.HANDLERS:
    api.add_exception_handler(exception_class, handler)


def _codes() -> list[tuple[str, str]]:
    """Every code a problem may carry: the API's own and the app's error classes'."""
    found = dict(problems.API_CODES)
    pending: list[type[app_errors.SmartAppError]] = [app_errors.SmartAppError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, f"{cls.title}. {cls.message}")
        pending.extend(cls.__subclasses__())
    return sorted(found.items())


_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*([^*]+)\*\*")


def markdown_lite(text: str) -> SafeString:
    """The CommonMark the document's descriptions use (`code`, **strong**, "- " lists and
    paragraphs) as HTML, everything else escaped."""
    blocks = []
    for block in text.strip().split("\n\n"):
        lines = [line.strip() for line in block.splitlines()]
        html = _STRONG.sub(
            r"<strong>\1</strong>", _CODE.sub(r"<code>\1</code>", escape(" \n".join(lines)))
        )
        if html.startswith("- "):
            items = "".join(f"<li>{item.strip()}</li>" for item in html[2:].split(" \n- "))
            blocks.append(f"<ul>{items}</ul>")
        elif html:
            blocks.append(f"<p>{html}</p>")
    return mark_safe("".join(blocks))  # noqa: S308  (built from escaped text only)


def _answer(operation: dict[str, Any]) -> str:
    content = operation.get("responses", {}).get(200, {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    return str(ref).rsplit("/", 1)[-1]


def _constraints(schema: dict[str, Any]) -> str:
    """A parameter's allowed values in words: its choices, or its range."""
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("enum"):
            return "One of " + ", ".join(f"`{value}`" for value in option["enum"]) + "."
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"From {low} to {high}" + (
            f", {schema['default']} by default." if "default" in schema else "."
        )
    return ""


def _parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    described = " ".join(
        part
        for part in (str(parameter.get("description") or ""), _constraints(parameter["schema"]))
        if part
    )
    return {
        "name": parameter["name"],
        "in": parameter["in"],
        "required": parameter.get("required", False),
        "description": markdown_lite(described),
    }


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    shown = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            shown.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "id": operation.get("operationId", ""),
                    "description": markdown_lite(operation.get("description", "")),
                    "parameters": [_parameter(p) for p in operation.get("parameters", [])],
                    "security": sorted({k for s in operation.get("security", []) for k in s}),
                    "scopes": sorted(
                        {v for s in operation.get("security", []) for x in s.values() for v in x}
                    ),
                    "tag": (operation.get("tags") or [""])[0],
                    "answer": _answer(operation),
                }
            )
    return shown


@require_GET
def reference(request: HttpRequest) -> HttpResponse:
    """The API reference, rendered from the OpenAPI document (no script)."""
    document = api.get_openapi_schema()
    context = {
        "document": document,
        "description": markdown_lite(document["info"].get("description", "")),
        "operations": _operations(document),
        "schemas": sorted(document.get("components", {}).get("schemas", {})),
        "codes": _codes(),
    }
    return render(request, "api/reference.html", context)
