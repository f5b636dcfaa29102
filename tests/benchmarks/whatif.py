"""Fixes not yet in the plugin, tried on the benchmark's feed server only (the plugin is not changed).

Everything this module used to try (the one-query 304 and cached 200, indexed paging of "my visits",
the lazy package, the smaller feed, a fast ``find``) is in the plugin now. What is left, both for the
feed's per-request cost:

* :func:`prebuilt_poll`: ``feeds.poll`` with its statement built once, with bind parameters for the
  token digest and the overdue cut-off. The plugin builds the ``select`` on every request: making
  it and its cache key costs about 1 ms, running it on SQLite about 0.1 ms.
* :func:`lean_security_headers`: the ``after_request`` security headers worked out once instead of
  on every response, and left off 304s (a 304 carries only validators and caching headers; the
  client keeps the rest from the 200 it revalidates).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from flask import Flask, Response
from sqlalchemy import Connection, bindparam, func, select

from home_visits import extension, feeds, workflow
from home_visits.models import ChangeMarker, FeedToken, UTCDateTime, Visit

_LATE = (Visit.state == workflow.CHECKED_OUT, Visit.expected_return <= bindparam("late"))
POLL = (
    select(FeedToken.id, FeedToken.person_id, FeedToken.token_hash, ChangeMarker.counter, ChangeMarker.changed_at,
           select(func.count()).select_from(Visit).where(*_LATE).scalar_subquery().label("overdue"),
           select(func.max(Visit.expected_return)).where(*_LATE).scalar_subquery().label("latest"))
    .select_from(FeedToken).join(ChangeMarker, ChangeMarker.id == 1)
    .where(FeedToken.token_hash == bindparam("digest"), FeedToken.revoked_at.is_(None))
)


def prebuilt_poll(connection: Connection, token: str, *, late: datetime) -> feeds.Poll | None:
    """``feeds.poll`` running :data:`POLL`, the same statement built once."""
    if not 20 <= len(token) <= 100:
        return None
    digest = feeds.hash_token(token)
    row = connection.execute(POLL, {"digest": digest, "late": late}).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    latest = UTCDateTime().process_result_value(row.latest, connection.dialect) if row.latest else None
    return feeds.Poll(row.id, row.person_id, row.counter, row.changed_at, row.overdue, latest)


def lean_security_headers(app: Flask) -> bool:
    """Replace the plugin's ``_add_security_headers`` in ``app``; False if the plugin no longer
    registers it (it changed how it adds them: nothing to try)."""
    original = getattr(extension, "_add_security_headers", None)
    funcs = app.after_request_funcs.get(None, [])
    if original is None or original not in funcs:
        return False
    computed = list(extension.headers.security_headers(app.config["HOME_VISITS_SECURITY_HEADERS"]).items())

    def add_security_headers(response: Response) -> Response:
        if response.status_code != 304 and extension._is_plugin_request():
            for name, value in computed:
                response.headers.setdefault(name, value)
        return response

    funcs[funcs.index(original)] = add_security_headers
    return True


@contextmanager
def applied(app: Flask) -> Iterator[str]:
    """Both fixes in ``app`` (``feeds.poll`` is replaced process-wide, so only inside this block);
    yields what was applied, for the table."""
    done = ["feeds.poll statement built once, with bind parameters"]
    if lean_security_headers(app):
        done.append("security headers worked out once, left off 304s")
    original, feeds.poll = feeds.poll, prebuilt_poll
    try:
        yield "; ".join(done)
    finally:
        feeds.poll = original
