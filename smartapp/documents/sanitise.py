"""EHR documents in HTML or XHTML, made safe to put in the app's page (pure).

A note written in HTML is shown inside the app's own page, so what reaches the browser must
not be able to run script, submit a form, load anything from elsewhere or restyle the page.
The sanitiser is ammonia (through nh3), a maintained HTML5 parser-based allow-list sanitiser,
set up as follows:

- an allow-list of text and table elements: headings, paragraphs, lists, tables, emphasis,
  pre and code, quotes, line breaks. Everything else is dropped with its tags kept out but its
  text kept (an unknown `<section>` still shows its words), except the elements whose content
  is not text a reader should see, which are dropped whole: script, style, title, noscript,
  template, iframe, object, embed, svg, math, select, textarea;
- no event handler, `style`, `class` or `id` attribute (no styling, no DOM clobbering of the
  page's own ids);
- links only to `https:` URLs, with `rel="noopener noreferrer nofollow"`; images only from
  `data:image/(png|jpeg|gif|webp)` URLs inside the document itself; no relative URLs (a
  `<base>` is dropped anyway): nothing in a note makes the browser fetch from another origin.

The page's Content-Security-Policy (script-src 'self', img-src 'self' data:, no inline
style) is the second line: even markup the sanitiser let through could not run or load.
"""

from __future__ import annotations

import nh3

TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
        "dd", "del", "dfn", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
        "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "time", "tr", "u", "ul", "var",
    }
)  # fmt: skip
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "title", "noscript", "template", "iframe", "object", "embed",
        "svg", "math", "select", "textarea",
    }
)  # fmt: skip
ATTRIBUTES = {
    "*": {"lang", "dir", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "ol": {"start", "reversed"},
    "time": {"datetime"},
}
IMAGE_PREFIXES = tuple(f"data:image/{kind};" for kind in ("png", "jpeg", "gif", "webp"))


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """The URL rules ammonia's scheme list cannot say per element: `a href` https only,
    `img src` inline raster images only."""
    if tag == "a" and attribute == "href":
        return value if value.lower().startswith("https://") else None
    if tag == "img" and attribute == "src":
        return value if value.lower().startswith(IMAGE_PREFIXES) else None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
    attribute_filter=_keep_attribute,
    link_rel="noopener noreferrer nofollow",
    url_schemes={"https", "data"},
    url_relative="deny",
    strip_comments=True,
)


def clean_html(html: str) -> str:
    """The note's HTML with only the allow-listed elements and attributes left."""
    return str(_CLEANER.clean(html))
