"""The safety chain: check out, back safe, overdue, escalation by email through a real SMTP server."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from home_visits import escalation
from home_visits.extension import state
from home_visits.models import Alert, AuditEntry, Visit

from .conftest import Inbox, free_port, link_base

BACK = datetime(2026, 3, 4, 11, 0, tzinfo=timezone.utc)  # the default visit's expected return
OVERDUE = BACK + timedelta(minutes=15)  # the default policy's grace


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    return mail_app


def sweep(app: Flask) -> Any:
    result = app.test_cli_runner().invoke(args=["home-visits", "escalate"])
    return result




def check_out(app: Flask, login: Any, clock: Any, visit: Visit, user: str = "sam") -> None:
    clock.now = visit.starts_at
    response = login(user).post(f"/home-visits/{visit.id}/check-out")
    assert response.status_code == 302, response.get_data(as_text=True)


def reload(app: Flask, visit_id: int) -> Visit:
    with state(app).sessions() as session:
        return session.get(Visit, visit_id)


def subjects(inbox: Inbox) -> list[str]:
    return [str(m["Subject"]) for m in inbox.messages]


def test_check_out_and_back_safe_are_one_tap_each(app: Flask, login: Any, create_visit: Any, clock: Any) -> None:
    visit = create_visit(state_="authorised")
    clock.now = visit.starts_at
    client = login("sam")
    page = client.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert "Check out: visit starting" in page
    client.post(f"/home-visits/{visit.id}/check-out")
    page = client.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert "I&#39;m back safe" in page and 'href="tel:999"' in page and "Alert the office now" in page
    assert reload(app, visit.id).state == "checked_out"
    client.post(f"/home-visits/{visit.id}/check-in")
    stored = reload(app, visit.id)
    assert stored.state == "returned" and stored.returned_at == visit.starts_at
    with state(app).sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.visit_id == visit.id)).all()
    assert actions[-2:] == ["check_out", "check_in"]


def test_only_visiting_staff_check_out(login: Any, create_visit: Any, clock: Any) -> None:
    visit = create_visit(state_="authorised", contact_id="kim")
    clock.now = visit.starts_at
    assert login("kim").post(f"/home-visits/{visit.id}/check-out").status_code == 403
    assert login("alex").post(f"/home-visits/{visit.id}/check-out").status_code == 403
    assert login("jo").post(f"/home-visits/{visit.id}/check-out").status_code == 302  # the second member


def test_a_plan_not_yet_authorised_cannot_go_out(login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted")
    response = login("sam").post(f"/home-visits/{visit.id}/check-out")
    assert response.status_code == 409 and "cannot be checked out" in response.get_data(as_text=True)


def test_overdue_shows_at_once_without_any_job(app: Flask, login: Any, create_visit: Any, clock: Any) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    clock.now = OVERDUE - timedelta(seconds=1)
    office = login("pat")
    assert "Nobody is overdue." in office.get("/home-visits/dashboard").get_data(as_text=True)
    clock.now = OVERDUE + timedelta(minutes=3)
    page = office.get("/home-visits/dashboard").get_data(as_text=True)
    assert "Sam Patel: 3 minutes overdue" in page and "07700 900001" in page and "Ring the member of staff" in page
    assert "Overdue by 3 minutes" in login("sam").get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert reload(app, visit.id).state == "checked_out"  # overdue is derived, never stored


def test_each_tier_fires_once_at_its_minute(app: Flask, login: Any, create_visit: Any, clock: Any,
                                            smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    clock.now = OVERDUE - timedelta(minutes=1)
    assert sweep(app).exit_code == 0 and smtp_server.messages == []
    clock.now = OVERDUE
    sweep(app)
    sweep(app)
    assert len(smtp_server.messages) == 1
    first = smtp_server.messages[0]
    assert sorted(first["To"].addresses[i].addr_spec for i in range(len(first["To"].addresses))) == [
        "office@school.example"]  # the responsible contact (pat) is the office here
    clock.now = OVERDUE + timedelta(minutes=29)
    sweep(app)
    assert len(smtp_server.messages) == 1
    clock.now = OVERDUE + timedelta(minutes=30)
    sweep(app)
    assert len(smtp_server.messages) == 2
    second = {a.addr_spec for a in smtp_server.messages[1]["To"].addresses}
    assert second == {"alex@school.example", "blair@school.example", "jo@school.example"}
    clock.now = OVERDUE + timedelta(hours=2)
    sweep(app)
    assert len(smtp_server.messages) == 2


def test_the_alert_email_says_who_where_and_what_to_do_but_not_the_pupil(
    app: Flask, login: Any, create_visit: Any, clock: Any, smtp_server: Inbox
) -> None:
    visit = create_visit(state_="authorised", pupil="Jamie Smith", contact_id="kim")
    check_out(app, login, clock, visit)
    clock.now = OVERDUE
    sweep(app)
    (message,) = smtp_server.messages
    body = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "OVERDUE: Sam Patel, home visit, expected back 11:00"
    assert {a.addr_spec for a in message["To"].addresses} == {"kim@school.example", "office@school.example"}
    for fact in ("Sam Patel, phone 07700 900001", "Jo Jones, phone 07700 900002", "12 Larch Close, Exampleton EX1 2AB",
                 "Ring the member of staff", "Call the police on 999", f"{link_base(app)}/home-visits/{visit.id}"):
        assert fact in body
    assert "Jamie" not in body and "Smith" not in body and "Smith" not in message["Subject"]


def test_acknowledging_stops_later_tiers(app: Flask, login: Any, create_visit: Any, clock: Any,
                                         smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    clock.now = OVERDUE
    sweep(app)
    response = login("pat").post(f"/home-visits/{visit.id}/acknowledge")
    assert response.status_code == 302
    assert "Pat Office is handling this" in login("pat").get("/home-visits/dashboard").get_data(as_text=True)
    clock.now = OVERDUE + timedelta(hours=1)
    sweep(app)
    assert len(smtp_server.messages) == 1
    assert login("sam").post(f"/home-visits/{visit.id}/acknowledge").status_code == 403


def test_closing_off_before_the_grace_sends_nothing(app: Flask, login: Any, create_visit: Any, clock: Any,
                                                     smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    clock.now = OVERDUE - timedelta(seconds=30)
    login("sam").post(f"/home-visits/{visit.id}/check-in")
    for minutes in (0, 30, 60, 600):
        clock.now = OVERDUE + timedelta(minutes=minutes)
        sweep(app)
    assert smtp_server.messages == []


def test_extending_moves_the_deadline_and_tells_the_office(app: Flask, login: Any, create_visit: Any, clock: Any,
                                                            smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    clock.now = BACK - timedelta(minutes=5)
    client = login("sam")
    bad = client.post(f"/home-visits/{visit.id}/extend", data={"until": "11:45", "reason": ""})
    assert bad.status_code == 422 and "Say why you need longer" in bad.get_data(as_text=True)
    response = client.post(f"/home-visits/{visit.id}/extend", data={"until": "11:45", "reason": "Parent arrived late"})
    assert response.status_code == 302
    clock.now = OVERDUE + timedelta(minutes=5)
    sweep(app)
    assert smtp_server.messages == []
    page = login("pat").get("/home-visits/dashboard").get_data(as_text=True)
    assert "extended: Parent arrived late" in page and "Nobody is overdue." in page
    clock.now = datetime(2026, 3, 4, 12, 0, tzinfo=timezone.utc)  # 11:45 + 15 minutes' grace
    sweep(app)
    assert len(smtp_server.messages) == 1 and "expected back 11:45" in subjects(smtp_server)[0]


def test_alert_the_office_now_sends_at_once(app: Flask, login: Any, create_visit: Any, clock: Any,
                                            smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    response = login("jo").post(f"/home-visits/{visit.id}/alert")
    assert response.status_code == 302
    (message,) = smtp_server.messages
    assert message["Subject"].startswith("URGENT: alert from Jo Jones")
    assert {a.addr_spec for a in message["To"].addresses} >= {"office@school.example", "alex@school.example"}


def test_still_out_at_closing_time_goes_to_out_of_hours(app: Flask, login: Any, create_visit: Any, clock: Any,
                                                         smtp_server: Inbox) -> None:
    start = datetime(2026, 3, 4, 16, 0, tzinfo=timezone.utc)
    visit = create_visit(state_="authorised", starts_at=start, expected_return=start + timedelta(minutes=50))
    check_out(app, login, clock, visit)
    clock.now = start + timedelta(minutes=65)  # overdue (17:05) and acknowledged before closing
    sweep(app)
    login("pat").post(f"/home-visits/{visit.id}/acknowledge")
    clock.now = datetime(2026, 3, 4, 17, 30, tzinfo=timezone.utc)
    sweep(app)
    assert subjects(smtp_server)[-1] == "Still out at closing time: Sam Patel, home visit"
    assert smtp_server.messages[-1]["To"].addresses[0].addr_spec == "head.on.call@school.example"


def test_mail_server_down_for_three_sweeps_then_every_alert_arrives(
    app: Flask, login: Any, create_visit: Any, clock: Any, smtp_server: Inbox
) -> None:
    visits = [create_visit(state_="authorised"), create_visit(state_="authorised", lead="kim", second_staff_id="jo")]
    for visit, lead in zip(visits, ("sam", "kim"), strict=True):
        check_out(app, login, clock, visit, lead)
    working = app.config["HOME_VISITS_SMTP_PORT"]
    app.config["HOME_VISITS_SMTP_PORT"] = free_port()  # nothing listens there
    for minutes in (0, 5, 10):
        clock.now = OVERDUE + timedelta(minutes=minutes)
        assert sweep(app).exit_code == 1
    assert smtp_server.messages == []
    page = login("pat").get("/home-visits/dashboard").get_data(as_text=True)
    assert "tier-0: failed (3 attempts; ConnectionRefusedError" in page
    app.config["HOME_VISITS_SMTP_PORT"] = working
    clock.now = OVERDUE + timedelta(minutes=15)
    assert sweep(app).exit_code == 0
    assert len(smtp_server.messages) == 2
    with state(app).sessions() as session:
        failures = session.scalar(select(func.count()).where(AuditEntry.action == "alert_failed"))
        assert failures == 6 and session.scalar(select(func.count()).where(Alert.status == "sent")) == 2


def test_two_sweeps_at_once_send_one_email_per_tier(app: Flask, login: Any, create_visit: Any, clock: Any,
                                                     smtp_server: Inbox) -> None:
    visits = [create_visit(state_="authorised", lead=lead, second_staff_id="jo" if lead != "jo" else "kim")
              for lead in ("sam", "kim", "jo")]
    for visit, lead in zip(visits, ("sam", "kim", "jo"), strict=True):
        check_out(app, login, clock, visit, lead)
    clock.now = OVERDUE + timedelta(minutes=31)
    start = threading.Barrier(2)
    results: list[Any] = []

    def run() -> None:
        with app.app_context():
            from home_visits.views import mail_context

            with state(app).sessions() as session:
                start.wait()
                results.append(escalation.sweep(session, mail_context(), clock.now))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2
    assert len(smtp_server.messages) == 6  # three visits, two tiers each
    assert sum(r.sent for r in results) == 6


def test_dashboard_warns_when_the_sweep_has_stopped(app: Flask, login: Any, clock: Any) -> None:
    office = login("pat")
    assert "The escalation check has never run" in office.get("/home-visits/dashboard").get_data(as_text=True)
    sweep(app)
    assert "may not be running" not in office.get("/home-visits/dashboard").get_data(as_text=True)
    clock.advance(minutes=11)  # twice the 5-minute interval, and a bit
    assert "last ran at 08:00" in office.get("/home-visits/dashboard").get_data(as_text=True)


def test_dashboard_is_for_office_and_approvers(login: Any) -> None:
    assert login("sam").get("/home-visits/dashboard").status_code == 403
    assert login("alex").get("/home-visits/dashboard").status_code == 200
