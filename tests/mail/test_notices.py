"""Plan emails through a real SMTP server: who gets what, no pupil names, once only, and the
approver's day (the queue, one-click authorise, plan another like this, the visit card)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from home_visits.extension import state
from home_visits.models import AuditEntry, Notice, Visit
from home_visits.policy import load_policy

from ..conftest import Inbox, form_data, free_port, link_base, make_app, submit_plan, valid_plan


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    return mail_app


def to(message: Any) -> set[str]:
    return {a.addr_spec for a in message["To"].addresses}


def body(message: Any) -> str:
    return message.get_body(("plain",)).get_content()


def no_pupil_name(inbox: Inbox, *names: str) -> None:
    for message in inbox.messages:
        text = message.as_string()
        for name in names:
            assert name not in text, f"{name!r} appears in {message['Subject']!r}"


def test_a_submitted_plan_emails_every_approver(app: Flask, login: Any, smtp_server: Inbox) -> None:
    data = form_data(valid_plan(risk_factors=["risk-animals"], risk_notes="The dog is shut away first."))
    assert submit_plan(login("sam"), data).status_code == 302
    (message,) = smtp_server.messages
    assert to(message) == {"alex@school.example", "blair@school.example"}
    assert message["Subject"] == "Plan to authorise: home visit Wed 04 Mar, J.S."
    text = body(message)
    assert "Pupil: J.S." in text and "Wednesday 04 March 2026, 10:00 to 11:00" in text
    animals = next(item.title for item in load_policy().risk_factors if item.id == "risk-animals")
    assert f"Risk flags: {animals}" in text
    assert f"{link_base(app)}/home-visits/1" in text
    html = message.get_body(("html",)).get_content()
    assert f'<a href="{link_base(app)}/home-visits/1">' in html
    no_pupil_name(smtp_server, "Jamie", "Smith")


def test_an_approver_leading_a_visit_is_not_asked_to_authorise_it(login: Any, smtp_server: Inbox) -> None:
    submit_plan(login("alex"), form_data(valid_plan(lead_id="alex")))
    assert to(smtp_server.messages[0]) == {"blair@school.example"}


def test_decisions_go_to_the_lead_and_the_second(login: Any, create_visit: Any, smtp_server: Inbox) -> None:
    first = create_visit(state_="submitted")
    second = create_visit(state_="submitted", pupil="Riley Example")
    login("alex").post(f"/home-visits/{first.id}/decide",
                       data={"authorise": "Authorise", "version": str(first.version)})
    login("alex").post(f"/home-visits/{second.id}/decide",
                       data={"decline": "Decline", "comment": "Meet in school", "version": str(second.version)})
    authorised, declined = smtp_server.messages
    assert to(authorised) == to(declined) == {"sam@school.example", "jo@school.example"}
    assert authorised["Subject"] == "Plan authorised: home visit Wed 04 Mar, J.S."
    assert "Authorised by Alex Morgan" in body(authorised)
    assert declined["Subject"] == "Plan declined: home visit Wed 04 Mar, R.E."
    assert "Why: Meet in school" in body(declined)
    no_pupil_name(smtp_server, "Jamie", "Smith", "Riley")


def test_a_changed_authorised_plan_goes_back_to_its_approver(login: Any, create_visit: Any, smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised", approver="blair")
    moved = form_data(start_time="13:00", return_time="14:00", save="Save", version=str(visit.version))
    assert login("sam").post(f"/home-visits/{visit.id}/edit", data=moved).status_code == 302
    (message,) = smtp_server.messages
    assert to(message) == {"blair@school.example"}
    assert message["Subject"].startswith("Changed plan to authorise again")


def test_plan_emails_can_be_turned_off_but_safety_alerts_cannot(
    app: Flask, login: Any, create_visit: Any, clock: Any, smtp_server: Inbox
) -> None:
    response = login("blair").post("/home-visits/settings", data={"save": "Save"})  # box unticked
    assert response.status_code == 302
    assert 'id="plan_emails" name="plan_emails" type="checkbox" value="y">' in login("blair").get(
        "/home-visits/settings").get_data(as_text=True)  # shown unticked
    submit_plan(login("sam"), form_data())
    assert to(smtp_server.messages[0]) == {"alex@school.example"}
    visit = create_visit(state_="authorised")
    clock.now = visit.starts_at
    login("sam").post(f"/home-visits/{visit.id}/check-out")
    clock.now = visit.expected_return + timedelta(minutes=45)
    app.test_cli_runner().invoke(args=["home-visits", "escalate"])
    assert "blair@school.example" in to(smtp_server.messages[-1])  # the second tier reaches every approver


def test_every_email_is_in_the_visit_history(app: Flask, login: Any, create_visit: Any, smtp_server: Inbox) -> None:
    visit = create_visit(state_="submitted")
    login("alex").post(f"/home-visits/{visit.id}/decide",
                       data={"authorise": "Authorise", "version": str(visit.version)})
    page = login("sam").get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert "email sent" in page and "Plan authorised: home visit Wed 04 Mar, J.S. to sam@school.example" in page


def test_mail_that_cannot_go_is_retried_by_the_sweep(app: Flask, login: Any, smtp_server: Inbox) -> None:
    working = app.config["HOME_VISITS_SMTP_PORT"]
    app.config["HOME_VISITS_SMTP_PORT"] = free_port()
    assert submit_plan(login("sam"), form_data()).status_code == 302
    with state(app).sessions() as session:
        assert session.scalar(select(Notice.status)) == "failed"
    app.config["HOME_VISITS_SMTP_PORT"] = working
    result = app.test_cli_runner().invoke(args=["home-visits", "escalate"])
    assert "plan emails: 1 sent" in result.output and len(smtp_server.messages) == 1


ROUTED_POLICY = """extends: default
rules:
  routes:
    - who: the designated safeguarding lead
      approvers: [blair]
      reasons: [signs-of-distress]
    - who: the deputy head
      approvers: [alex]
      risk_factors: [any]
