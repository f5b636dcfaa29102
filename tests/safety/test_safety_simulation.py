"""A simulated school day, as deployed: 1,000 visits, the real ``flask home-visits escalate`` command every
5 minutes, a real SMTP server on loopback that is down for 30 minutes, two sweeps racing now and then,
a visit with an impossible date in the database, and visits nobody checks out.

Every due alert arrives at the first sweep after it is due (or after the mail server is back), exactly
once per visit and tier; nothing arrives for a visit that closed off in time; the bad visit is named in
each sweep's output and its own history and never holds up anyone else's alert.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from home_visits.cli import home_visits_cli
from home_visits.extension import state
from home_visits.models import AuditEntry, Visit
from home_visits.safety import rules as safety

from ..conftest import DEPLOYED, WEBHOOK_SECRET, Receiver, free_port, make_app

DAY = datetime(2026, 3, 4, 8, 0, tzinfo=timezone.utc)  # 08:00 in London (GMT)
SWEEP_EVERY = timedelta(minutes=5)
END = datetime(2026, 3, 4, 17, 0, tzinfo=timezone.utc)  # before the office closes at 17:30
MAIL_DOWN = (datetime(2026, 3, 4, 11, 0, tzinfo=timezone.utc), datetime(2026, 3, 4, 11, 30, tzinfo=timezone.utc))
RACES = {datetime(2026, 3, 4, 9, 30, tzinfo=timezone.utc), datetime(2026, 3, 4, 12, 15, tzinfo=timezone.utc),
         datetime(2026, 3, 4, 14, 0, tzinfo=timezone.utc)}
#: A visit "out until the end of time": stored before dates were checked on entry.
IMPOSSIBLE = datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc)


@dataclass
class Life:
    """What happens to one visit: when its staff check out (None: never) and come back (None: not today)."""

    start: datetime
    expected: datetime
    out: datetime | None
    back: datetime | None


class Mailbox:
    """A real SMTP server on a fixed loopback port that the test can take down and bring back."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[int, str, datetime, str]] = []
        #: (visit id, alert key) -> who it went to.
        self.recipients: dict[tuple[int, str], set[str]] = {}
        self.now = DAY
        self._controller: Any = None

    def up(self) -> None:
        from aiosmtpd.controller import Controller

        mailbox = self

        class Handler:
            async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
                from email import message_from_bytes
                from email import policy as email_policy

                message = message_from_bytes(envelope.content, policy=email_policy.default)
                key = (int(message["X-Home-Visit-Id"]), str(message["X-Home-Visits-Alert"]))
                mailbox.received.append((*key, mailbox.now, message.get_body(("plain",)).get_content()))
                mailbox.recipients[key] = {address.addr_spec for address in message["To"].addresses}
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.up()
    yield box
    box.down()


#: The day is a listed closure (a training day on which some visits still go ahead): the office is closed all
#: day, so the first tier reaches the out-of-hours contact, and by a webhook channel too.
CLOSED_DAY_POLICY = """extends: default
escalation:
  tiers:
    - {after_minutes: 0, notify: [responsible_contact, office, "webhook:on-call"]}
    - {after_minutes: 30, notify: [approvers, second_staff]}
  office:
    closed:
      - {from: 2026-03-04, to: 2026-03-04, why: Training day}
"""
COVER = "head.on.call@school.example"


@pytest.fixture
def deployed_app(tmp_path: Path, mailbox: Mailbox, receiver: Receiver) -> Iterator[Flask]:
    policy = tmp_path / "school.yaml"
    policy.write_text(CLOSED_DAY_POLICY, encoding="utf-8")
    hooks = {"on-call": {"url": receiver.url("/sms"), "secret": WEBHOOK_SECRET, "format": "standard"}}
    app = make_app(tmp_path / "instance", HOME_VISITS_SMTP_HOST="127.0.0.1", HOME_VISITS_SMTP_PORT=mailbox.port,
                   HOME_VISITS_SMTP_TIMEOUT=5, HOME_VISITS_POLICY=str(policy), HOME_VISITS_ALERT_WEBHOOKS=hooks,
                   HOME_VISITS_OUT_OF_HOURS_EMAIL=COVER, **DEPLOYED)
    assert escalate(app, "db", "upgrade") == 0
    yield app
    state(app).engine.dispose()


