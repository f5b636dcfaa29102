"""The office keeps days as well as hours: on a weekend, a bank holiday of the school's nation or one of the
school's own closure dates, every tier that would tell the office tells the out-of-hours contact, from the
first; and at closing time every unresolved visit (still out, or never checked out) is handed over once.
All through the real ``flask home-visits escalate`` and a real SMTP server, under each deployment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from home_visits.extension import state
from home_visits.models import Visit

from ..conftest import Inbox, make_app, signed_in

BST = timezone(timedelta(hours=1))
OFFICE, COVER, CONTACT = "office@school.example", "head.on.call@school.example", "kim@school.example"


def office_policy(folder: Path, nation: str = "england-and-wales") -> Path:
    """The shipped policy with the nation's bank holidays and an INSET day and a half-term listed."""
    path = folder / "school.yaml"
    path.write_text(
        "extends: default\nescalation:\n  office:\n"
        f"    nation: {nation}\n"
        "    closed:\n"
        "      - {from: 2026-10-23, to: 2026-10-23, why: INSET day}\n"
        "      - {from: 2026-10-26, to: 2026-10-30, why: Half term}\n", encoding="utf-8")
    return path


def portal(folder: Path, inbox: Inbox, deployment: dict[str, Any], nation: str = "england-and-wales") -> Flask:
    folder.mkdir(parents=True, exist_ok=True)
    app = make_app(folder / "instance", HOME_VISITS_POLICY=str(office_policy(folder, nation)),
                   HOME_VISITS_SMTP_HOST="127.0.0.1", HOME_VISITS_SMTP_PORT=inbox.port, HOME_VISITS_SMTP_TIMEOUT=5,
                   HOME_VISITS_OUT_OF_HOURS_EMAIL=COVER, **deployment)
    if not app.config["HOME_VISITS_AUTO_MIGRATE"]:
        assert app.test_cli_runner().invoke(args=["home-visits", "db", "upgrade"]).exit_code == 0
    return app


@pytest.fixture
def apps(tmp_path: Path, smtp_server: Inbox, deployment: dict[str, Any]) -> Iterator[Any]:
    made: list[Flask] = []

    def make(nation: str = "england-and-wales") -> Flask:
        made.append(portal(tmp_path / f"portal-{len(made)}", smtp_server, deployment, nation))
        return made[-1]

    yield make
    for app in made:
        state(app).engine.dispose()


def escalate(app: Flask, at: datetime) -> Any:
    state(app).clock.now = at  # type: ignore[attr-defined]
    result = app.test_cli_runner().invoke(args=["home-visits", "escalate"])
    assert result.exit_code == 0, result.output
    return result


def visit_on(app: Flask, create: Any, start: datetime, **changes: Any) -> Visit:
    visit: Visit = create(state_="authorised", starts_at=start, expected_return=start + timedelta(hours=1),
                          contact_id="kim", **changes)
    return visit


def check_out(app: Flask, visit: Visit) -> None:
    state(app).clock.now = visit.starts_at  # type: ignore[attr-defined]
    assert signed_in(app, "sam").post(f"/home-visits/{visit.id}/check-out").status_code == 302


def alerts(inbox: Inbox) -> dict[tuple[int, str], set[str]]:
    """(visit id, alert key) -> recipients of every alert received; each arrives once."""
    found: dict[tuple[int, str], set[str]] = {}
    for message in inbox.messages:
        key = (int(message["X-Home-Visit-Id"]), str(message["X-Home-Visits-Alert"]))
        assert key not in found, f"{key} arrived twice"
        found[key] = {a.addr_spec for a in message["To"].addresses}
    return found


def creator(app: Flask) -> Any:
    from home_visits.plans import service as services

    from ..conftest import USERS, valid_plan

    def create(*, state_: str, **changes: Any) -> Visit:
        st = state(app)
        st.clock.now = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)  # type: ignore[attr-defined]
        with st.sessions() as session:
            visit = services.create_visit(session, valid_plan(**changes), actor=st.directory.person(USERS["sam"]),
                                          now=st.clock())
            session.flush()
            assert not services.submit(session, visit, actor=st.directory.person(USERS["sam"]), policy=st.policy,
                                       now=st.clock())
            services.decide(session, visit, "authorise", actor=st.directory.person(USERS["alex"]),
                            policy=st.policy, now=st.clock())
            session.commit()
            return visit

    return create