"""


@pytest.fixture
def routed(tmp_path: Path, smtp_server: Inbox) -> Iterator[Callable[..., set[str]]]:
    """``routed(**plan)``: submit the plan as Sam on a portal whose policy routes some plans; who was emailed."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(ROUTED_POLICY)
    app = make_app(tmp_path / "instance", HOME_VISITS_POLICY=str(policy), HOME_VISITS_SMTP_HOST="127.0.0.1",
                   HOME_VISITS_SMTP_PORT=smtp_server.port, HOME_VISITS_SMTP_TIMEOUT=5)
    client = app.test_client()

    def submit(lead: str = "sam", **plan: Any) -> set[str]:
        with client.session_transaction() as session:
            session["_user_id"] = lead
        before = len(smtp_server.messages)
        if plan.get("risk_factors"):
            plan.setdefault("risk_notes", "Agreed with the family before we go.")
        assert submit_plan(client, form_data(valid_plan(lead_id=lead, **plan))).status_code == 302
        (message,) = smtp_server.messages[before:]
        return to(message)

    submit.app = app  # type: ignore[attr-defined]
    yield submit
    state(app).engine.dispose()


def test_the_policy_routes_plans_to_the_approvers_it_names(routed: Any) -> None:
    assert routed(reason="signs-of-distress") == {"blair@school.example"}
    assert routed(risk_factors=["risk-animals"]) == {"alex@school.example"}
    assert routed(reason="signs-of-distress", risk_factors=["risk-animals"]) == {"alex@school.example",
                                                                                  "blair@school.example"}
    assert routed() == {"alex@school.example", "blair@school.example"}  # no route: every approver


def test_the_queue_says_who_was_asked_first(routed: Any) -> None:
    routed(reason="signs-of-distress")
    routed()
    client = routed.app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "alex"
    page = client.get("/home-visits/approvals").get_data(as_text=True)
    assert page.count("Asked of") == 1 and "Asked of the designated safeguarding lead first" in page


def test_a_routed_plan_with_nobody_named_free_to_decide_goes_to_every_approver(routed: Any) -> None:
    # Alex, the only approver named for risky plans, leads this one: Blair is asked instead.
    assert routed(lead="alex", risk_factors=["risk-animals"]) == {"blair@school.example"}


def test_reminders_follow_the_routes(routed: Any, smtp_server: Inbox) -> None:
    routed(reason="signs-of-distress")
    assert "1 queued, 1 sent" in remind(routed.app)
    assert to(smtp_server.messages[-1]) == {"blair@school.example"}
    assert smtp_server.messages[-1]["Subject"].startswith("Reminder:")


def remind(app: Flask) -> str:
    return app.test_cli_runner().invoke(args=["home-visits", "remind"]).output


def test_reminders_once_per_plan_per_day_for_plans_starting_soon(
    app: Flask, create_visit: Any, clock: Any, smtp_server: Inbox
) -> None:
    soon = create_visit(state_="submitted")  # Wednesday: within two school days of Monday
    later = valid_plan().starts_at + timedelta(days=7)
    create_visit(state_="submitted", starts_at=later, expected_return=later + timedelta(hours=1))
    create_visit(state_="authorised", pupil="Decided Child")
    assert "1 queued, 1 sent" in remind(app)
    assert "0 queued, 0 sent" in remind(app)
    (message,) = smtp_server.messages
    assert message["Subject"] == "Reminder: plan to authorise, home visit Wed 04 Mar, J.S."
    assert f"/home-visits/{soon.id}" in body(message)
    clock.advance(days=1)
    assert "1 queued, 1 sent" in remind(app)


