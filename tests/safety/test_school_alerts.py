"""The safety chain in a trust: each visit follows its own school's grace, closing time and tiers, and its
alerts reach that school's office, approvers and out-of-hours contact (plus trust-wide people), never
another school's. A visit of a school the portal no longer lists is a problem of that visit only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import AuditEntry, Visit

from ..conftest import Inbox
from ..trust import make_trust_app, signed_in, visit_factory

MORNING = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)  # the default plan's start (GMT: London = UTC)
AFTERNOON = datetime(2026, 3, 4, 15, 30, tzinfo=timezone.utc)


@pytest.fixture
def trust(tmp_path: Path, smtp_server: Inbox) -> Iterator[Flask]:
    app = make_trust_app(tmp_path / "instance", HOME_VISITS_SMTP_HOST="127.0.0.1",
                         HOME_VISITS_SMTP_PORT=smtp_server.port, HOME_VISITS_SMTP_TIMEOUT=5,
                         HOME_VISITS_PUBLIC_URL="https://portal.trust.example")
    yield app
    state(app).engine.dispose()


def escalate(app: Flask, at: datetime) -> Any:
    state(app).clock.now = at  # type: ignore[attr-defined]
    return app.test_cli_runner().invoke(args=["home-visits", "escalate"])


def received(inbox: Inbox) -> dict[tuple[str, str], tuple[set[str], str]]:
    """(visit id, alert key) -> (recipients, subject) of every alert the mail server received; each once."""
    found: dict[tuple[str, str], tuple[set[str], str]] = {}
    for message in inbox.messages:
        key = (str(message["X-Home-Visit-Id"]), str(message["X-Home-Visits-Alert"]))
        assert key not in found, f"{key} arrived twice"
        found[key] = ({a.addr_spec for a in message["To"].addresses}, str(message["Subject"]).strip())
    return found


def check_out(app: Flask, visit: Visit, who: str) -> None:
    state(app).clock.now = visit.starts_at  # type: ignore[attr-defined]
    assert signed_in(app, who).post(f"/home-visits/{visit.id}/check-out").status_code == 302


def test_a_missed_check_out_follows_each_school_s_grace_and_reaches_only_its_people(
        trust: Flask, smtp_server: Inbox) -> None:
    make = visit_factory(trust)
    north, south = make("north"), make("south")
    assert escalate(trust, MORNING + timedelta(minutes=9)).exit_code == 0
    assert smtp_server.messages == []
    assert escalate(trust, MORNING + timedelta(minutes=10)).exit_code == 0  # north's grace is 10 minutes
    assert received(smtp_server) == {(str(north.id), "not-checked-out"): (
        {"nina@north.example", "office@north.example"},
        "[North] NOT CHECKED OUT: Nina North, home visit due to start at 10:00")}
    assert escalate(trust, MORNING + timedelta(minutes=29)).exit_code == 0
    assert len(smtp_server.messages) == 1
    assert escalate(trust, MORNING + timedelta(minutes=30)).exit_code == 0  # south's is 30
    assert received(smtp_server)[(str(south.id), "not-checked-out")] == (
        {"sol@south.example", "office@south.example"},
        "[South] NOT CHECKED OUT: Sol South, home visit due to start at 10:00")
    for message in smtp_server.messages:
        assert "Jamie" not in message.as_string() and "Smith" not in message.as_string()


def test_tiers_and_the_end_of_day_follow_each_school_s_closing_time(trust: Flask, smtp_server: Inbox) -> None:
    make = visit_factory(trust)
    back = AFTERNOON + timedelta(minutes=30)
    north = make("north", starts_at=AFTERNOON, expected_return=back)
    south = make("south", starts_at=AFTERNOON, expected_return=back)
    check_out(trust, north, "nina")
    check_out(trust, south, "sol")
    n, s = str(north.id), str(south.id)
    timeline = [
        # north closes at 16:00: the end-of-day email goes then, and its first tier (16:10) finds it closed
        (datetime(2026, 3, 4, 16, 0, tzinfo=timezone.utc), {(n, "end-of-day"): {"on-call@north.example"}}),
        (datetime(2026, 3, 4, 16, 10, tzinfo=timezone.utc),
         {(n, "tier-0"): {"office@north.example", "on-call@north.example"}}),
        # south allows 30 minutes' grace and is open till 18:00: its office hears, with the trust's office
        (datetime(2026, 3, 4, 16, 30, tzinfo=timezone.utc),
         {(s, "tier-0"): {"office@south.example", "tom@trust.example"}}),
        (datetime(2026, 3, 4, 16, 40, tzinfo=timezone.utc),
         {(n, "tier-1"): {"noor@north.example", "tom@trust.example", "ned@north.example"}}),
        (datetime(2026, 3, 4, 17, 0, tzinfo=timezone.utc),
         {(s, "tier-1"): {"sky@south.example", "tom@trust.example", "sid@south.example"}}),
        (datetime(2026, 3, 4, 17, 59, tzinfo=timezone.utc), {}),
        (datetime(2026, 3, 4, 18, 0, tzinfo=timezone.utc), {(s, "end-of-day"): {"on-call@south.example"}}),
    ]
    seen: set[tuple[str, str]] = set()
    for at, new in timeline:
        result = escalate(trust, at)
        assert result.exit_code == 0, result.output
        got = received(smtp_server)
        assert {key: to for key, (to, _subject) in got.items() if key not in seen} == new, at
        seen |= set(got)
    for (visit_id, _key), (_to, subject) in received(smtp_server).items():
        assert subject.startswith("[North] " if visit_id == n else "[South] "), subject
    for message in smtp_server.messages:
        text = message.get_body(("plain",)).get_content()
        assert ("North Primary" in text) == (message["X-Home-Visit-Id"] == n), text


def test_alarms_and_incidents_reach_the_visit_s_school_and_the_trust_wide_contacts(
        trust: Flask, smtp_server: Inbox) -> None:
    trust.config["HOME_VISITS_INCIDENT_EMAILS"] = ("safety@trust.example",)
    make = visit_factory(trust)
    south = make("south")
    check_out(trust, south, "sol")
    assert signed_in(trust, "sol").post(f"/home-visits/{south.id}/incident", data={"kind": "injury"}).status_code == 302
    assert signed_in(trust, "sid").post(f"/home-visits/{south.id}/alert").status_code == 302
    got = received(smtp_server)
    assert got[(str(south.id), "incident-1")][0] == {"sky@south.example", "tom@trust.example", "safety@trust.example"}
    assert got[(str(south.id), "manual-1")][0] == {
        "office@south.example", "tom@trust.example", "sky@south.example", "sid@south.example"}
    assert all(subject.startswith("[South] ") for _to, subject in got.values()), got


def test_a_visit_of_a_school_no_longer_listed_fails_alone(trust: Flask, smtp_server: Inbox) -> None:
    make = visit_factory(trust)
    north = make("north")
    stray = make("south")
    with state(trust).sessions() as session:
        session.get(Visit, stray.id).school_id = "west"
        session.commit()
    result = escalate(trust, MORNING + timedelta(minutes=40))
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"The sweep failed on 1 visit(s) ({stray.id})") and last.endswith("(exit 2)")
    assert "Jamie" not in result.output and "Smith" not in result.output
    assert set(received(smtp_server)) == {(str(north.id), "not-checked-out")}
    escalate(trust, MORNING + timedelta(minutes=45))
    with state(trust).sessions() as session:
        notes = session.scalars(select(AuditEntry.comment).where(
            AuditEntry.visit_id == stray.id, AuditEntry.action == "check_failed")).all()
    assert len(notes) == 1 and "'west'" in notes[0]
