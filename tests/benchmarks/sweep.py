"""The escalation sweep (what ``flask home-visits escalate`` runs from cron) over years of history.

Each run starts from a fresh byte copy of the database (the sweep raises, sends and records alerts,
so a second run on the same file would do less) with a fresh engine, as a cron run would, and sends
through a recording mailer (no SMTP). Runs alternate between the small and the big database.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from home_visits import db as plugin_db
from home_visits.policy import cached_policy
from home_visits.safety import sweep as escalation

from .data import Database
from .host import NOW, USERS


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[tuple[str, ...], str]] = []

    def __call__(self, to: Sequence[str], subject: str, text: str, **_extra: object) -> None:
        self.sent.append((tuple(to), subject))


def context(mailer: RecordingMailer) -> escalation.Context:
    from home_visits.people import AttributeDirectory

    return escalation.Context(
        policy=cached_policy(None), directory=AttributeDirectory(USERS.values), mailer=mailer,
        link=lambda visit_id: f"https://portal.school.example/home-visits/{visit_id}",
        out_of_hours_email="head.on.call@school.example",
    )


def one_sweep(db: Database, scratch: Path) -> tuple[float, int]:
    """Seconds for one sweep on a fresh copy of ``db``, and how many emails it sent."""
    path = db.copy_to(scratch)
    engine = plugin_db.make_engine(f"sqlite:///{path}")
    mailer = RecordingMailer()
    try:
        with plugin_db.session_factory(engine)() as session:
            began = time.perf_counter()
            result = escalation.sweep(session, context(mailer), NOW)
            elapsed = time.perf_counter() - began
    finally:
        engine.dispose()
    if result.failed or not mailer.sent:
        raise RuntimeError(f"the sweep should send alerts for the overdue visits: {result}")
    return elapsed, len(mailer.sent)


def measure(small: Database, big: Database, scratch: Path, *, runs: int) -> tuple[float, float, int]:
    """Best seconds of ``runs`` sweeps on ``big`` and on ``small``, and emails per sweep."""
    times: dict[int, list[float]] = {0: [], 1: []}
    emails = set()
    for n in range(runs):
        for i in (0, 1) if n % 2 else (1, 0):
            elapsed, sent = one_sweep((small, big)[i], scratch / f"sweep-{i}")
            times[i].append(elapsed)
            emails.add(sent)
    if len(emails) != 1:
        raise RuntimeError(f"the sweeps sent different numbers of emails: {emails}")
    return min(times[1]), min(times[0]), emails.pop()
