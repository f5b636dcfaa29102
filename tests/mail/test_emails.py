"""Every email is a template under ``templates/home_visits/emails/``: each one renders (subject on one line,
plain text, HTML with the same words), says what the plugin always said, and a host's own template at the
same path changes an alert's wording the way a host overrides a page."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader

from home_visits.mail.app import mail_context
from home_visits.mail.context import Context, Email, render_part
from home_visits.people import Person
from home_visits.plans import notices
from home_visits.policy import cached_policy
from home_visits.safety import sweep

EMAILS = Path(notices.__file__).parents[1] / "templates" / "home_visits" / "emails"
POLICY = cached_policy(None)
START = datetime(2026, 3, 4, 9, 30, tzinfo=timezone.utc)
STAFF = [Person("sam", "Sam Patel", "sam@school.example", "07700 900001", frozenset({"staff"})),
         Person("jo", "Jo Jones", "jo@school.example", "", frozenset({"staff"})),
         Person("alex", "Alex Morgan", "alex@school.example", "", frozenset({"staff", "approver"}))]


class Staff:
    def person(self, user: Any) -> Person:
        return user  # type: ignore[no-any-return]

    def find(self, person_id: str) -> Person | None:
        return next((p for p in STAFF if p.id == person_id), None)

    def staff(self) -> list[Person]:
        return STAFF


def visit(**values: Any) -> Any:
    return SimpleNamespace(**{
        "id": 7, "lead_id": "sam", "second_staff_id": "jo", "contact_id": "alex", "contact_phone": "07700 900003",
        "address": "1 High Street\nExampleton", "postcode": "EX1 1AA", "starts_at": START,
        "expected_return": START + timedelta(hours=1), "checked_out_at": START, "acknowledged_at": None,
        "state": "checked_out", "pupil_initials": "J.S.", "reason": "attendance", "reason_other": "",
        "risk_factors": [], "family_agreed": "yes", "checklist": [], "sequence": 1, "authorised_by": "alex",
        "decline_reason": "Meet in school",
        **values})


def context(**values: Any) -> Context:
    return Context(policy=POLICY, directory=Staff(), mailer=lambda *_a, **_k: None,  # type: ignore[arg-type]
                   link=lambda visit_id: f"https://portal.school.example/home-visits/{visit_id}", **values)


def alert(key: str, raised_by: str = "", detail: str = "", **values: Any) -> Email:
    row = SimpleNamespace(key=key, raised_by=raised_by, detail=detail, notify=[], taps=1)
    return sweep._alert(row, visit(**values), context(), START + timedelta(hours=3))  # type: ignore[arg-type]


def queued(monkeypatch: pytest.MonkeyPatch, send: Any) -> Email:
    emails: list[Email] = []
    monkeypatch.setattr(notices, "wanting", lambda _session, _people: ["someone@school.example"])
    monkeypatch.setattr(notices, "queue", lambda _session, **kw: emails.append(kw["email"]) or 1)
    send()
    return emails[0]


def test_every_email_has_its_subject_text_and_html() -> None:
    names = {path.name.split(".")[0] for path in EMAILS.iterdir() if not path.name.startswith(("_", "layout"))}
    assert names == {"alert", "incident", "plan_submitted", "plan_decided", "plan_sent_back", "reminder", "digest",
                     "record_concern", "record_reminder",
                     "invitation"}
    for name in names:
        for part in (".subject.txt", ".txt", ".html"):
            assert (EMAILS / f"{name}{part}").is_file(), f"{name}{part}"


@pytest.mark.parametrize(("key", "raised_by", "detail", "values", "subject", "step"), [
    ("tier-0", "", "", {}, "OVERDUE: Sam Patel, home visit, expected back 10:30", "Escalation step 1 of"),
    ("tier-0", "", "", {"checked_out_at": None, "state": "authorised"},
     "OVERDUE: Sam Patel, home visit, expected back 10:30 (never checked out)", "Escalation step 1 of"),
    ("not-checked-out", "", "", {"state": "authorised", "checked_out_at": None},
     "NOT CHECKED OUT: Sam Patel, home visit due to start at 09:30", "Nobody has checked out for this visit."),
    ("end-of-day", "", "", {}, "Still out at closing time: Sam Patel, home visit", "End-of-day check."),
    ("manual-1", "jo", "", {}, "URGENT: alert from Jo Jones on a home visit", "Raised by hand."),
    ("incident-1", "jo", "aggression", {}, "INCIDENT on a home visit now: Aggression or threats, reported by Jo Jones",
     "Reported from the visit page as it happened."),
])
def test_each_safety_alert_renders(key: str, raised_by: str, detail: str, values: dict[str, Any], subject: str,
                                   step: str) -> None:
    email = alert(key, raised_by, detail, **values)
    lines = email.text.splitlines()
    assert email.subject == subject and lines[0] == subject and lines[1].startswith(step) and lines[2] == ""
    assert "Address: 1 High Street Exampleton EX1 1AA" in lines
    assert "Responsible contact: Alex Morgan, 07700 900003" in lines
    assert lines[-2] == "The visit: https://portal.school.example/home-visits/7"
    assert "J.S." not in email.text and email.text == email.text.strip()
    assert "<p>" + subject in email.html and "https://portal.school.example/home-visits/7</a>" in email.html


def test_the_record_incident_email_renders() -> None:
    email = alert("incident", "sam")
    assert email.subject == "INCIDENT reported on a home visit: Sam Patel, 04 Mar 2026"
    assert email.text.splitlines() == [
        email.subject, "Reported on the visit record.", "", "Lead: Sam Patel",
        "Address: 1 High Street Exampleton EX1 1AA", "",
        "Read what happened and follow it up in the portal (details are kept there, not in email):",
        "https://portal.school.example/home-visits/7"]


def test_each_plan_email_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    now, authorised, declined = START - timedelta(days=1), visit(state="authorised"), visit(state="declined")
    submitted = queued(monkeypatch, lambda: notices.plan_submitted(None, authorised, context(), now))
    assert submitted.subject == "Plan to authorise: home visit Wed 04 Mar, J.S."
    assert submitted.text.splitlines()[:3] == ["A home visit plan is waiting for your decision.", "", "Pupil: J.S."]
    decided = queued(monkeypatch, lambda: notices.plan_decided(None, authorised, context(), now))
    assert decided.subject == "Plan authorised: home visit Wed 04 Mar, J.S."
    assert "\n\nAuthorised by Alex Morgan. Check out in the portal when you set off.\n\nThe plan: " in decided.text
    refused = queued(monkeypatch, lambda: notices.plan_decided(None, declined, context(), now))
    assert "\n\nWhy: Meet in school\nChange the plan and submit it again" in refused.text
    back = queued(monkeypatch, lambda: notices.plan_sent_back(None, authorised, context(), now, "alex"))
    assert back.subject.startswith("Changed plan to authorise again:") and back.text.endswith("/home-visits/7")
    for email in (submitted, decided, refused, back):
        assert email.html.startswith('<!doctype html><html lang="en">') and "<p>Pupil: J.S.<br>" in email.html


def test_a_host_template_changes_an_alert_s_wording(app: Flask) -> None:
    app.jinja_loader = ChoiceLoader([DictLoader({  # a host file at the same path wins over the plugin's
        "home_visits/emails/alert.subject.txt": "Overdue colleague: {{ who }}",
    }), app.jinja_loader])  # type: ignore[list-item]
    with app.app_context():
        assert render_part(mail_context(), "alert.subject", who="Sam Patel") == "Overdue colleague: Sam Patel"
