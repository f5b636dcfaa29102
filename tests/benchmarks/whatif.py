"""Proposed fixes, tried on scratch copies inside the benchmark only (the plugin is not changed).

Each is the smallest change that would meet a missed goal, written here so the figures in the README
can be reproduced; the lead moves the ones we keep into the plugin. Nothing here is imported by the
plugin or by the tests.

* :class:`FastDirectory`: ``find`` by id from a dict, not by building and sorting every person.
* :func:`fast_feed`: ``feed_views.feed`` with one Core query for token, change marker and the number
  of overdue visits (instead of three ORM queries), and the built bytes cached by ETag; with it, the
  security headers worked out once and left off 304s (:func:`_lean_security_headers`).
* :func:`fixed_my_visits`: ``views.my_visits`` paging one person's visits through a UNION of three
  index-ordered, limited scans (lead, second member of staff, contact) instead of sorting all of them.
* :data:`INDEXES`: the indexes those queries need (a migration would add them).
* :func:`lazy_package`: the plugin with a lazy ``home_visits/__init__.py``, so the handbook's macros
  import the policy without Flask, SQLAlchemy and Alembic.
* :func:`trimmed`: the feed without the optional CREATED, LAST-MODIFIED and URL properties.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections import OrderedDict
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, current_app, render_template, request
from sqlalchemy import bindparam, func, select, union

from home_visits import extension, feed_views, feeds, services, views, workflow
from home_visits.directory import Directory, Person
from home_visits.extension import state
from home_visits.models import ChangeMarker, FeedToken, Visit

INDEXES = (
    "CREATE INDEX ix_home_visits_visit_starts ON home_visits_visit (starts_at, id)",
    "CREATE INDEX ix_home_visits_visit_second_starts ON home_visits_visit (second_staff_id, starts_at, id)",
    "CREATE INDEX ix_home_visits_visit_contact_starts ON home_visits_visit (contact_id, starts_at, id)",
)


def add_indexes(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        for statement in INDEXES:
            connection.execute(statement)


class FastDirectory:
    """The host's directory, with ``find`` from a dict built once (the benchmark's users never change)."""

    def __init__(self, inner: Directory) -> None:
        self.inner = inner
        self.people = {person.id: person for person in inner.staff()}

    def person(self, user: Any) -> Person:
        return self.inner.person(user)

    def find(self, person_id: str) -> Person | None:
        return self.people.get(person_id)

    def staff(self) -> list[Person]:
        return list(self.people.values())


# --- the feed: one query for the 304, cached bytes for the 200 --------------------------------------

_OVERDUE = (
    select(func.count()).select_from(Visit)
    .where(Visit.state == workflow.CHECKED_OUT, Visit.expected_return <= bindparam("late"))
    .scalar_subquery()
)
#: The live token, the change marker and how many visits are overdue, in one round trip. A count is
#: enough for the ETag: while the marker stands still no visit changes, so the overdue set only grows.
FEED_STATE = (
    select(FeedToken.id, FeedToken.person_id, FeedToken.scope, ChangeMarker.counter, ChangeMarker.changed_at,
           _OVERDUE.label("overdue"))
    .select_from(FeedToken).join(ChangeMarker, ChangeMarker.id == 1)
    .where(FeedToken.token_hash == bindparam("digest"), FeedToken.revoked_at.is_(None))
)
CACHE_SIZE = 32


def fast_feed(token: str) -> Response:
    """``feed_views.feed`` with the two fixes; same headers, same bytes."""
    st, config = state(current_app), current_app.config
    if not 20 <= len(token) <= 100:
        abort(404)
    policy, now = st.policy, st.clock()
    with st.engine.connect() as connection:
        row = connection.execute(FEED_STATE, {"digest": feeds.hash_token(token),
                                              "late": now - timedelta(minutes=policy.rules.grace_minutes)}).first()
    person = st.directory.find(row.person_id) if row else None
    if row is None or person is None or not person.roles:
        abort(404)
    scope = feeds.scope_for(person, policy.rules.authorisers)
    window = feed_views.window_from_config()
    settings = repr((scope, window, config["HOME_VISITS_FEED_DETAIL"], config["HOME_VISITS_FEED_REFRESH"],
                     config["HOME_VISITS_FEED_NAME"], config["HOME_VISITS_DOMAIN"], policy.school.timezone))
    today = now.astimezone(policy.zone).date()
    tag = feeds.etag(row.counter, row, today.isoformat(), settings, [row.overdue])
    midnight = datetime.combine(today, time(0), tzinfo=policy.zone).astimezone(timezone.utc)
    last_modified = max(row.changed_at.replace(tzinfo=timezone.utc), midnight).replace(microsecond=0)
    headers = {"Cache-Control": "private, no-cache", "Content-Type": "text/calendar; charset=utf-8"}
    if request.if_none_match:
        fresh = request.if_none_match.contains(tag)
    else:
        fresh = request.if_modified_since is not None and last_modified <= request.if_modified_since
    if fresh:
        response = Response(status=304, headers=headers)
    else:
        owner = None if scope == feeds.ALL else person.id
        key = (row.counter, owner, today, settings, row.overdue)  # shared by every subscriber of the same feed
        cache: OrderedDict[Any, bytes] = current_app.extensions.setdefault("home_visits_bench_cache", OrderedDict())
        body = cache.get(key)
        if body is None:
            body = cache[key] = feed_views.feed_bytes(window, person_id=owner)
            while len(cache) > CACHE_SIZE:
                cache.popitem(last=False)
        response = Response(body, headers=headers)
    response.set_etag(tag)
    response.last_modified = last_modified
    return response


# --- "my visits": page through three index scans ---------------------------------------------------


def fixed_my_visits() -> str:
    """``views.my_visits`` with one person's page found through a UNION of limited index scans."""
    me = views.current_person()
    everyone = request.args.get("scope") == "all" and views._sees_all(me)
    size, number, session = current_app.config["HOME_VISITS_PER_PAGE"], views._page_number(), views.db_session()
    order = (Visit.starts_at.desc(), Visit.id.desc())
    if everyone:
        visits, total = services.page(session, select(Visit).order_by(*order), number=number, size=size)
    else:
        scans = [
            select(Visit.id, Visit.starts_at).where(column == me.id).order_by(*order).limit(number * size).subquery()
            for column in (Visit.lead_id, Visit.second_staff_id, Visit.contact_id)
        ]
        mine = union(*(select(scan.c.id, scan.c.starts_at) for scan in scans)).subquery()
        ids = (select(mine.c.id).order_by(mine.c.starts_at.desc(), mine.c.id.desc())
               .limit(size).offset((number - 1) * size))
        visits = list(session.scalars(select(Visit).where(Visit.id.in_(ids)).order_by(*order)))
        everything = services.visible_to(me, everyone=False).order_by(None).subquery()
        total = session.scalar(select(func.count()).select_from(everything)) or 0
    return render_template(
        "home_visits/my_visits.html", visits=visits, total=total, page=number, size=size,
        everyone=everyone, can_see_all=views._sees_all(me), me=me,
    )


