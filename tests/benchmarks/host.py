"""A host portal for the benchmarks: Flask-Login users (a trust-sized staff list), the plugin embedded,
a fixed clock, and two bare routes that are the yardsticks for the calendar feed over HTTP.

Like ``tests.conftest.make_app``, but with many staff (visits spread over them) and without pytest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask_login import LoginManager

from home_visits import HomeVisits
from home_visits.extension import state
from tests.conftest import User
from tests.conftest import signed_in as logged_in

__all__ = ["NOW", "USERS", "dispose", "logged_in", "make_host"]

#: Tuesday 10 March 2026, 11:30 in London (GMT, so also 11:30 UTC): "now" for every measure.
NOW = datetime(2026, 3, 10, 11, 30, tzinfo=timezone.utc)

#: How many of each kind of person the trust has.
STAFF, APPROVERS, OFFICE = 60, 6, 3


FIRST = ("Sam", "Jo", "Kim", "Alex", "Blair", "Pat", "Ravi", "Aisha", "Tom", "Niamh", "Femi", "Zofia")
LAST = ("Patel", "Jones", "Lee", "Morgan", "Shaw", "Okafor", "Kowalski", "Brennan", "Hughes", "Khan", "Evans")


def _user(uid: str, n: int, roles: tuple[str, ...]) -> User:
    name = f"{FIRST[n % len(FIRST)]} {LAST[(n * 7) % len(LAST)]}"
    return User(uid, name, f"{uid}@school.example", f"07700 9{n:05d}", roles)


def make_users() -> dict[str, User]:
    """``s001``... (staff), ``a01``... (staff and approver), ``o01``... (office)."""
    users = [_user(f"s{n:03d}", n, ("staff",)) for n in range(1, STAFF + 1)]
    users += [_user(f"a{n:02d}", 100 + n, ("staff", "approver")) for n in range(1, APPROVERS + 1)]
    users += [_user(f"o{n:02d}", 200 + n, ("office",)) for n in range(1, OFFICE + 1)]
    return {user.id: user for user in users}


USERS = make_users()
STAFF_IDS = [uid for uid, user in USERS.items() if "staff" in user.roles]
APPROVER_IDS = [uid for uid, user in USERS.items() if "approver" in user.roles]
OFFICE_IDS = [uid for uid, user in USERS.items() if "office" in user.roles]

#: The bare routes the feed is compared with: what the cheapest possible answer costs on the same server.
BARE_304, BARE_200 = "/bench/bare-304", "/bench/bare-200"
BARE_ETAG = "0123456789abcdef0123456789abcdef"


def make_host(instance: Path, *, now: datetime = NOW, users: Mapping[str, User] | None = None,
              **config: Any) -> Flask:
    """The host portal on ``instance`` (the plugin migrates its SQLite file there on start); ``users``:
    the host's people (:data:`USERS` when not given)."""
    users = USERS if users is None else users
    app = Flask("benchmark_host", instance_path=str(instance), root_path=str(instance))
    app.config.update(SECRET_KEY="benchmark", WTF_CSRF_ENABLED=False, HOME_VISITS_DATABASE_URI=None,
                      HOME_VISITS_PUBLIC_URL="https://portal.school.example")
    app.config.update(config)
    LoginManager(app).user_loader(users.get)
    HomeVisits(app, users=users.values)
    state(app).clock = lambda: now
    #: The bytes the bare 200 route returns; the benchmark puts the plugin's own feed here.
    app.config["BENCH_FEED_BYTES"] = b""

    @app.get(BARE_304)
    def bare_304() -> Response:
        if request.if_none_match.contains(BARE_ETAG):
            response = Response(status=304)
        else:
            response = Response(b"", content_type="text/calendar; charset=utf-8")
        response.set_etag(BARE_ETAG)
        return response

    @app.get(BARE_200)
    def bare_200() -> Response:
        return Response(app.config["BENCH_FEED_BYTES"], content_type="text/calendar; charset=utf-8")

    return app


def dispose(app: Flask) -> None:
    state(app).engine.dispose()