#: Closed all day, by nation: a Saturday, each nation's own bank holiday, a listed INSET day and half term.
CLOSED_DAYS = {
    "england-and-wales": [datetime(2026, 6, 20, 10, 0, tzinfo=BST),  # a Saturday
                          datetime(2026, 8, 31, 10, 0, tzinfo=BST),  # the late summer bank holiday
                          datetime(2026, 10, 23, 10, 0, tzinfo=BST),  # the INSET day the policy lists
                          datetime(2026, 10, 28, 10, 0, tzinfo=timezone.utc)],  # in its half term (GMT again)
    "scotland": [datetime(2026, 8, 3, 10, 0, tzinfo=BST)],  # Scotland's summer bank holiday
    "northern-ireland": [datetime(2026, 7, 13, 10, 0, tzinfo=BST)],  # the Battle of the Boyne, observed
}


@pytest.mark.parametrize("nation", sorted(CLOSED_DAYS))
def test_on_a_closed_day_the_office_s_tiers_go_to_the_out_of_hours_contact(apps: Any, smtp_server: Inbox,
                                                                            nation: str) -> None:
    app = apps(nation)
    create = creator(app)
    for start in CLOSED_DAYS[nation]:
        out, never = visit_on(app, create, start), visit_on(app, create, start + timedelta(minutes=5))
        check_out(app, out)
        overdue = start + timedelta(hours=1, minutes=20)  # back + grace, for both
        escalate(app, overdue)
        got = alerts(smtp_server)
        assert got[(out.id, "tier-0")] == {CONTACT, COVER}, start
        assert got[(never.id, "tier-0")] == {CONTACT, COVER}, start
        assert all(OFFICE not in to for to in got.values()), start
        page = signed_in(app, "pat").get("/home-visits/dashboard").get_data(as_text=True)
        assert "The office is closed today" in page and "the headteacher or the deputy on call is covering" in page
        smtp_server.clear()


def test_the_same_days_are_open_where_they_are_not_bank_holidays(apps: Any, smtp_server: Inbox) -> None:
    scotland, england = apps("scotland"), apps()
    late_summer, summer = CLOSED_DAYS["england-and-wales"][1], CLOSED_DAYS["scotland"][0]
    for app, start in ((scotland, late_summer), (england, summer)):
        visit = visit_on(app, creator(app), start)
        check_out(app, visit)
        escalate(app, start + timedelta(hours=1, minutes=15))
        assert alerts(smtp_server)[(visit.id, "tier-0")] == {CONTACT, OFFICE}
        page = signed_in(app, "pat").get("/home-visits/dashboard").get_data(as_text=True)
        assert "The office is open until 17:30" in page
        smtp_server.clear()


def test_a_visit_never_checked_out_by_closing_is_handed_over_once_then_escalates(apps: Any,
                                                                                 smtp_server: Inbox) -> None:
    app = apps()
    create = creator(app)
    start = datetime(2026, 3, 4, 16, 0, tzinfo=timezone.utc)  # GMT: 16:00 in London
    out = create(state_="authorised", starts_at=start, expected_return=start + timedelta(hours=2), contact_id="kim")
    never = create(state_="authorised", starts_at=start, expected_return=start + timedelta(hours=2),
                   contact_id="kim")
    called_off = create(state_="authorised", starts_at=start, expected_return=start + timedelta(hours=2))
    check_out(app, out)
    state(app).clock.now = start + timedelta(minutes=30)  # type: ignore[attr-defined]
    response = signed_in(app, "sam").post(f"/home-visits/{called_off.id}/not-going-ahead",
                                          data={"reason": "The family rang to rearrange."})
    assert response.status_code == 302, response.get_data(as_text=True)
    closing = datetime(2026, 3, 4, 17, 30, tzinfo=timezone.utc)
    escalate(app, closing)
    escalate(app, closing + timedelta(minutes=5))
    handed = {visit_id: message for message in smtp_server.messages
              if message["X-Home-Visits-Alert"] == "end-of-day" for visit_id in [int(message["X-Home-Visit-Id"])]}
    assert sorted(handed) == sorted([out.id, never.id])
    assert str(handed[never.id]["Subject"]) == "Still out at closing time: Sam Patel, home visit"
    assert str(handed[out.id]["Subject"]) == str(handed[never.id]["Subject"])
    assert {a.addr_spec for a in handed[never.id]["To"].addresses} == {COVER}
    smtp_server.clear()
    escalate(app, start + timedelta(hours=2, minutes=15))  # 18:15: back + grace, both still unresolved
    got = alerts(smtp_server)
    assert got[(never.id, "tier-0")] == {CONTACT, COVER} and got[(out.id, "tier-0")] == {CONTACT, COVER}
    assert (never.id, "end-of-day") not in got
