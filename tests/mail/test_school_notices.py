"""Plan emails in a trust: a plan goes to the approvers of its own school (trust approvers too), decisions,
reminders and the morning digest name the school, and nobody hears about a school that is not theirs. A
trust-wide office gets one digest covering its schools, grouped by school."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from home_visits.extension import state
from home_visits.models import AuditEntry, Visit

from ..conftest import Inbox, form_data, submit_plan, valid_plan
from ..trust import make_trust_app, signed_in, visit_factory
from .test_notices import body, no_pupil_name, to


@pytest.fixture
def trust(tmp_path: Path, smtp_server: Inbox) -> Iterator[Flask]:
    app = make_trust_app(tmp_path / "instance", HOME_VISITS_SMTP_HOST="127.0.0.1",
                         HOME_VISITS_SMTP_PORT=smtp_server.port, HOME_VISITS_SMTP_TIMEOUT=5)
    yield app
    state(app).engine.dispose()


def plan(school: str, **changes: Any) -> dict[str, Any]:
    """The plan form of a plan at ``school`` by its staff."""
    people = {"north": ("nina", "ned", "nell"), "south": ("sol", "sid", "sue")}[school]
    return form_data(valid_plan(lead_id=people[0], second_staff_id=people[1], contact_id=people[2], **changes))


def test_a_plan_goes_to_its_own_school_s_approvers_and_names_the_school(trust: Flask, smtp_server: Inbox) -> None:
    assert submit_plan(signed_in(trust, "nina"), plan("north"), "/home-visits/new?school=north").status_code == 302
    (message,) = smtp_server.messages
    assert to(message) == {"noor@north.example", "tom@trust.example"}
    assert message["Subject"] == "[North] Plan to authorise: home visit Wed 04 Mar, J.S."
    assert "School: North Primary" in body(message)
    smtp_server.clear()
    assert submit_plan(signed_in(trust, "tara"), plan("south"), "/home-visits/new?school=south").status_code == 302
    assert to(smtp_server.messages[0]) == {"sky@south.example", "tom@trust.example"}
    no_pupil_name(smtp_server, "Jamie", "Smith")


def test_the_safeguarding_lead_route_is_asked_at_the_plan_s_school(trust: Flask, smtp_server: Inbox) -> None:
    data = plan("south", reason="signs-of-distress")
    assert submit_plan(signed_in(trust, "sol"), data, "/home-visits/new?school=south").status_code == 302
    assert to(smtp_server.messages[0]) == {"tom@trust.example"}  # the trust's DSL, not the school's approver


def test_decisions_and_sent_back_plans_name_the_school(trust: Flask, smtp_server: Inbox) -> None:
    make = visit_factory(trust)
    visit = make("south", state_="submitted")
    decided = signed_in(trust, "sky").post(f"/home-visits/{visit.id}/decide",
                                           data={"authorise": "Authorise", "version": str(visit.version)})
    assert decided.status_code == 302
    (message,) = smtp_server.messages
    assert to(message) == {"sol@south.example", "sid@south.example"}
    assert message["Subject"] == "[South] Plan authorised: home visit Wed 04 Mar, J.S."
    with state(trust).sessions() as session:
        version = session.get(Visit, visit.id).version
    moved = {**plan("south"), "start_time": "13:00", "return_time": "14:00", "save": "Save", "version": str(version)}
    assert signed_in(trust, "sol").post(f"/home-visits/{visit.id}/edit", data=moved).status_code == 302
    assert to(smtp_server.messages[-1]) == {"sky@south.example"}
    assert smtp_server.messages[-1]["Subject"].startswith("[South] Changed plan to authorise again")


def test_reminders_go_to_each_school_s_own_approvers(trust: Flask, smtp_server: Inbox) -> None:
    make = visit_factory(trust)
    north, south = make("north", state_="submitted"), make("south", state_="submitted")
    result = trust.test_cli_runner().invoke(args=["home-visits", "remind"])
    assert "2 queued, 2 sent" in result.output, result.output
    by_visit = {m["Subject"]: to(m) for m in smtp_server.messages}
    assert by_visit == {
        "[North] Reminder: plan to authorise, home visit Wed 04 Mar, J.S.": {"noor@north.example", "tom@trust.example"},
        "[South] Reminder: plan to authorise, home visit Wed 04 Mar, J.S.": {"sky@south.example", "tom@trust.example"},
    }
    assert f"/home-visits/{north.id}" in body(next(m for m in smtp_server.messages if "North" in m["Subject"]))
    assert f"/home-visits/{south.id}" in body(next(m for m in smtp_server.messages if "South" in m["Subject"]))


def test_each_office_s_digest_holds_its_own_school_and_the_trust_office_s_holds_both(
        trust: Flask, smtp_server: Inbox) -> None:
    make = visit_factory(trust)
    north = make("north", address="1 North Road, Exampleton")
    make("south", address="2 South Road, Exampleton")
    make("south", state_="draft", address="3 Draft Lane, Exampleton")
    state(trust).clock.now = north.starts_at.replace(hour=7)  # type: ignore[attr-defined]
    digest = ["home-visits", "digest"]
    output = trust.test_cli_runner().invoke(args=digest).output
    assert "3 sent, 0 failed" in output, output
    assert "nothing to send" in trust.test_cli_runner().invoke(args=digest).output
    got = {frozenset(to(m)): m for m in smtp_server.messages}
    assert set(got) == {frozenset({"office@north.example"}), frozenset({"office@south.example"}),
                        frozenset({"tom@trust.example"})}
    north_only, south_only = got[frozenset({"office@north.example"})], got[frozenset({"office@south.example"})]
    assert north_only["Subject"] == "[North] Home visits today: 1"
    assert "1 North Road" in body(north_only) and "South Road" not in body(north_only)
    assert south_only["Subject"] == "[South] Home visits today: 1"
    assert "2 South Road" in body(south_only) and "North Road" not in body(south_only)
    both = body(got[frozenset({"tom@trust.example"})])
    assert got[frozenset({"tom@trust.example"})]["Subject"] == "Home visits today: 2"
    assert both.index("North Primary") < both.index("1 North Road") < both.index("South Academy") < both.index(
        "2 South Road")
    assert "Draft Lane" not in both
    no_pupil_name(smtp_server, "Jamie", "Smith")
    with state(trust).sessions() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == "in_digest")) == 2


def test_a_school_whose_office_turned_plan_emails_off_still_reaches_its_office_address(
        trust: Flask, smtp_server: Inbox) -> None:
    assert signed_in(trust, "nell").post("/home-visits/settings", data={"save": "Save"}).status_code == 302
    north = visit_factory(trust)("north")
    state(trust).clock.now = north.starts_at - timedelta(hours=3)  # type: ignore[attr-defined]
    trust.test_cli_runner().invoke(args=["home-visits", "digest"])
    assert {frozenset(to(m)) for m in smtp_server.messages} == {frozenset({"office@north.example"}),
                                                                 frozenset({"tom@trust.example"})}
