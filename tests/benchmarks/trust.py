"""A trust at the issue's scale against one school: the pages that must not grow with the trust.

    python -m tests.benchmarks.trust [--schools 50] [--requests 60]

The trust: ``schools`` schools, :data:`IN_WINDOW` visits each in the calendar window (50 x 400 = 20,000)
and :data:`sweep.TRUST_OUT` out now at each (500), :data:`sweep.TRUST_OVERDUE` of them overdue. The one
school: the same school's share (400 in the window, 10 out), with no ``HOME_VISITS_SCHOOLS`` at all.
Measured through Flask's test client, alternating between the two portals, p95 of ``requests`` each:

- the trust's office dashboard (every school, grouped) against one school's office dashboard;
- "my visits" of a member of staff of one school in the trust against the same in the one-school portal.

Prints one line per page; exit status 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TextIO

from flask import Flask
from sqlalchemy import insert

from home_visits.extension import state
from home_visits.models import Visit
from tests.conftest import User

from . import data
from .host import NOW, logged_in, make_host
from .pages import p95
from .sweep import TRUST_OUT, TRUST_OVERDUE

#: Visits of each school in the calendar window (planned, authorised or waiting, over the year ahead).
IN_WINDOW = 400
#: Who opens each page, in the trust and in the one school (``{school}`` is the school's id).
PAGES = (("dashboard", "dashboard (who is out)", "/home-visits/dashboard", "trust-office", "{school}-o"),
         ("my_visits", '"my visits", one school\'s staff', "/home-visits/", "{first}-s3", "{school}-s3"))


def people(school_ids: Sequence[str], *, trust: bool) -> dict[str, User]:
    """Six staff, an approver and an office at each school; in a trust, a trust-wide office too."""
    def role(school: str, name: str) -> tuple[str, ...]:
        return (f"{school}:{name}",) if trust else (name,)

    users = []
    for n, school in enumerate(school_ids):
        users += [User(f"{school}-s{k}", f"Staff {k} of {school}", f"s{k}@{school}.example", f"07700 9{n:03d}{k:02d}",
                       role(school, "staff")) for k in range(1, 7)]
        users.append(User(f"{school}-a", f"Head of {school}", f"head@{school}.example", "", role(school, "approver")))
        users.append(User(f"{school}-o", f"Office of {school}", f"office@{school}.example", "", role(school, "office")))
    if trust:
        users.append(User("trust-office", "Trust Office", "office@trust.example", "", ("trust:office",)))
    return {user.id: user for user in users}


def _rows(school: str, first_id: int, rng: random.Random) -> list[dict[str, Any]]:
    """One school's visits: :data:`IN_WINDOW` over the year ahead, then those out now."""
    today, rows = NOW.astimezone(data.LONDON).date(), []
    staff = [f"{school}-s{k}" for k in range(1, 7)]

    def add(state_: str, starts: Any, **changes: Any) -> None:
        row = data._visit(rng, first_id + len(rows), state_, starts, 60)
        lead = staff[len(rows) % len(staff)]
        row.update(school_id=school, lead_id=lead, second_staff_id=staff[(len(rows) + 1) % len(staff)],
                   contact_id=f"{school}-o", **changes)
        if row["authorised_by"]:
            row["authorised_by"] = f"{school}-a"
        rows.append(row)

    for n in range(IN_WINDOW):
        add(("authorised", "authorised", "submitted")[n % 3],
            data._at(today + timedelta(days=1 + n % 360), 9 + n % 7, 15 * (n % 4)))
    for n in range(TRUST_OUT):
        back = NOW - timedelta(minutes=40 + n) if n < TRUST_OVERDUE else NOW + timedelta(minutes=20 + 5 * n)
        starts = back - timedelta(minutes=60)
        add("checked_out", starts, checked_out_at=starts, authorised_by=f"{school}-a",
            authorised_at=starts - timedelta(days=1), updated_at=starts)
    return rows


def build(instance: Path, school_ids: Sequence[str], *, trust: bool) -> tuple[Flask, dict[str, User]]:
    """A portal (a trust of ``school_ids``, or one school) with its visits inserted in bulk."""
    users = people(school_ids, trust=trust)
    config: dict[str, Any] = {}
    if trust:
        config["HOME_VISITS_SCHOOLS"] = [{"id": school, "name": f"School {school}", "short": school}
                                         for school in school_ids]
    app = make_host(instance, users=users, **config)
    rng, rows = random.Random(16), []
    for school in school_ids:
        rows += _rows(school, len(rows) + 1, rng)
    with state(app).engine.begin() as connection:
        for start in range(0, len(rows), data.CHUNK):
            connection.execute(insert(Visit.__table__), rows[start:start + data.CHUNK])
    return app, users


def measure(work: Path, *, schools: int, requests: int, warmup: int = 3) -> dict[str, tuple[float, float]]:
    """p95 seconds of each page: {page id: (trust, one school)}."""
    ids = [f"s{n:02d}" for n in range(1, schools + 1)]
    trust, _ = build(work / "trust", ids, trust=True)
    one, _ = build(work / "one", ["school"], trust=False)
    try:
        clients = {}
        for page_id, _name, _url, in_trust, in_one in PAGES:
            clients["trust", page_id] = logged_in(trust, in_trust.format(first=ids[0], school=ids[0]))
            clients["one", page_id] = logged_in(one, in_one.format(school="school"))
        times: dict[tuple[str, str], list[float]] = {key: [] for key in clients}
        for round_ in range(warmup + requests):
            for page_id, _name, url, _t, _o in PAGES:
                for kind in ("trust", "one") if round_ % 2 else ("one", "trust"):
                    began = time.perf_counter()
                    response = clients[kind, page_id].get(url)
                    elapsed = time.perf_counter() - began
                    if response.status_code != 200:
                        raise RuntimeError(f"{url} in the {kind} portal answered {response.status_code}")
                    if round_ >= warmup:
                        times[kind, page_id].append(elapsed)
        return {page_id: (p95(times["trust", page_id]), p95(times["one", page_id])) for page_id, *_ in PAGES}
    finally:
        for app in (trust, one):
            state(app).engine.dispose()


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.trust", description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args(argv)
    with TemporaryDirectory(prefix="home-visits-trust-") as temp:
        figures = measure(Path(temp), schools=args.schools, requests=args.requests)
    for page_id, name, *_ in PAGES:
        trust, one = figures[page_id]
        print(f"{name}: trust of {args.schools} schools p95 {trust * 1000:.1f} ms, one school {one * 1000:.1f} ms, "
              f"ratio {trust / one:.2f}", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
