"""A simulated day at a trust of two schools, as deployed: the real ``flask home-visits escalate`` command every
5 minutes on a real SMTP server, ``north`` (10 minutes' grace, office closes at 16:00) and ``south`` (30 minutes,
closes at 18:00), two sweeps racing now and then, visits nobody checks out, and a visit of a school the portal
no longer lists.

Each visit's alerts arrive at the first sweep after they are due by its own school's policy, exactly once per
visit and tier; a tier due once its school's office has closed goes to that school's out-of-hours contact, as
does the end-of-day email at its own closing time; and no school's people (its office, its approvers, its
out-of-hours contact) hear about the other school's visits. The stray visit is named by every run (exit 2)
and holds up nobody.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import AuditEntry, Visit
from home_visits.safety import rules as safety

from ..conftest import DEPLOYED
from ..trust import OFFICE, STAFF, make_trust_app
from .test_safety_simulation import DAY, SWEEP_EVERY, Life, Mailbox, escalate, first_sweep

END = datetime(2026, 3, 4, 18, 30, tzinfo=timezone.utc)  # past south's closing time (GMT: London = UTC)
RACES = {datetime(2026, 3, 4, 10, 15, tzinfo=timezone.utc), datetime(2026, 3, 4, 16, 10, tzinfo=timezone.utc)}
VISITS_PER_SCHOOL = 150
ON_CALL = {"north": "on-call@north.example", "south": "on-call@south.example"}


class Envelopes(Mailbox):
    """The simulation's mail server, keeping each alert's envelope recipients and school too."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[tuple[int, str, datetime, tuple[str, ...], str]] = []
        #: Whether any email carried a pupil's name.
        self.named_a_pupil = False

    def up(self) -> None:
        from aiosmtpd.controller import Controller

        mailbox = self

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
                from email import message_from_bytes
                from email import policy as email_policy

                message = message_from_bytes(envelope.content, policy=email_policy.default)
                text = message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()
                mailbox.named_a_pupil |= any(name in text + str(message["Subject"])
                                             for name in ("Pupil north", "Pupil south", "Stray Pupil"))
                mailbox.envelopes.append((int(message["X-Home-Visit-Id"]), str(message["X-Home-Visits-Alert"]),
                                          mailbox.now, tuple(envelope.rcpt_tos), str(message["Subject"]).strip()))
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()


@pytest.fixture
def mailbox() -> Iterator[Envelopes]:
    box = Envelopes()
    box.up()
    yield box
    box.down()


@pytest.fixture
def trust_app(tmp_path: Path, mailbox: Envelopes) -> Iterator[Flask]:
    app = make_trust_app(tmp_path / "instance", HOME_VISITS_SMTP_HOST="127.0.0.1", HOME_VISITS_SMTP_PORT=mailbox.port,
                         HOME_VISITS_SMTP_TIMEOUT=5, **DEPLOYED)
    assert escalate(app, "db", "upgrade") == 0
    yield app
    state(app).engine.dispose()


def plan_school_day(rng: random.Random, grace: timedelta) -> list[Life]:
    """A school's day: starts from 08:00 to 17:30, so some visits run past either school's closing time."""
    lives = []
    for _ in range(VISITS_PER_SCHOOL):
        start = DAY + timedelta(minutes=rng.randrange(0, 9 * 60 + 31))
        expected = start + timedelta(minutes=rng.randrange(20, 121))
        roll = rng.random()
        out: datetime | None = start
        if roll < 0.08:  # nobody ever checks out
            out = None
        elif roll < 0.14:  # checked out after "not checked out yet" was due
            out = start + grace + timedelta(minutes=rng.randrange(1, 40))
        roll = rng.random()
        if out is None:
            back = None
        elif roll < 0.6:  # back in time, some in the last second of the grace
            back = max(out, expected + rng.choice([-timedelta(minutes=rng.randrange(0, 30)),
                                                   grace - timedelta(seconds=1)]))
        elif roll < 0.9:  # back late, in the first hour after overdue
            back = max(out, expected + grace + timedelta(minutes=rng.randrange(0, 60), seconds=rng.randrange(60)))
        else:
            back = None
        lives.append(Life(start, expected, out, back))
    return lives


