"""SMART "context-style" (`smart_style_url`): an embedded app may look at home in the EHR.

The style document is fetched server-side (with a timeout, cached), and only values that are
plainly safe are used: colours as hex, sizes as px/em/rem, font families from a short list.
They become CSS custom properties in a same-origin stylesheet, so the strict CSP holds and
nothing from the EHR is ever injected as markup or script.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.cache import cache

from smartapp import outbound

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


def stylesheet(url: str) -> str:
    """`:root { ... }` from the EHR's style document, or an empty sheet."""
    key = f"smart-style:{url}"
    css = cache.get(key)
    if css is None:
        try:
            response = outbound.client(outbound.Purpose.STYLE).get(url)
            properties = safe_properties(response.json()) if response.status_code == 200 else {}
        except (outbound.HTTPError, ValueError):
            properties = {}
        body = "".join(f"  {name}: {value};\n" for name, value in sorted(properties.items()))
        css = f":root {{\n{body}}}\n" if body else ""
        cache.set(key, css, 3600)
    return str(css)
