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
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, render_template, request
from sqlalchemy import func, select, union

from home_visits import extension, services, views
from home_visits.directory import Directory, Person
from home_visits.extension import state
from home_visits.models import Visit

INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_home_visits_visit_starts ON home_visits_visit (starts_at, id)",
    "CREATE INDEX IF NOT EXISTS ix_home_visits_visit_second_starts ON home_visits_visit (second_staff_id, starts_at, id)",
    "CREATE INDEX IF NOT EXISTS ix_home_visits_visit_contact_starts ON home_visits_visit (contact_id, starts_at, id)",
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
    if feed:  # the one-query 304 and the cached 200 are in the plugin now
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
