"""The guards around the plugin's routes: the body cap, impossible ids, security headers, CSRF on the one-tap
buttons, a clear 409 for a lost race, and calendar tokens kept out of request logs.

:func:`security_headers` turns ``HOME_VISITS_SECURITY_HEADERS`` into the headers to send; :func:`install`
puts every guard on the app, for the plugin's own routes only (never the host's).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, abort, current_app, request
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Conflict, HTTPException
from wtforms import SubmitField

from .context import get_state
from .errors import render_error

#: The largest id the plugin's tables can hold (PostgreSQL's INTEGER); a larger number in a URL names nothing.
MAX_ID = 2**31 - 1

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


def install(app: Flask) -> None:
    """Put the guards on ``app``: they act on the plugin's routes only."""
    app.url_value_preprocessor(_limit_body)
    app.url_value_preprocessor(_refuse_impossible_ids)
    app.after_request(_add_security_headers)
    app.register_error_handler(StaleDataError, _changed_meanwhile)
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFeedTokens) for f in logger.filters):
            logger.addFilter(RedactFeedTokens())
    app.logger.addFilter(RedactFeedTokens())  # Flask logs "Exception on <path>" when a view fails


def _is_plugin_request() -> bool:
    """True while serving one of the plugin's own routes (also when the host nests its blueprint)."""
    name = request.blueprint
    return name is not None and name.rpartition(".")[2] == "home_visits"


def _limit_body(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Cap request bodies on the plugin's routes (413 beyond ``HOME_VISITS_MAX_CONTENT_LENGTH``), even
    when the host sets no ``MAX_CONTENT_LENGTH``; the smaller of the two wins. Registered as a URL value
    preprocessor because those run before every ``before_request`` function, so the cap is in place
    before anything (a host's ``CSRFProtect``, say) reads the form."""
    if not _is_plugin_request():
        return
    limit = current_app.config["HOME_VISITS_MAX_CONTENT_LENGTH"]
    host = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is None:
        return
    limit = limit if host is None else min(limit, host)
    if (request.content_length or 0) > limit:  # declared too large: refused before any view runs
        abort(413)
    try:
        request.max_content_length = limit  # Flask 3.1: a per-request limit, for streamed bodies too
    except AttributeError:  # Flask 3.0: the property is read-only; the Content-Length check above holds
        pass


def _refuse_impossible_ids(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """404 for a number in a plugin URL beyond any id the database can hold, before a query would
    overflow (SQLite: OverflowError; PostgreSQL: "integer out of range")."""
    if _is_plugin_request() and values and any(
        isinstance(value, int) and not 0 <= value <= MAX_ID for value in values.values()
    ):
        abort(404)


def _changed_meanwhile(error: StaleDataError) -> Response:
    """Two people saved the same visit at the same moment and the version column stopped the second
    (say two leaders pressed Authorise together): a 409 that says so, never a 500. Outside the plugin's
    routes the error goes on to the host's own handling, as before."""
    if not _is_plugin_request():
        raise error
    page = render_error(Conflict(
        "Someone else changed this visit at the same moment. Open it again to see what they did, then try again."
    ))
    return page.get_response() if isinstance(page, HTTPException) else page


def _add_security_headers(response: Response) -> Response:
    """Add the security headers to the plugin's responses; a header the view set itself is kept
    (the Subscribe page's ``Referrer-Policy: no-referrer``). A 304 has no body for them to guard:
    the client keeps the headers of the response it revalidated."""
    if response.status_code != 304 and _is_plugin_request():
        for name, value in get_state().security_headers.items():
            response.headers.setdefault(name, value)
    return response


class SafetyForm(FlaskForm):
    """The one-tap buttons (check out, back safe, alert, handling it): CSRF only."""

    go = SubmitField()


def one_tap() -> None:
    """Refuse a one-tap button's POST without a valid CSRF token (400)."""
    if not SafetyForm().validate():
        abort(400, "The request was incomplete or expired: reload the page and try again.")


class RedactFeedTokens(logging.Filter):
    """Keep calendar feed tokens out of request logs (the dev server, waitress, gunicorn)."""

    #: Whatever follows /calendar/, with or without ``.ics``: a mistyped link still carries a live token.
    PATTERN = re.compile(r"(/calendar/)[A-Za-z0-9_-]{8,}")

    def _clean(self, value: Any) -> Any:
        return self.PATTERN.sub(r"\1[redacted]", value) if isinstance(value, str) else value

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._clean(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: self._clean(value) for key, value in record.args.items()}
        elif record.args:
            record.args = tuple(self._clean(value) for value in record.args)
        return True


#: Loggers that write request lines with the URL in them (gunicorn.error: "Error handling request <url>").
REQUEST_LOGGERS = ("werkzeug", "waitress", "gunicorn.access", "gunicorn.error")