def _lean_security_headers(app: Flask) -> None:
    """The plugin's ``after_request`` security headers, worked out once instead of on every response,
    and left off 304s (a 304 carries only the validators and caching headers; clients keep the rest)."""
    original = getattr(extension, "_add_security_headers", None)
    funcs = app.after_request_funcs.get(None, [])
    if original is None or original not in funcs or not hasattr(extension, "headers"):
        return  # the plugin changed how it adds them: nothing to replace
    computed = list(extension.headers.security_headers(app.config["HOME_VISITS_SECURITY_HEADERS"]).items())

    def add_security_headers(response: Response) -> Response:
        if response.status_code != 304 and extension._is_plugin_request():
            for name, value in computed:
                response.headers.setdefault(name, value)
        return response

    funcs[funcs.index(original)] = add_security_headers


def apply(app: Flask, *, feed: bool = False, my_visits: bool = False) -> None:
    """Put the proposed fixes into ``app`` (a benchmark app, never the plugin's code)."""
    st = state(app)
    st.directory = FastDirectory(st.directory)
    if feed:
        app.view_functions["home_visits.feed"] = fast_feed
        _lean_security_headers(app)
    if my_visits:
        app.view_functions["home_visits.my_visits"] = fixed_my_visits


# --- the handbook: a lazy package ---------------------------------------------------------------

LAZY_INIT = '''"""Home visits (benchmark scratch copy: the proposed lazy package __init__)."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .directory import AttributeDirectory, Directory, Person
    from .extension import HomeVisits
    from .policy import Policy, PolicyError, load_policy

__version__ = "0.1.0"

_HOMES = {"AttributeDirectory": ".directory", "Directory": ".directory", "Person": ".directory",
          "HomeVisits": ".extension", "Policy": ".policy", "PolicyError": ".policy", "load_policy": ".policy"}
__all__ = [*sorted(_HOMES), "__version__"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
'''


def lazy_package(target: Path) -> Path:
    """A copy of the plugin package under ``target`` with the lazy ``__init__``; put ``target`` first
    on ``PYTHONPATH`` and ``import home_visits.policy`` no longer imports Flask or SQLAlchemy."""
    import home_visits

    source = Path(home_visits.__file__).parent
    shutil.copytree(source, target / "home_visits", ignore=shutil.ignore_patterns("__pycache__"))
    (target / "home_visits" / "__init__.py").write_text(LAZY_INIT, encoding="utf-8")
    return target


# --- the feed's size ----------------------------------------------------------------------------

OPTIONAL = (b"CREATED", b"LAST-MODIFIED", b"URL")


def trimmed(body: bytes) -> bytes:
    """``body`` without the optional CREATED, LAST-MODIFIED and URL properties (and their folds)."""
    kept, skipping = [], False
    for line in body.split(b"\r\n"):
        if line.startswith(b" ") and skipping:
            continue
        skipping = any(line.startswith(name + b":") or line.startswith(name + b";") for name in OPTIONAL)
        if not skipping:
            kept.append(line)
    return b"\r\n".join(kept)
