"""The Flask extension object a host portal creates once and initialises per app."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from flask import Flask, Response, abort, current_app, g, request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Conflict, HTTPException

from . import config, db, errors, headers, links
from .directory import AttributeDirectory, Directory
from .feeds import StaffMark
from .policy import Policy, cached_policy

EXTENSION_KEY = "home_visits"
#: The largest id the plugin's tables can hold (PostgreSQL's INTEGER); a larger number in a URL names nothing.
MAX_ID = 2**31 - 1


@dataclass
class State:
    """Everything the plugin keeps per app, in ``app.extensions["home_visits"]``."""

    policy: Policy
    engine: Engine
    sessions: sessionmaker[Session]
    directory: Directory
    #: What "now" is; tests and simulations replace it with a controlled clock.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    #: Recently built calendar feeds by ETag key, so many subscribers of one feed cost one build.
    feed_cache: OrderedDict[Any, bytes] = field(default_factory=OrderedDict)
    #: What the feeds show about staff from the host's directory (``HOME_VISITS_DIRECTORY_REFRESH``).
    staff_mark: StaffMark = field(default_factory=lambda: StaffMark(config.HOME_VISITS_DIRECTORY_REFRESH))
    #: The headers every plugin response carries (``HOME_VISITS_SECURITY_HEADERS`` over the defaults).
    security_headers: dict[str, str] = field(default_factory=dict)
    #: Set-up problems already written to the log (each is logged once per app, not on every request).
    warned: set[str] = field(default_factory=set)


class HomeVisits:
    """Home-visit planning, authorisation and safety for a Flask portal.

    ``HomeVisits(app)`` or ``home_visits = HomeVisits()`` then ``home_visits.init_app(app)``.
    ``directory`` answers who people are (default: attributes of the host's user objects, with
    ``users`` listing them); ``engine`` hands over the host's own SQLAlchemy engine.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        directory: Directory | None = None,
        users: Callable[[], Iterable[Any]] | None = None,
        engine: Engine | None = None,
    ) -> None:
        self._options: dict[str, Any] = {"directory": directory, "users": users, "engine": engine}
        if app is not None:
            self.init_app(app)

    def init_app(
        self,
        app: Flask,
        *,
        directory: Directory | None = None,
        users: Callable[[], Iterable[Any]] | None = None,
        engine: Engine | None = None,
    ) -> None:
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "HomeVisits is already initialised on this app; call init_app once per app "
                "(create HomeVisits() without an app when you also call init_app)."
            )
        config.apply_defaults(app.config)
        policy = cached_policy(app.config["HOME_VISITS_POLICY"])  # the plugin reads app.config only
        engine = engine or self._options["engine"] or db.make_engine(
            app.config["HOME_VISITS_DATABASE_URI"] or db.sqlite_default(
                app.instance_path, file_mode=app.config["HOME_VISITS_FILE_MODE"],
                directory_mode=app.config["HOME_VISITS_DIRECTORY_MODE"])
        )
        if app.config["HOME_VISITS_AUTO_MIGRATE"]:
            db.upgrade(engine)
        users = users or self._options["users"]
        directory = directory or self._options["directory"] or AttributeDirectory(
            users, id_attr=app.config["HOME_VISITS_USER_ID_ATTR"])
        secure = headers.security_headers(app.config["HOME_VISITS_SECURITY_HEADERS"])  # bad: start-up stops
        app.extensions[EXTENSION_KEY] = State(
            policy, engine, db.session_factory(engine), directory, security_headers=secure,
            staff_mark=StaffMark(app.config["HOME_VISITS_DIRECTORY_REFRESH"]),
        )

        from .blueprint import blueprint
        from .cli import home_visits_cli
        from .handbook_cli import handbook_group

        app.register_blueprint(blueprint, url_prefix=app.config["HOME_VISITS_URL_PREFIX"])
        app.url_value_preprocessor(_limit_body)
        app.url_value_preprocessor(_refuse_impossible_ids)
        app.after_request(_add_security_headers)
        app.register_error_handler(StaleDataError, _changed_meanwhile)
        errors.handle_routing_errors(app)
        home_visits_cli.add_command(handbook_group)
        app.cli.add_command(home_visits_cli)
        app.teardown_appcontext(_close_session)
        _redact_request_logs()
        links.warn_if_unset(app)
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
    page = errors.render_error(Conflict(
        "Someone else changed this visit at the same moment. Open it again to see what they did, then try again."
    ))
    return page.get_response() if isinstance(page, HTTPException) else page


def _add_security_headers(response: Response) -> Response:
    """Add the security headers to the plugin's responses; a header the view set itself is kept
    (the Subscribe page's ``Referrer-Policy: no-referrer``). A 304 has no body for them to guard:
    the client keeps the headers of the response it revalidated."""
    if response.status_code != 304 and _is_plugin_request():
        for name, value in state(current_app).security_headers.items():
            response.headers.setdefault(name, value)
    return response


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


def _redact_request_logs() -> None:
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFeedTokens) for f in logger.filters):
            logger.addFilter(RedactFeedTokens())


def state(app: Flask) -> State:
    """The plugin's state for ``app`` (raises a clear error if ``init_app`` was never called)."""
    try:
        return app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
    except KeyError:
        raise RuntimeError("HomeVisits.init_app(app) has not been called for this app.") from None


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("home_visits_session", None)
    if session is not None:
        session.close()