def test_two_schools_each_visit_follows_its_own_school_and_each_on_call_hears_only_its_own(
        trust_app: Flask, mailbox: Envelopes) -> None:
    app, st = trust_app, state(trust_app)
    rng = random.Random(20260304)
    plan: dict[int, tuple[str, Life]] = {}
    with st.sessions() as session:
        rows = []
        for school in ("north", "south"):
            grace = timedelta(minutes=st.policy_for(school).rules.grace_minutes)
            lead, second = STAFF[school]
            for n, life in enumerate(plan_school_day(rng, grace)):
                visit = Visit(school_id=school, state="authorised", sequence=0, pupil=f"Pupil {school} {n}",
                              pupil_initials="P.", address=f"{n} {school.title()} Street", postcode="EX1 1AA",
                              lead_id=lead, second_staff_id=second, contact_id=OFFICE[school],
                              starts_at=life.start, expected_return=life.expected, created_at=DAY, updated_at=DAY)
                rows.append((school, life, visit))
        stray = Visit(school_id="west", state="checked_out", sequence=0, pupil="Stray Pupil", pupil_initials="S.P.",
                      address="1 West Lane", postcode="EX1 1AA", lead_id="tara", contact_id="tom", starts_at=DAY,
                      expected_return=DAY + timedelta(hours=1), checked_out_at=DAY, created_at=DAY, updated_at=DAY)
        session.add_all([visit for _school, _life, visit in rows] + [stray])
        session.commit()
        plan = {visit.id: (school, life) for school, life, visit in rows}
        stray_id = stray.id

    began = time.perf_counter()
    sweeps: list[datetime] = []
    codes: list[int] = []
    now = DAY
    while now <= END:
        with st.sessions() as session:
            for visit in session.scalars(select(Visit).where(Visit.id.in_(plan), Visit.state.in_(
                    ["authorised", "checked_out"]))):
                life = plan[visit.id][1]
                if visit.state == "authorised" and life.out is not None and life.out <= now:
                    visit.state, visit.checked_out_at = "checked_out", life.out
                if visit.state == "checked_out" and life.back is not None and life.back <= now:
                    visit.state, visit.returned_at = "returned", life.back
            session.commit()
        mailbox.now = st.clock.now = now  # type: ignore[attr-defined]
        if now in RACES:
            results: list[int] = []
            threads = [threading.Thread(target=lambda out=results: out.append(escalate(app))) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            assert len(results) == 2
            codes += results
        else:
            codes.append(escalate(app))
        sweeps.append(now)
        now += SWEEP_EVERY
    elapsed = time.perf_counter() - began

    def watched(life: Life, at: datetime) -> bool:
        return life.back is None or life.back > at

    def still_authorised(life: Life, at: datetime) -> bool:
        return life.out is None or life.out > at

    def out_now(life: Life, at: datetime) -> bool:
        return life.out is not None and life.out <= at and watched(life, at)

    expected: dict[tuple[int, str], tuple[datetime, datetime]] = {}  # -> (when due, the sweep that sends it)
    for visit_id, (school, life) in plan.items():
        policy = st.policy_for(school)
        grace = timedelta(minutes=policy.rules.grace_minutes)
        closes = safety.local_moment(life.start, policy.escalation.office_closes, policy)
        keys = [(safety.NOT_CHECKED_OUT, life.start + grace, still_authorised)]
        keys += [(f"tier-{n}", life.expected + grace + timedelta(minutes=tier.after_minutes), watched)
                 for n, tier in enumerate(policy.escalation.tiers)]
        def unresolved(life: Life, at: datetime, closes: datetime = closes, policy: Any = policy) -> bool:
            """At closing time: still out, or due out while the office was open and never checked out."""
            went_before = life.out is not None and life.out < closes and out_now(life, at)
            return went_before or (still_authorised(life, at) and safety.office_open(life.start, policy))

        keys.append((safety.END_OF_DAY, closes, unresolved))
        for key, due, needed in keys:
            sent = first_sweep(sweeps, due)
            if sent is not None and needed(life, sent):
                expected[(visit_id, key)] = (due, sent)

    got = [(visit_id, key) for visit_id, key, _at, _to, _subject in mailbox.envelopes]
    assert [k for k, n in Counter(got).items() if n > 1] == [], "an alert was emailed twice"
    arrived = {(visit_id, key): (at, to, subject) for visit_id, key, at, to, subject in mailbox.envelopes}
    assert stray_id not in {visit_id for visit_id, _key in arrived}
    missing = sorted(set(expected) - set(arrived))
    extra = sorted(set(arrived) - set(expected))
    late = sorted(k for k in expected if k in arrived and arrived[k][0] != expected[k][1])
    assert (missing, extra, late) == ([], [], []), f"missing {missing[:5]}, extra {extra[:5]}, late {late[:5]}"

    # Each school's people, and its out-of-hours contact, hear only about that school's visits; the
    # out-of-hours contact hears exactly when that school's own office is closed.
    wrong: list[tuple[int, str, tuple[str, ...]]] = []
    for (visit_id, key), (_at, to, subject) in arrived.items():
        school = plan[visit_id][0]
        other = "south" if school == "north" else "north"
        policy = st.policy_for(school)
        due = expected[(visit_id, key)][0]
        closed = key == safety.END_OF_DAY or (key == "tier-0" and not safety.office_open(due, policy))
        if (any(address.endswith(f"@{other}.example") for address in to) or (ON_CALL[school] in to) != closed
                or not subject.startswith(f"[{school.title()}] ")):
            wrong.append((visit_id, key, to))
    assert wrong == [], wrong[:5]
    assert not mailbox.named_a_pupil
    for school, address in ON_CALL.items():
        heard = {plan[visit_id][0] for (visit_id, _key), (_at, to, _s) in arrived.items() if address in to}
        assert heard == {school}, (address, heard)

    kinds = Counter((plan[visit_id][0], key) for visit_id, key in arrived)
    for school in ("north", "south"):
        assert kinds[(school, safety.NOT_CHECKED_OUT)] > 5 and kinds[(school, "tier-0")] > 20, kinds
        assert kinds[(school, safety.END_OF_DAY)] > 0 and kinds[(school, "tier-1")] > 10, kinds
    after_closing = Counter(plan[visit_id][0] for (visit_id, key), (_at, to, _s) in arrived.items()
                            if key == "tier-0" and ON_CALL[plan[visit_id][0]] in to)
    assert after_closing["north"] > 0 and after_closing["south"] > 0, after_closing
    # The stray visit stopped no one, and every run said so.
    assert set(codes) == {2}
    with st.sessions() as session:
        notes = session.scalars(select(AuditEntry.comment).where(
            AuditEntry.visit_id == stray_id, AuditEntry.action == "check_failed")).all()
    assert len(notes) == 1 and "'west'" in notes[0]
    print(f"\ntwo-school day: {len(plan)} visits, {len(sweeps)} sweeps ({len(codes)} runs), "
          f"{len(mailbox.envelopes)} alerts, {elapsed:.1f} s")
