"""Security headers for the plugin's responses: the defaults, merged with what the host configured.

Pure: :func:`security_headers` turns ``HOME_VISITS_SECURITY_HEADERS`` into the headers to send;
the extension adds them to responses of the plugin's own pages (never to the host's).
"""

from __future__ import annotations

from collections.abc import Mapping

#: The plugin's pages load scripts, styles and images only from the portal itself (its templates
#: have no inline script, no event-handler attributes and no ``style=``), are never framed, and
#: forms post only back to the portal.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

DEFAULTS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Links out of the portal (the handbook on another host, say) carry no path: visit ids stay inside.
    "Referrer-Policy": "same-origin",
    # For browsers too old for frame-ancestors.
    "X-Frame-Options": "DENY",
    # Pages and downloads hold pupils' names, addresses, records and calendar links: no browser, proxy
    # or shared computer keeps a copy. A view that sets its own (the calendar feed, revalidated by its
    # ETag; static files) keeps it.
    "Cache-Control": "no-store",
}


def security_headers(overrides: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The default headers with ``overrides`` merged over them: a string replaces (or adds) a header,
    ``None`` removes it. Header names match whatever their case; the override's spelling is kept."""
    merged = {name.lower(): (name, value) for name, value in DEFAULTS.items()}
    for name, value in (overrides or {}).items():
        if not isinstance(name, str) or not (value is None or isinstance(value, str)):
            raise TypeError(
                "HOME_VISITS_SECURITY_HEADERS maps header names to strings (or None to leave a header out), "
                f"not {name!r}: {value!r}"
            )
        if value is not None and ("\r" in value or "\n" in value):
            raise ValueError(f"HOME_VISITS_SECURITY_HEADERS[{name!r}] must be one line")
        merged[name.lower()] = (name, value)
    return {name: value for name, value in merged.values() if value is not None}
