"""SMART "context-style" (`smart_style_url`): an embedded app may look at home in the EHR.

The style document is fetched server-side, and only from the EHR's own origins: the URL comes
from the token response, so fetching it anywhere would let an EHR (or whoever tampers with its
answer) aim our server at internal addresses (server-side request forgery). The fetch is
capped in bytes and time and cached, failures included. Only values that are plainly safe are
used: colours as hex, sizes as px/em/rem, font families from a short list.
They become CSS custom properties in a same-origin stylesheet, so the strict CSP holds and
nothing from the EHR is ever injected as markup or script.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from django.core.cache import cache

from smart.url_policy import is_same_origin_url
from smartapp import outbound
from smartapp.models import EhrConnection, Launch

MAX_STYLE_BYTES = 16 * 1024  # a style document is a few hundred bytes
MAX_STYLE_SECONDS = 3.0

COLOR = re.compile(r"#[0-9a-fA-F]{3,8}")
SIZE = re.compile(r"\d{1,3}(\.\d{1,2})?(px|em|rem)")
FONTS = {"system-ui", "sans-serif", "serif", "arial", "helvetica", "roboto", "segoe ui",
         "verdana", "georgia"}  # fmt: skip
PROPERTIES = {
    "color_background": ("--bg", COLOR),
    "color_text": ("--fg", COLOR),
    "color_highlight": ("--accent", COLOR),
    "color_error": ("--error", COLOR),
    "color_success": ("--success", COLOR),
    "dim_font_size": ("--font-size", SIZE),
    "dim_border_radius": ("--radius", SIZE),
    "dim_spacing_size": ("--spacing", SIZE),
}


def safe_properties(document: Any) -> dict[str, str]:
    if not isinstance(document, dict):
        return {}
    out = {}
    for key, (prop, pattern) in PROPERTIES.items():
        value = document.get(key)
        if isinstance(value, str) and pattern.fullmatch(value.strip()):
            out[prop] = value.strip()
    family = document.get("font_family_body")
    if isinstance(family, str):
        names = [name.strip().strip("'\"").lower() for name in family.split(",")]
        if names and all(name in FONTS for name in names):
            out["--font"] = ", ".join(names)
    return out


def style_origins(connection: EhrConnection) -> tuple[str, ...]:
    """The origins a connection's style document may come from: its FHIR base's, then the
    EHR origins registered to frame the app."""
    base = urlsplit(connection.iss)
    return (f"{base.scheme}://{base.netloc}", *connection.frame_origins)


def stylesheet_for(launch: Launch) -> str:
    """The launch's style sheet, or an empty one (no style URL, or not on the EHR's origins)."""
    if not launch.smart_style_url:
        return ""
    return stylesheet(launch.smart_style_url, style_origins(launch.connection))


def _fetch(url: str) -> dict[str, str]:
    try:
        response = outbound.get_capped(
            outbound.Purpose.STYLE, url, max_bytes=MAX_STYLE_BYTES, max_seconds=MAX_STYLE_SECONDS
        )
        return safe_properties(response.json()) if response.status_code == 200 else {}
    except (outbound.HTTPError, ValueError):
        return {}


COLOURS = frozenset(prop for prop, pattern in PROPERTIES.values() if pattern is COLOR)


def _sheet(properties: dict[str, str]) -> str:
    """The properties as CSS. The EHR's colours are a light palette: they apply unless the
    user asked for a dark theme (`prefers-color-scheme`), where ours keep the text legible."""

    def rule(names: list[str]) -> str:
        return ":root {\n" + "".join(f"  {n}: {properties[n]};\n" for n in names) + "}\n"

    colours = sorted(n for n in properties if n in COLOURS)
    others = sorted(n for n in properties if n not in COLOURS)
    css = rule(others) if others else ""
    if colours:
        css += "@media not all and (prefers-color-scheme: dark) {\n" + rule(colours) + "}\n"
    return css


def stylesheet(url: str, origins: Collection[str]) -> str:
    """`:root { ... }` from the EHR's style document, or an empty sheet.

    Nothing is requested unless `url` is on one of `origins` (`style_origins`).
    """
    if not is_same_origin_url(url, origins):
        return ""
    key = "smart-style:" + hashlib.sha256(url.encode()).hexdigest()
    css = cache.get(key)
    if css is None:
        css = _sheet(_fetch(url))
        cache.set(key, css, 3600)
    return str(css)