def test_reminders_count_school_days_not_weekends(app: Flask, create_visit: Any, clock: Any,
                                                  smtp_server: Inbox) -> None:
    monday = valid_plan().starts_at + timedelta(days=5)  # Monday 9 March
    create_visit(state_="submitted", starts_at=monday, expected_return=monday + timedelta(hours=1))
    clock.advance(days=3)  # Thursday 5 March: Friday and Monday are the next two school days
    assert "1 queued" in remind(app)


def run_together(app: Flask, command: str, times: int = 2) -> None:
    start = threading.Barrier(times)

    def run() -> None:
        start.wait()
        app.test_cli_runner().invoke(args=["home-visits", command])

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def test_overlapping_reminder_runs_send_one(app: Flask, create_visit: Any, smtp_server: Inbox) -> None:
    for pupil in ("Ann One", "Ben Two", "Cat Three"):
        create_visit(state_="submitted", pupil=pupil)
    run_together(app, "remind")
    assert len(smtp_server.messages) == 3


def test_the_morning_digest_lists_today_once_and_only_when_there_are_visits(
    app: Flask, create_visit: Any, clock: Any, smtp_server: Inbox
) -> None:
    digest = ["home-visits", "digest"]
    assert "nothing to send" in app.test_cli_runner().invoke(args=digest).output
    visit = create_visit(state_="authorised", contact_id="kim")
    clock.now = visit.starts_at.replace(hour=7)
    run_together(app, "digest")
    assert "nothing to send" in app.test_cli_runner().invoke(args=digest).output
    (message,) = smtp_server.messages
    assert to(message) == {"office@school.example"} and message["Subject"] == "Home visits today: 1"
    text = body(message)
    for fact in ("10:00-11:00  Sam Patel + Jo Jones", "12 Larch Close, Exampleton EX1 2AB",
                 "Responsible contact: Kim Lee, 01632 960000"):
        assert fact in text
    no_pupil_name(smtp_server, "Jamie", "Smith")
    with state(app).sessions() as session:
        assert session.scalar(select(func.count()).where(AuditEntry.action == "in_digest")) == 1


def test_the_queue_shows_waiting_time_and_authorises_low_risk_plans_in_one_click(
    app: Flask, login: Any, create_visit: Any, clock: Any
) -> None:
    plain = create_visit(state_="submitted")
    risky = create_visit(state_="submitted", pupil="Riley Example", risk_factors=["risk-animals"],
                         risk_notes="The dog is shut away first.")
    clock.advance(hours=26, minutes=5)
    page = login("alex").get("/home-visits/approvals").get_data(as_text=True)
    assert page.count("1 day 2 hours") == 2
    assert 'aria-label="Authorise the visit to J.S. on 04 Mar"' in page
    assert "Authorise the visit to R.E." not in page and f"/home-visits/{risky.id}\">Review the plan" in page
    response = login("alex").post(f"/home-visits/{plain.id}/decide",
                                  data={"authorise": "Authorise", "next": "approvals", "version": str(plain.version)})
    assert response.location == "/home-visits/approvals"
    with state(app).sessions() as session:
        assert session.get(Visit, plain.id).state == "authorised"


def test_plan_another_visit_like_this(login: Any, create_visit: Any) -> None:
    earlier = create_visit(state_="authorised", contact_id="kim", language_needs="Polish interpreter")
    page = login("sam").get(f"/home-visits/new?like={earlier.id}").get_data(as_text=True)
    for copied in ('value="Jamie Smith"', "12 Larch Close", 'value="EX1 2AB"', 'value="Polish interpreter"',
                   '<option selected value="jo">', '<option selected value="kim">'):
        assert copied in page, copied
    assert 'name="date" type="date" value=""' in page and "Copied from the visit of 04 Mar 2026" in page
    other = create_visit(lead="kim", second_staff_id="jo")
    assert login("sam").get(f"/home-visits/new?like={other.id}").status_code == 404
    assert login("sam").get("/home-visits/new?like=abc").status_code == 400


def test_the_visit_card_has_what_to_carry_and_initials_only(login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="authorised")
    page = login("jo").get(f"/home-visits/{visit.id}/card").get_data(as_text=True)
    for fact in ("Home visit card: J.S.", "12 Larch Close, Exampleton EX1 2AB", "Wednesday 04 March 2026, 10:00",
                 "<strong>11:00</strong>", 'Sam Patel (<a href="tel:07700900001">07700 900001</a>)',
                 'Jo Jones (<a href="tel:07700900002">07700 900002</a>)',
                 'Pat Office, <a href="tel:01632960000">01632 960000</a>', "Call 999", "Ring the member of staff"):
        assert fact in page, fact
    card = page.split('class="hv-card"', 1)[1]
    assert "Jamie" not in card and "Smith" not in card
    assert login("kim").get(f"/home-visits/{visit.id}/card").status_code == 404
