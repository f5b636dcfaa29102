"""Every absolute link the plugin builds: in emails, calendar events, published files and the Subscribe page.

One function, the same inside a request and inside a cron command. The base comes from configuration
(``HOME_VISITS_PUBLIC_URL``), never from a request's ``Host`` header unless Flask was told which hosts
to trust (``TRUSTED_HOSTS``) or the app runs in debug mode; otherwise links point at
:data:`FALLBACK`, which is wrong for anyone else but never an attacker's host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_request_context, request

#: The base used when nothing better is configured: right only on the machine itself.
FALLBACK = "http://localhost"

#: Said once at start-up, and by each command that emails or writes links, when the key is unset.
UNSET_WARNING = (
    "HOME_VISITS_PUBLIC_URL is not set: links in emails, calendar feeds and published calendars will "
    f"point at {FALLBACK}. Set HOME_VISITS_PUBLIC_URL to the portal's public address, for example "
    '"https://portal.school.example".'
)


def configured(app: Flask) -> bool:
    """Whether the school has said where the portal lives."""
    return bool(app.config.get("HOME_VISITS_PUBLIC_URL"))


def _request_host_trusted(app: Flask) -> bool:
    """A request's host may stand in for the public URL only when Flask checks it (``TRUSTED_HOSTS``,
    where a host outside the list gets 400 before any view runs) or on a developer's machine (debug)."""
    return bool(app.config.get("TRUSTED_HOSTS")) or app.debug


def base_url() -> str:
    """Scheme, host and any path prefix that every link starts with (no trailing slash)."""
    app = current_app
    if configured(app):
        return str(app.config["HOME_VISITS_PUBLIC_URL"]).rstrip("/")
    if has_request_context() and _request_host_trusted(app):
        return request.root_url.rstrip("/")
    return FALLBACK


def public_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint``: :func:`base_url` plus the route's path, built from the app's URL
    map so that no ``SERVER_NAME`` and no request are needed."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return base_url() + path


def visit_link(visit_id: int) -> str:
    """The visit's page at the portal's public address (for emails and calendars)."""
    return public_url("home_visits.visit", visit_id=visit_id)


#: The id a link is first built with, then replaced: ten digits, the most a visit id has.
_MARK = 7318250946


def visit_links() -> Callable[[int], str]:
    """:func:`visit_link` for many visits (a feed's thousands): the URL map builds one link, and each id
    then takes the place of the one it was built with. Every link is exactly what :func:`visit_link`
    gives; should the built path not hold the id once (a converter that writes ids otherwise), each
    link is built in full."""
    path = current_app.url_map.bind("localhost").build("home_visits.visit", {"visit_id": _MARK})
    if path.count(str(_MARK)) != 1:
        return visit_link
    before, _, after = path.partition(str(_MARK))
    prefix = base_url() + before

    def link(visit_id: int) -> str:
        return f"{prefix}{visit_id}{after}"

    return link


def warn_if_unset(app: Flask) -> None:
    """Log :data:`UNSET_WARNING` once at start-up, outside debug and testing."""
    if not configured(app) and not (app.debug or app.testing):
        app.logger.warning(UNSET_WARNING)
