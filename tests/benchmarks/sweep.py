"""The escalation sweep (what ``flask home-visits escalate`` runs from cron) over years of history.

Each run starts from a fresh byte copy of the database (the sweep raises, sends and records alerts,
so a second run on the same file would do less) with a fresh engine, as a cron run would, and sends
through a recording mailer (no SMTP). Runs alternate between the small and the big database.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from home_visits import db as plugin_db
from home_visits.models import Visit
from home_visits.policy import cached_policy
from home_visits.safety import sweep as escalation
from tests.conftest import User

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


# --- a trust of many schools: one sweep for all of them, against one school's ------------------------------

#: Visits out now at each school of a trust, of which :data:`TRUST_OVERDUE` are overdue.
TRUST_OUT, TRUST_OVERDUE = 10, 4


def _trust_people(school_ids: Sequence[str], *, trust: bool) -> list[Any]:
    """Two staff, an approver and an office at each school (roles ``north:staff``; plain in one school),
    and in a trust a trust-wide approver and office."""
    def role(school: str, name: str) -> str:
        return f"{school}:{name}" if trust else name

    users = []
    for school in school_ids:
        for uid, roles in ((f"{school}-s1", ("staff",)), (f"{school}-s2", ("staff",)),
                           (f"{school}-a", ("approver",)), (f"{school}-o", ("office",))):
            users.append(User(uid, f"Person {uid}", f"{uid}@school.example", "07700 900000",
                              tuple(role(school, r) for r in roles)))
    if trust:
        users.append(User("trust-a", "Trust Approver", "trust-a@school.example", "", ("trust:approver",)))
        users.append(User("trust-o", "Trust Office", "trust-o@school.example", "", ("trust:office",)))
    return users


def _out_now(school_ids: Sequence[str]) -> list[Any]:
    """:data:`TRUST_OUT` visits out now at each school, :data:`TRUST_OVERDUE` of them past return + grace."""
    visits = []
    for school in school_ids:
        for n in range(TRUST_OUT):
            late = n < TRUST_OVERDUE
            start = NOW - timedelta(minutes=90 if late else 30)
            visits.append(Visit(
                school_id=school, state="checked_out", sequence=0, pupil=f"Pupil {school} {n}", pupil_initials="P.",
                address=f"{n} Test Street", postcode="EX1 1AA", lead_id=f"{school}-s1", second_staff_id=f"{school}-s2",
                contact_id=f"{school}-o", starts_at=start, checked_out_at=start,
                expected_return=start + timedelta(minutes=45 if late else 60), created_at=start, updated_at=start))
    return visits


def _trust_database(path: Path, school_ids: Sequence[str]) -> None:
    engine = plugin_db.make_engine(f"sqlite:///{path}")
    try:
        plugin_db.upgrade(engine, first_school=school_ids[0])
        with plugin_db.session_factory(engine)() as session:
            session.add_all(_out_now(school_ids))
            session.commit()
    finally:
        engine.dispose()


def _trust_context(school_ids: Sequence[str], mailer: RecordingMailer, *, trust: bool) -> escalation.Context:
    from home_visits.people import AttributeDirectory
    from home_visits.schools import School, Schools

    policy = cached_policy(None)
    users = _trust_people(school_ids, trust=trust)
    schools = Schools([School(i, f"School {i}", i, policy, office_email=f"office@{i}.example",
                              out_of_hours_email=f"on-call@{i}.example") for i in school_ids],
                      trust_policy=policy, trust=True) if trust else None
    return escalation.Context(
        policy=policy, directory=AttributeDirectory(lambda: users, schools=school_ids if trust else None),
        mailer=mailer, link=lambda visit_id: f"https://portal.school.example/home-visits/{visit_id}",
        out_of_hours_email="head.on.call@school.example", schools=schools)


def measure_trust(scratch: Path, *, schools: int, runs: int) -> dict[str, float]:
    """The sweep of a trust (``schools`` schools, :data:`TRUST_OUT` out at each) against one school's
    (:data:`TRUST_OUT` out), best of ``runs`` each: the first sweep of the moment (raising and sending
    every due alert) and the next one (nothing new due: the cron's usual run). Seconds, and emails sent."""
    scratch.mkdir(parents=True, exist_ok=True)
    kinds = {"trust": [f"s{n:02d}" for n in range(schools)], "one": ["school"]}
    for kind, ids in kinds.items():
        _trust_database(scratch / f"{kind}.sqlite", ids)
    best: dict[str, float] = {}
    for n in range(runs):
        for kind in ("trust", "one") if n % 2 else ("one", "trust"):
            path = scratch / f"{kind}-run.sqlite"
            shutil.copyfile(scratch / f"{kind}.sqlite", path)
            engine = plugin_db.make_engine(f"sqlite:///{path}")
            mailer = RecordingMailer()
            try:
                with plugin_db.session_factory(engine)() as session:
                    context = _trust_context(kinds[kind], mailer, trust=kind == "trust")
                    for sweep_name in ("first", "next"):
                        began = time.perf_counter()
                        result = escalation.sweep(session, context, NOW)
                        elapsed = time.perf_counter() - began
                        key = f"{kind}_{sweep_name}"
                        best[key] = min(best.get(key, elapsed), elapsed)
                        if result.failed or result.broken:
                            raise RuntimeError(f"the {kind} sweep failed: {result}")
            finally:
                engine.dispose()
            best[f"{kind}_emails"] = len(mailer.sent)
    return best


# --- a webhook channel that never answers: one timeout a sweep, not one per alert ---------------------------

#: New alerts in the sweep with a dead channel.
DEAD_ALERTS = 50


def _silent_channel() -> Any:
    """A loopback port that takes connections (the kernel's backlog) and never answers a byte."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(DEAD_ALERTS * 2)
    return listener


def measure_dead_channel(scratch: Path, *, runs: int, timeout: float) -> dict[str, float]:
    """Best seconds of ``runs`` first sweeps raising :data:`DEAD_ALERTS` alerts: with every tier-0 alert
    also sent to a webhook channel that never answers (``timeout`` seconds), and the same without channels."""
    from home_visits.mail.webhooks import Channel

    scratch.mkdir(parents=True, exist_ok=True)
    _trust_database(scratch / "dead.sqlite", ["school"])
    engine = plugin_db.make_engine(f"sqlite:///{scratch / 'dead.sqlite'}")
    with plugin_db.session_factory(engine)() as session:  # every visit overdue: one new tier-0 alert each
        late = NOW - timedelta(minutes=90)
        session.add_all([Visit(
            school_id="school", state="checked_out", sequence=0, pupil=f"Pupil {n}", pupil_initials="P.",
            address=f"{n} Late Lane", postcode="EX1 1AA", lead_id="school-s1", contact_id="school-o", starts_at=late,
            checked_out_at=late, expected_return=late + timedelta(minutes=45), created_at=late, updated_at=late)
            for n in range(DEAD_ALERTS - TRUST_OVERDUE)])
        session.commit()
    engine.dispose()
    listener = _silent_channel()
    dead = Channel("webhook:dead", f"http://127.0.0.1:{listener.getsockname()[1]}/", "standard",
                   "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    base = cached_policy(None)
    tiers = [base.escalation.tiers[0].model_copy(update={"notify": [*base.escalation.tiers[0].notify, dead.name]}),
             *base.escalation.tiers[1:]]
    with_channel = base.model_copy(update={"escalation": base.escalation.model_copy(update={"tiers": tiers})})
    best: dict[str, float] = {}
    try:
        for n in range(runs):
            for kind in ("channel", "email") if n % 2 else ("email", "channel"):
                path = scratch / f"dead-{kind}.sqlite"
                shutil.copyfile(scratch / "dead.sqlite", path)
                engine = plugin_db.make_engine(f"sqlite:///{path}")
                mailer = RecordingMailer()
                context = _trust_context(["school"], mailer, trust=False)
                if kind == "channel":
                    from dataclasses import replace

                    context = replace(context, policy=with_channel, schools=None, channels={dead.name: dead},
                                      webhook_timeout=timeout)
                try:
                    with plugin_db.session_factory(engine)() as session:
                        began = time.perf_counter()
                        result = escalation.sweep(session, context, NOW)
                        elapsed = time.perf_counter() - began
                finally:
                    engine.dispose()
                if result.raised < DEAD_ALERTS or result.failed or (kind == "channel") != bool(result.channels_failed):
                    raise RuntimeError(f"the {kind} sweep did not do what it should: {result}")
                best[kind] = min(best.get(kind, elapsed), elapsed)
                best[f"{kind}_webhook_failures"] = result.channels_failed
    finally:
        listener.close()
    return best
