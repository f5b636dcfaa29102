"""The Flask extension object a host portal creates once and initialises per app: the top floor, which
nothing in the package imports. Per-app state lives in ``app.extensions["home_visits"]`` (``state.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from . import config, db
from .calendar.cache import EventCache
from .calendar.service import StaffMark
from .calendar.views import invite
from .cli import home_visits_cli
from .mail import webhooks
from .pages import blueprint
from .people import AttributeDirectory, Directory
from .schools import load_schools
from .state import EXTENSION_KEY, State, state
from .web import errors, guards, links
from .web.context import close_session
from .web.guards import MAX_ID, RedactFeedTokens

__all__ = ["EXTENSION_KEY", "MAX_ID", "HomeVisits", "RedactFeedTokens", "State", "state"]


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
        schools = load_schools(app.config["HOME_VISITS_SCHOOLS"], policy=app.config["HOME_VISITS_POLICY"],
                               out_of_hours_email=app.config["HOME_VISITS_OUT_OF_HOURS_EMAIL"])
        webhooks.checked_channels(app.config, schools)  # a bad channel, or one a policy lacks: start-up stops
        engine = engine or self._options["engine"] or db.make_engine(
            app.config["HOME_VISITS_DATABASE_URI"] or db.sqlite_default(
                app.instance_path, file_mode=app.config["HOME_VISITS_FILE_MODE"],
                directory_mode=app.config["HOME_VISITS_DIRECTORY_MODE"])
        )
        if app.config["HOME_VISITS_AUTO_MIGRATE"]:
            db.upgrade(engine, first_school=schools.first.id)
        users = users or self._options["users"]
        directory = directory or self._options["directory"] or AttributeDirectory(
            users, id_attr=app.config["HOME_VISITS_USER_ID_ATTR"], schools=schools.ids if schools.trust else None)
        secure = guards.security_headers(app.config["HOME_VISITS_SECURITY_HEADERS"])  # bad: start-up stops
        app.extensions[EXTENSION_KEY] = State(
            schools, engine, db.session_factory(engine), directory, security_headers=secure,
            event_cache=EventCache(),  # sized by HOME_VISITS_FEED_EVENT_CACHE when a feed is built
            staff_mark=StaffMark(app.config["HOME_VISITS_DIRECTORY_REFRESH"]),
            on_visit_change=[invite],  # calendar invitations (HOME_VISITS_CALENDAR_INVITES, Email settings)
        )
        app.register_blueprint(blueprint, url_prefix=app.config["HOME_VISITS_URL_PREFIX"])
        guards.install(app)
        errors.handle_routing_errors(app)
        app.cli.add_command(home_visits_cli)
        app.teardown_appcontext(close_session)
        links.warn_if_unset(app)