def escalate(app: Flask, *args: str) -> int:
    """Run ``flask home-visits ...`` as the flask command would, in this thread; its exit code."""
    try:
        home_visits_cli.main(list(args or ["escalate"]), prog_name="flask home-visits", standalone_mode=False,
                             obj=ScriptInfo(create_app=lambda: app))
    except SystemExit as stop:
        return int(stop.code or 0)
    return 0


def plan_the_day(rng: random.Random) -> list[Life]:
    grace = timedelta(minutes=15)
    lives = []
    for _ in range(1000):
        start = DAY + timedelta(minutes=rng.randrange(0, 6 * 60))
        expected = start + timedelta(minutes=rng.randrange(20, 121))
        roll = rng.random()
        out: datetime | None = start
        if roll < 0.08:  # nobody ever checks out, and nobody says the visit is off
            out = None
        elif roll < 0.14:  # checked out late, after the "not checked out yet" alert was due
            out = start + grace + timedelta(minutes=rng.randrange(1, 40))
        roll = rng.random()
        if out is None:
            back = None
        elif roll < 0.6:  # back in time, some in the last second of the grace
            early = -timedelta(minutes=rng.randrange(0, 30))
            back = max(out, expected + rng.choice([early, grace - timedelta(seconds=1)]))
        elif roll < 0.9:  # back late, somewhere in the first hour after overdue
            back = max(out, expected + grace + timedelta(minutes=rng.randrange(0, 60), seconds=rng.randrange(60)))
        else:
            back = None
        lives.append(Life(start, expected, out, back))
    return lives


def first_sweep(sweeps: list[datetime], at: datetime) -> datetime | None:
    return next((s for s in sweeps if s >= at), None)


