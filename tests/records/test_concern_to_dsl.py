"""A disclosure or suspicion written in a visit record reaches the designated safeguarding lead when the
record is submitted: an email with a link to the record and none of its text (nor the pupil's name); the
headteacher (the school's approvers) when the school names no DSL. "Not a safeguarding matter" beside a
written concern needs a one-line reason, which the record and its CPOMS copy show."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Visit, VisitRecord

from ..conftest import USERS, Inbox
from .test_records import error_beside, record_form
from .test_records import returned_visit as returned_visit  # noqa: F401 - the fixture

CONCERN = "Jamie said someone at home hurts them."


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    return mail_app


def record_url(visit: Visit) -> str:
    return f"/home-visits/{visit.id}/record"


def addresses(inbox: Inbox) -> set[str]:
    return {a.addr_spec for m in inbox.messages for a in m["To"].addresses}


def test_a_written_concern_emails_the_dsl_a_link_and_no_record_text(
        app: Flask, login: Any, returned_visit: Visit, smtp_server: Inbox, monkeypatch: Any) -> None:
    monkeypatch.setattr(USERS["kim"], "roles", ("staff", "dsl"))
    response = login("sam").post(record_url(returned_visit), data=record_form(
        submit="Submit", concerns=CONCERN, safeguarding="raised", safeguarding_where="CPOMS"))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    (message,) = [m for m in smtp_server.messages if "safeguarding" in str(m["Subject"]).lower()]
    assert {a.addr_spec for a in message["To"].addresses} == {"kim@school.example"}
    body = message.get_body(("plain",)).get_content()
    assert f"/home-visits/{returned_visit.id}/record" in body and "Sam Patel" in body
    for secret in ("hurts", "Jamie", "Smith", "CPOMS"):
        assert secret not in body and secret not in str(message["Subject"]), secret
    again = login("sam").post(f"/home-visits/{returned_visit.id}/record/correct",
                              data={"field": "concerns", "text": "More detail.", "reason": "Left out."})
    assert again.status_code in (302, 303)
    assert len([m for m in smtp_server.messages if "safeguarding" in str(m["Subject"]).lower()]) == 1


def test_with_no_dsl_named_the_headteacher_hears(
        app: Flask, login: Any, create_visit: Any, returned_visit: Visit, smtp_server: Inbox) -> None:
    login("sam").post(record_url(returned_visit), data=record_form(
        submit="Submit", concerns="", safeguarding="raised", safeguarding_where="CPOMS"))
    told = [m for m in smtp_server.messages if "safeguarding" in str(m["Subject"]).lower()]
    assert len(told) == 1 and {a.addr_spec for a in told[0]["To"].addresses} == {"alex@school.example",
                                                                                 "blair@school.example"}


def test_not_a_safeguarding_matter_beside_a_concern_needs_a_reason(
        app: Flask, login: Any, returned_visit: Visit, smtp_server: Inbox) -> None:
    refused = login("sam").post(record_url(returned_visit), data=record_form(
        submit="Submit", concerns="Mum mentioned money worries.", safeguarding="not_needed"))
    assert refused.status_code == 422
    assert "why" in error_beside(refused.get_data(as_text=True), "safeguarding_why").lower()
    with state(app).sessions() as session:  # nothing half-saved: a refused submit keeps no draft either
        assert session.scalar(select(VisitRecord).where(VisitRecord.visit_id == returned_visit.id)) is None
    done = login("sam").post(record_url(returned_visit), data=record_form(
        submit="Submit", concerns="Mum mentioned money worries.", safeguarding="not_needed",
        safeguarding_why="Family support already in place through the early help team."))
    assert done.status_code == 302
    page = login("alex").get(record_url(returned_visit)).get_data(as_text=True)
    assert "Family support already in place" in page
    copy = login("alex").get(f"{record_url(returned_visit)}/cpoms?format=txt").get_data(as_text=True)
    assert "Not a safeguarding matter: Family support already in place" in copy
    # a written concern always reaches the DSL, whatever the answer beside it
    assert [m for m in smtp_server.messages if "safeguarding" in str(m["Subject"]).lower()]
