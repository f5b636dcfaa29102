"""The safety chain: check out, back safe, overdue, escalation by email through a real SMTP server."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from home_visits.extension import state
from home_visits.models import Alert, AuditEntry, Visit
from home_visits.safety import sweep as escalation

from ..calendar.test_feed import new_link
from ..conftest import Inbox, free_port, link_base

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
    # Counted from the expected return (11:00), not from the end of the grace the escalation waits for.
    assert f"Visit {visit.id} (J.S.): Sam Patel, 18 minutes past the expected return" in page
    assert "07700 900001" in page and "Ring the member of staff" in page
    staff_page = login("sam").get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert "Overdue: 18 minutes past the expected return." in staff_page
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
    assert ("First alert to the office and the responsible contact: not sent yet — the mail server did not answer "
            "(tried 3 times); retrying every 5 minutes. Phone them.") in page
    assert "tier-0" not in page and "ConnectionRefusedError" not in page
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
            from home_visits.mail.app import mail_context

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


# --------------------------------------------------------------------------- the safety chain as deployed (issue I)

START = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)  # the default visit's start
GRACE = timedelta(minutes=15)


def history(app: Flask, visit_id: int) -> list[tuple[str, str]]:
    with state(app).sessions() as session:
        rows = session.execute(select(AuditEntry.action, AuditEntry.comment).where(AuditEntry.visit_id == visit_id)
                               .order_by(AuditEntry.id))
        return [(action, comment) for action, comment in rows]


def store_impossible_visit(app: Flask) -> int:
    """A visit out "until 31 December 9999", as the form accepted before dates were checked on entry."""
    moment = datetime(2026, 3, 4, 9, 0, tzinfo=timezone.utc)
    with state(app).sessions() as session:
        visit = Visit(state="checked_out", sequence=0, pupil="Far Future", pupil_initials="F.F.", address="1 Far Lane",
                      postcode="EX1 1AA", lead_id="kim", contact_id="pat", starts_at=moment,
                      expected_return=datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc), checked_out_at=moment,
                      created_at=moment, updated_at=moment)
        session.add(visit)
        session.commit()
        return visit.id


def test_a_plan_dated_beyond_the_policy_window_is_refused_beside_the_date(app: Flask, login: Any) -> None:
    from ..conftest import form_data

    for day, status in (("9999-12-31", 422), ("2024-01-01", 422), ("2028-03-03", 422), ("2026-03-04", 302)):
        response = login("sam").post("/home-visits/new", data=form_data(date=day, save="Save draft"))
        assert response.status_code == status, (day, response.get_data(as_text=True)[:300])
        if status == 422:
            page = response.get_data(as_text=True)
            assert 'id="date-error"' in page and "Choose a date between 02 March 2025 and 01 March 2028." in page
    with state(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 1  # only the good one was saved


def test_one_impossible_visit_never_silences_the_others(app: Flask, login: Any, create_visit: Any, clock: Any,
                                                        smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    bad = store_impossible_visit(app)
    clock.now = OVERDUE + timedelta(minutes=44)  # 59 minutes past the expected return
    result = sweep(app)
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"The sweep failed on 1 visit(s) ({bad})") and last.endswith("(exit 2)")
    assert {m["X-Home-Visit-Id"] for m in smtp_server.messages} == {str(visit.id)}
    assert [m["X-Home-Visits-Alert"] for m in smtp_server.messages] == ["tier-0", "tier-1"]
    sweep(app)  # the same problem is noted once, not at every run
    notes = [comment for action, comment in history(app, bad) if action == "check_failed"]
    assert len(notes) == 1 and "OverflowError" in notes[0]
    dashboard = login("pat").get("/home-visits/dashboard")
    page = dashboard.get_data(as_text=True)
    assert dashboard.status_code == 200
    assert "Sam Patel, 59 minutes past the expected return" in page
    assert f"Visit {bad}</a>, Kim Lee: OverflowError" in page
    visit_page = login("pat").get(f"/home-visits/{bad}")
    assert visit_page.status_code == 200 and "cannot read this visit" in visit_page.get_data(as_text=True)


def test_an_alert_whose_send_crashes_is_released_at_once(app: Flask, login: Any, create_visit: Any, clock: Any,
                                                        smtp_server: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = create_visit(state_="authorised"), create_visit(state_="authorised", lead="kim")
    check_out(app, login, clock, first)
    check_out(app, login, clock, second, "kim")
    clock.now = OVERDUE
    directory, find = state(app).directory, state(app).directory.find

    def broken_find(person_id: str) -> Any:
        if person_id == "kim":
            raise RuntimeError("the host's staff list failed for this person")
        return find(person_id)

    monkeypatch.setattr(directory, "find", broken_find)
    result = sweep(app)
    assert result.exit_code == 2
    assert f"visit {second.id}: The safety check failed while sending an alert" in result.output
    assert {m["X-Home-Visit-Id"] for m in smtp_server.messages} == {str(first.id)}
    with state(app).sessions() as session:
        stuck = session.scalar(select(Alert).where(Alert.visit_id == second.id))
        assert stuck.status == "failed" and "RuntimeError" in stuck.last_error  # not held "sending" for 10 minutes
    monkeypatch.setattr(directory, "find", find)
    clock.now += timedelta(minutes=5)
    assert sweep(app).exit_code == 0
    assert {m["X-Home-Visit-Id"] for m in smtp_server.messages} == {str(first.id), str(second.id)}


def test_a_visit_nobody_checks_out_raises_the_alarm_then_escalates(app: Flask, login: Any, create_visit: Any,
                                                                    clock: Any, smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised", contact_id="kim")
    clock.now = START + GRACE - timedelta(minutes=1)
    assert sweep(app).exit_code == 0 and smtp_server.messages == []
    clock.now = START + GRACE
    sweep(app)
    (missed,) = smtp_server.messages
    assert missed["Subject"].strip() == "NOT CHECKED OUT: Sam Patel, home visit due to start at 10:00"
    assert {a.addr_spec for a in missed["To"].addresses} == {"sam@school.example", "kim@school.example"}
    assert missed["X-Home-Visits-Alert"] == "not-checked-out" and missed["X-Home-Visit-Id"] == str(visit.id)
    page = login("pat").get("/home-visits/dashboard").get_data(as_text=True)
    assert "Not checked out yet (1)" in page and f"Visit {visit.id}</a>: Sam Patel" in page
    clock.now = BACK + GRACE  # three hours later it would still be "not overdue" before; now it escalates
    sweep(app)
    assert len(smtp_server.messages) == 2
    overdue = smtp_server.messages[1]
    assert overdue["Subject"].strip() == "OVERDUE: Sam Patel, home visit, expected back 11:00 (never checked out)"
    assert overdue["X-Home-Visits-Alert"] == "tier-0"
    page = login("pat").get("/home-visits/dashboard").get_data(as_text=True)
    assert "Sam Patel, 15 minutes past the expected return, never checked out" in page
    clock.now = BACK + GRACE + timedelta(hours=3)
    sweep(app)
    assert [m["X-Home-Visits-Alert"] for m in smtp_server.messages] == ["not-checked-out", "tier-0", "tier-1"]


def test_check_out_is_offered_only_on_the_day(app: Flask, login: Any, create_visit: Any, clock: Any) -> None:
    visit = create_visit(state_="authorised")
    client = login("sam")
    page = client.get(f"/home-visits/{visit.id}").get_data(as_text=True)  # two days before
    assert "Check out: visit starting" not in page and "You can check out from 09:00 on Wed 04 Mar" in page
    refused = client.post(f"/home-visits/{visit.id}/check-out")
    assert refused.status_code == 409 and "it opens at 09:00 on Wed 04 Mar" in refused.get_data(as_text=True)
    clock.now = START - timedelta(minutes=60)
    assert "Check out: visit starting" in client.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert client.post(f"/home-visits/{visit.id}/check-out").status_code == 302


def test_not_going_ahead_needs_a_reason_and_stops_the_chain(app: Flask, login: Any, create_visit: Any, clock: Any,
                                                            smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised")
    clock.now = START + GRACE
    client = login("jo")
    page = client.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert "Not checked out yet." in page and "Not going ahead" in page
    bad = client.post(f"/home-visits/{visit.id}/not-going-ahead", data={"reason": ""})
    assert bad.status_code == 422 and "Say why the visit is not going ahead." in bad.get_data(as_text=True)
    good = client.post(f"/home-visits/{visit.id}/not-going-ahead", data={"reason": "Nobody home; mum rang to cancel"})
    assert good.status_code == 302
    assert reload(app, visit.id).state == "cancelled"
    assert ("not_going_ahead", "Nobody home; mum rang to cancel") in history(app, visit.id)
    for minutes in (0, 60, 240):
        clock.now = START + GRACE + timedelta(minutes=minutes)
        sweep(app)
    assert smtp_server.messages == []


def test_a_late_check_out_follows_the_normal_chain(app: Flask, login: Any, create_visit: Any, clock: Any,
                                                   smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised")
    clock.now = START + GRACE
    sweep(app)
    assert [m["X-Home-Visits-Alert"] for m in smtp_server.messages] == ["not-checked-out"]
    clock.now = START + timedelta(minutes=25)
    assert login("sam").post(f"/home-visits/{visit.id}/check-out").status_code == 302
    clock.now = OVERDUE - timedelta(minutes=1)
    sweep(app)
    assert len(smtp_server.messages) == 1
    clock.now = OVERDUE
    sweep(app)
    assert [m["X-Home-Visits-Alert"] for m in smtp_server.messages] == ["not-checked-out", "tier-0"]
    assert "(never checked out)" not in str(smtp_server.messages[-1]["Subject"])


def test_an_incident_reported_at_the_moment_reaches_leaders_and_stays_on_the_dashboard(
    app: Flask, login: Any, create_visit: Any, clock: Any, smtp_server: Inbox
) -> None:
    app.config["HOME_VISITS_INCIDENT_EMAILS"] = ("line.manager@school.example",)
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    clock.now = START + timedelta(minutes=12)
    staff = login("sam")
    page = staff.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert "Report an incident" in page and "Alert the office now" in page
    assert staff.post(f"/home-visits/{visit.id}/incident", data={"kind": ""}).status_code == 422
    assert staff.post(f"/home-visits/{visit.id}/incident", data={"kind": "aggression"}).status_code == 302
    (message,) = smtp_server.messages
    assert message["Subject"].strip() == "INCIDENT on a home visit now: Aggression or threats, reported by Sam Patel"
    assert {a.addr_spec for a in message["To"].addresses} == {
        "alex@school.example", "blair@school.example", "line.manager@school.example"}
    assert message["X-Home-Visits-Alert"] == "incident-1" and message["X-Home-Visit-Id"] == str(visit.id)
    office = login("pat")
    dashboard = office.get("/home-visits/dashboard").get_data(as_text=True)
    assert "Open alarms (1)" in dashboard and f"Visit {visit.id}: incident, aggression or threats" in dashboard
    assert dashboard.index("Open alarms") < dashboard.index("Overdue (")
    visit_page = office.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert f'action="/home-visits/{visit.id}/acknowledge"' in visit_page and "I'm handling this" in visit_page
    assert "Incident reported: Aggression or threats" in visit_page
    assert office.post(f"/home-visits/{visit.id}/acknowledge").status_code == 302
    assert "Open alarms" not in office.get("/home-visits/dashboard").get_data(as_text=True)
    assert ("incident_reported", "Aggression or threats") in history(app, visit.id)
    # Later that day, back at school: still reportable; the record shows it instead of emailing again.
    clock.now = START + timedelta(minutes=50)
    staff = login("sam")  # one test client: sign back in as the lead
    staff.post(f"/home-visits/{visit.id}/check-in")
    assert "Report an incident" in staff.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    record = staff.get(f"/home-visits/{visit.id}/record").get_data(as_text=True)
    assert "Already reported from the visit page" in record and "Aggression or threats, 10:12 on 04 Mar" in record
    clock.now = START + timedelta(days=1)
    assert "Report an incident" not in staff.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert staff.post(f"/home-visits/{visit.id}/incident", data={"kind": "injury"}).status_code == 409


def test_alert_the_office_now_shows_on_the_dashboard_until_handled(app: Flask, login: Any, create_visit: Any,
                                                                   clock: Any) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    assert login("jo").post(f"/home-visits/{visit.id}/alert").status_code == 302
    office = login("pat")
    page = office.get("/home-visits/dashboard").get_data(as_text=True)
    assert "Open alarms (1)" in page and f"Visit {visit.id}: “alert the office now”" in page and "Jo Jones" in page
    office.post(f"/home-visits/{visit.id}/acknowledge")
    assert "Open alarms" not in office.get("/home-visits/dashboard").get_data(as_text=True)


def test_tiers_after_closing_go_to_the_out_of_hours_contact(app: Flask, login: Any, create_visit: Any, clock: Any,
                                                            smtp_server: Inbox) -> None:
    start = datetime(2026, 3, 4, 16, 30, tzinfo=timezone.utc)
    visit = create_visit(state_="authorised", starts_at=start, expected_return=start + timedelta(minutes=45),
                         second_staff_id="jo", contact_id="kim")
    check_out(app, login, clock, visit)
    clock.now = start + timedelta(minutes=60)  # 17:30: overdue, and the office has just closed
    sweep(app)
    by_key = {m["X-Home-Visits-Alert"]: {a.addr_spec for a in m["To"].addresses} for m in smtp_server.messages}
    assert by_key["tier-0"] == {"kim@school.example", "head.on.call@school.example"}  # not the closed office
    assert "office@school.example" not in by_key["tier-0"]


def test_checking_out_after_closing_names_the_cover_and_sends_no_closing_time_email(
    app: Flask, login: Any, create_visit: Any, clock: Any, smtp_server: Inbox
) -> None:
    start = datetime(2026, 3, 4, 17, 40, tzinfo=timezone.utc)
    visit = create_visit(state_="authorised", starts_at=start, expected_return=start + timedelta(minutes=40),
                         second_staff_id="jo")
    clock.now = start
    client = login("sam")
    client.post(f"/home-visits/{visit.id}/check-out")
    flashed = client.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert "The school office has closed: the headteacher or the deputy on call is your cover" in flashed
    clock.now = start + timedelta(minutes=39)
    sweep(app)
    assert smtp_server.messages == []  # no "still out at closing time" for someone who went out after it


def test_the_code_word_is_on_the_card_and_dashboard_but_never_in_emails_or_feeds(
    app: Flask, login: Any, create_visit: Any, clock: Any, smtp_server: Inbox
) -> None:
    code = state(app).policy.rules.code_word
    assert code is not None
    phrase = "fetch the blue folder from my desk"
    assert phrase in code.text
    visit = create_visit(state_="authorised")
    assert phrase in login("sam").get(f"/home-visits/{visit.id}/card").get_data(as_text=True)
    check_out(app, login, clock, visit)
    clock.now = OVERDUE
    sweep(app)
    assert phrase in login("pat").get("/home-visits/dashboard").get_data(as_text=True)
    assert smtp_server.messages and all(phrase not in m.as_string() for m in smtp_server.messages)
    client = login("alex")
    assert phrase not in client.get(new_link(client)).get_data(as_text=True)


def test_mail_down_exits_1_and_says_it_will_retry(app: Flask, login: Any, create_visit: Any, clock: Any) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    app.config["HOME_VISITS_SMTP_PORT"] = free_port()
    clock.now = OVERDUE
    result = sweep(app)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "1 email(s) could not be sent; they will be retried at the next run. Sent: none. (exit 1)")