def test_a_deployed_day_every_due_alert_arrives_once_and_on_time(deployed_app: Flask, mailbox: Mailbox,
                                                                 receiver: Receiver, capsys: Any) -> None:
    app, st = deployed_app, state(deployed_app)
    policy = st.policy
    lives = plan_the_day(random.Random(20260304))
    with st.sessions() as session:
        visits = [Visit(state="authorised", sequence=0, pupil=f"Pupil {n}", pupil_initials="P.",
                        address=f"{n} Test Street", postcode="EX1 1AA", lead_id="sam", second_staff_id="jo",
                        contact_id="pat", starts_at=life.start, expected_return=life.expected, created_at=DAY,
                        updated_at=DAY) for n, life in enumerate(lives)]
        bad = Visit(state="checked_out", sequence=0, pupil="Bad Date", pupil_initials="B.D.", address="1 Far Lane",
                    postcode="EX1 1AA", lead_id="kim", contact_id="pat", starts_at=DAY, expected_return=IMPOSSIBLE,
                    checked_out_at=DAY, created_at=DAY, updated_at=DAY)
        session.add_all([*visits, bad])
        session.commit()
        plan = {visit.id: life for visit, life in zip(visits, lives, strict=True)}
        bad_id = bad.id

    sweeps: list[datetime] = []
    codes: list[int] = []
    now = DAY
    while now <= END:
        with st.sessions() as session:
            for visit in session.scalars(select(Visit).where(Visit.id.in_(plan), Visit.state.in_(
                    ["authorised", "checked_out"]))):
                life = plan[visit.id]
                if visit.state == "authorised" and life.out is not None and life.out <= now:
                    visit.state, visit.checked_out_at = "checked_out", life.out
                if visit.state == "checked_out" and life.back is not None and life.back <= now:
                    visit.state, visit.returned_at = "returned", life.back
            session.commit()
        if now == MAIL_DOWN[0]:
            mailbox.down()
        if now == MAIL_DOWN[1]:
            mailbox.up()
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

    mail_up = [s for s in sweeps if not MAIL_DOWN[0] <= s < MAIL_DOWN[1]]
    grace = timedelta(minutes=policy.rules.grace_minutes)

    def watched(life: Life, at: datetime) -> bool:
        """Whether the chain still watches this visit at sweep ``at`` (authorised or out)."""
        return life.back is None or life.back > at

    def still_authorised(life: Life, at: datetime) -> bool:
        return life.out is None or life.out > at

    expected: dict[tuple[int, str], datetime] = {}
    by_webhook: set[int] = set()  # visits whose first tier the channel must carry, at the sweep that raised it
    for visit_id, life in plan.items():
        keys = [(safety.NOT_CHECKED_OUT, life.start + grace, still_authorised)]
        keys += [(f"tier-{n}", life.expected + grace + timedelta(minutes=tier.after_minutes), watched)
                 for n, tier in enumerate(policy.escalation.tiers)]
        for key, due, needed in keys:
            raised = first_sweep(sweeps, due)
            if raised is None or not needed(life, raised):
                continue
            if key == "tier-0":
                by_webhook.add(visit_id)
            arrives = first_sweep(mail_up, raised)
            if arrives is not None and needed(life, arrives):
                expected[(visit_id, key)] = arrives

    got = [(visit_id, key) for visit_id, key, _at, _text in mailbox.received]
    assert [k for k, n in Counter(got).items() if n > 1] == [], "an alert was emailed twice"
    arrived = {(visit_id, key): at for visit_id, key, at, _text in mailbox.received}
    assert bad_id not in {visit_id for visit_id, _key in arrived}
    missing = sorted(set(expected) - set(arrived))
    extra = sorted(set(arrived) - set(expected))
    late = sorted(k for k in expected if k in arrived and arrived[k] != expected[k])
    assert (missing, extra, late) == ([], [], []), f"missing {missing[:5]}, extra {extra[:5]}, late {late[:5]}"
    kinds = Counter(key for _visit, key in arrived)
    assert kinds[safety.NOT_CHECKED_OUT] > 50 and kinds["tier-0"] > 200 and kinds["tier-1"] > 100, kinds
    assert any(at == MAIL_DOWN[1] for at in arrived.values()), "nothing waited for the mail server"
    # The closed day: every first tier reached the out-of-hours contact; and the channel carried each once,
    # mail server down or not, signed, with no pupil's name.
    assert all(COVER in to for (_visit, key), to in mailbox.recipients.items() if key == "tier-0")
    hooked = Counter(body["visit_id"] for path, _wid, body in receiver.delivered if path == "/sms")
    assert set(hooked) == by_webhook and set(hooked.values()) == {1}
    assert all(ok for *_rest, ok in receiver.requests)
    assert not any("Pupil" in json.dumps(body) for _path, _wid, body in receiver.delivered)
    lasts = [line for line in capsys.readouterr().out.splitlines() if line.endswith("(exit 2)")]
    assert len(lasts) == len(codes) and all("Sent: " in line for line in lasts)
    assert any("by email" in line and "by webhook:on-call" in line for line in lasts)  # each channel counted
    for _visit, _key, _at, text in mailbox.received:
        assert "https://portal.school.example/home-visits/" in text and "localhost" not in text
    # The bad visit stopped no one, and every run said so: exit 2 (a visit failed), never a crash.
    assert set(codes) == {2}
    with st.sessions() as session:
        notes = session.scalars(select(AuditEntry.comment).where(
            AuditEntry.visit_id == bad_id, AuditEntry.action == "check_failed")).all()
    assert len(notes) == 1 and "OverflowError" in notes[0]
