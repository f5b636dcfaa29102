"""The feed after one visit changed, against the cold build of the same feed, through the feed URL.

    python -m tests.benchmarks.feed_cache [--sizes 5000,20000] [--out 500] [--repeat 3]

A database whose window holds ``size`` visits, ``out`` of them checked out now (today, some overdue:
the issue's trust has 20,000 visits in the window and 500 out now), an approver's feed link (so every
visit is in the feed), and the plugin's own route through Flask's test client: the poll, the window's
query, the events and the bytes. A cold build starts with an empty event cache and no built feed kept; a
rebuild follows one visit changed the way the portal changes it (an approver's decision, posted to the
plugin's own URL, untimed), with the caches as the builds before left them. Rounds alternate which goes
first; the best of each counts. Prints one line per size; exit status 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TextIO

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select, update

from home_visits.calendar import service as feeds
from home_visits.calendar.cache import EventCache
from home_visits.calendar.ical import build_feed
from home_visits.extension import state
from home_visits.models import ChangeMarker, Visit

from . import data
from .feed import ZONE, make_events
from .host import APPROVER_IDS, NOW, USERS, logged_in, make_host


def build(instance: Path, count: int, *, out: int = 0, seed: int = 16) -> tuple[Flask, str]:
    """A host whose feed window holds ``count`` visits, the first ``out`` of them checked out now (each
    went out up to three hours ago for an hour, so about three in five are overdue), and an approver's feed URL."""
    app = make_host(instance)
    st, rng, today = state(app), random.Random(seed), NOW.astimezone(data.LONDON).date()
    rows = []
    for visit_id in range(1, count + 1):
        if visit_id <= out:
            starts = NOW - timedelta(minutes=10 + visit_id * 170 // max(out, 1))
            row = data._visit(rng, visit_id, "checked_out", starts, 60)
            row.update(checked_out_at=starts, updated_at=starts)
        else:
            day = today + timedelta(days=1 + visit_id % 360)
            starts = data._at(day, 9 + visit_id % 7, 15 * (visit_id % 4))
            row = data._visit(rng, visit_id, ("authorised", "authorised", "submitted")[visit_id % 3], starts, 60)
        rows.append(row)
    for row in rows:
        if row["state"] == "authorised":
            row.update(authorised_by=APPROVER_IDS[row["id"] % len(APPROVER_IDS)], authorised_at=row["created_at"])
    with st.engine.begin() as connection:
        for start in range(0, len(rows), data.CHUNK):
            connection.execute(insert(Visit.__table__), rows[start:start + data.CHUNK])
        connection.execute(update(ChangeMarker).where(ChangeMarker.id == 1).values(counter=1, changed_at=NOW))
    with st.sessions() as session:
        person = st.directory.person(USERS[APPROVER_IDS[0]])
        token = feeds.issue(session, person, scope=feeds.scope_for(person, st.policy.rules.authorisers), now=NOW)
        session.commit()
    return app, f"/home-visits/calendar/{token}.ics"


class Changes:
    """One visit changed at a time as the portal changes it: an approver sends a submitted plan back
    for changes (the plugin's own decide URL: a new state, a new SEQUENCE, the change marker moved)."""

    def __init__(self, app: Flask) -> None:
        self.app, self.client = app, logged_in(app, APPROVER_IDS[0])
        with state(app).sessions() as session:
            query = select(Visit.id).where(Visit.state == "submitted").order_by(Visit.id)
            self.waiting = list(session.scalars(query))

    def one(self) -> int:
        visit_id = self.waiting.pop(0)
        with state(self.app).sessions() as session:
            visit = session.get(Visit, visit_id)
            assert visit is not None
            version = visit.version
        form = {"request_changes": "Send back", "version": str(version), "comment": "Say who the contact is."}
        response = self.client.post(f"/home-visits/{visit_id}/decide", data=form)
        assert response.status_code in (302, 303), (visit_id, response.status_code)
        return visit_id


def _get(client: FlaskClient, url: str) -> tuple[float, bytes]:
    began = time.perf_counter()
    response = client.get(url)
    seconds = time.perf_counter() - began
    assert response.status_code == 200, response.status_code
    return seconds, response.data


def measure(app: Flask, url: str, *, repeat: int) -> dict[str, float | bool]:
    """Best seconds of a cold build and of a rebuild after one change; whether their bytes agree."""
    st, client, changes = state(app), app.test_client(), Changes(app)

    def cold() -> tuple[float, bytes]:
        st.event_cache.clear()
        st.feed_cache.clear()
        return _get(client, url)

    _get(client, url)  # imports, the VTIMEZONE rules, a warm cache for the first rebuild
    best = {"cold": float("inf"), "rebuild": float("inf")}
    for n in range(repeat):
        for step in ("cold", "rebuild") if n % 2 == 0 else ("rebuild", "cold"):
            if step == "cold":
                seconds, _ = cold()
            else:
                changes.one()
                seconds, _ = _get(client, url)
            best[step] = min(best[step], seconds)
    changed = changes.one()
    _, rebuilt = _get(client, url)
    _, fresh = cold()
    # A cache that changed what the feed says would make any timing meaningless (the smoke test runs this).
    assert rebuilt == fresh, "the feed after one change differs from a cold build of it"
    event = rebuilt.replace(b"\r\n ", b"").split(f"home-visit-{changed}@".encode())[1].split(b"END:VEVENT")[0]
    assert b"Status: sent back for changes" in event, "the change is not in the feed"
    return {**best, "same_bytes": rebuilt == fresh, "events": float(fresh.count(b"BEGIN:VEVENT")),
            "overdue": float(fresh.count(b"OVERDUE since"))}


def serialising(size: int, *, repeat: int) -> dict[str, float]:
    """The same comparison for :func:`build_feed` alone (events in, bytes out): what the cache saves
    of the serialising, without the query and the events that every build still pays for."""
    events = make_events(size)
    options = {"name": "Home visits", "timezone": ZONE, "domain": "school.example"}
    best = {"cold": float("inf"), "rebuild": float("inf")}
    cache = EventCache()
    build_feed(events, cache=cache, **options)
    for n in range(repeat):
        events[n] = dataclasses.replace(events[n], sequence=events[n].sequence + 1)
        for step in ("cold", "rebuild") if n % 2 == 0 else ("rebuild", "cold"):
            began = time.perf_counter()
            build_feed(events, cache=EventCache() if step == "cold" else cache, **options)
            best[step] = min(best[step], time.perf_counter() - began)
    return best


def run(
    sizes: Sequence[int], *, checked_out: int = 500, repeat: int = 3, out: TextIO | None = None
) -> dict[int, dict[str, float | bool]]:
    out = out or sys.stdout
    figures = {}
    with TemporaryDirectory(prefix="home-visits-feed-cache-") as temp:
        for size in sizes:
            app, url = build(Path(temp) / str(size), size, out=min(checked_out, size // 2))
            try:
                found = figures[size] = measure(app, url, repeat=repeat)
            finally:
                state(app).engine.dispose()
            print(f"{size:>8} visits ({min(checked_out, size // 2)} out now, {found['overdue']:.0f} overdue): "
                  f"cold {found['cold']:.3f} s, after one change {found['rebuild']:.3f} s, "
                  f"ratio {found['rebuild'] / found['cold']:.3f} (goal <= 0.1), same bytes: {found['same_bytes']}",
                  file=out)
            alone = serialising(size, repeat=repeat)
            print(f"{'':>8} build_feed alone: cold {alone['cold']:.3f} s, after one change {alone['rebuild']:.3f} s, "
                  f"ratio {alone['rebuild'] / alone['cold']:.3f}", file=out)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.feed_cache", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,20000", help="visits in the window (default %(default)s)")
    parser.add_argument("--out", type=int, default=500, help="visits checked out now (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best counts (default %(default)s)")
    args = parser.parse_args(argv)
    run([int(size) for size in args.sizes.split(",") if size.strip()], checked_out=args.out, repeat=args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
