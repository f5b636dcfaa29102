"""Every visit is recorded: a visit back safe with no record reminds its lead by email once, on the next
school morning's run of ``flask home-visits remind``; those who read every record list the records not
written yet on the reports page."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask

from home_visits.models import Visit

from ..conftest import Inbox
from .test_records import record_form
from .test_records import returned_visit as returned_visit  # noqa: F401 - the fixture

#: The default visit is on Wednesday 4 March 2026; its staff are back by 11:00.
THURSDAY_MORNING = datetime(2026, 3, 5, 7, 30, tzinfo=timezone.utc)


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    return mail_app


def remind(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["home-visits", "remind"])
    assert result.exit_code == 0, result.output
    return result.output


def record_reminders(inbox: Inbox) -> list[Any]:
    return [m for m in inbox.messages if str(m["Subject"]).startswith("Visit record to write")]


def test_a_visit_back_safe_with_no_record_reminds_its_lead_once_the_next_school_morning(
        app: Flask, clock: Any, returned_visit: Visit, smtp_server: Inbox) -> None:
    remind(app)  # the same day: the lead has until tomorrow morning
    assert record_reminders(smtp_server) == []
    clock.now = THURSDAY_MORNING
    assert "records to write: 1" in remind(app).splitlines()[-1]
    (message,) = record_reminders(smtp_server)
    assert {a.addr_spec for a in message["To"].addresses} == {"sam@school.example"}
    text = message.get_body(("plain",)).get_content()
    assert f"/home-visits/{returned_visit.id}" in text and "Jamie" not in text and "Smith" not in text
    clock.now = THURSDAY_MORNING + timedelta(days=1)
    remind(app)
    assert len(record_reminders(smtp_server)) == 1  # once


def test_no_reminder_on_a_weekend_morning_and_none_once_the_record_is_in(
        app: Flask, clock: Any, login: Any, create_visit: Any, returned_visit: Visit, smtp_server: Inbox) -> None:
    clock.now = datetime(2026, 3, 7, 8, 0, tzinfo=timezone.utc)  # Saturday
    remind(app)
    assert record_reminders(smtp_server) == []
    submitted = login("sam").post(f"/home-visits/{returned_visit.id}/record", data=record_form(submit="Submit"))
    assert submitted.status_code == 302
    clock.now = datetime(2026, 3, 9, 7, 30, tzinfo=timezone.utc)  # Monday
    remind(app)
    assert record_reminders(smtp_server) == []


def test_readers_of_every_record_list_those_not_written(app: Flask, clock: Any, login: Any,
                                                       returned_visit: Visit) -> None:
    clock.now = THURSDAY_MORNING
    page = login("alex").get("/home-visits/reports").get_data(as_text=True)
    assert "Records not written yet (1)" in page and f'href="/home-visits/{returned_visit.id}"' in page
    assert "Sam Patel" in page[page.index("Records not written yet"):]
    login("sam").post(f"/home-visits/{returned_visit.id}/record", data=record_form(submit="Submit"))
    assert "Records not written yet" not in login("alex").get("/home-visits/reports").get_data(as_text=True)
