"""Someone in danger presses "Alert the office now" again and again. Every press is taken (never refused or
hidden) and shown, but while the visit's alarm is still open a press adds to that alarm rather than making
a new one: one alarm on the dashboard with how many presses and when, and the people told hear again at
most once every 5 minutes. "Report an incident" of the same kind behaves the same."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import Alert, AuditEntry

from ..conftest import Inbox
from .test_safety import check_out, subjects


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    return mail_app


def alarms(app: Flask, visit_id: int) -> list[Alert]:
    with state(app).sessions() as session:
        return list(session.scalars(select(Alert).where(Alert.visit_id == visit_id, Alert.raised_by != "")))


def history(app: Flask, visit_id: int) -> list[str]:
    with state(app).sessions() as session:
        return [e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.visit_id == visit_id)
                                                  .order_by(AuditEntry.id))]


def test_pressing_again_adds_to_the_open_alarm_and_tells_again_at_most_every_5_minutes(
        app: Flask, login: Any, create_visit: Any, clock: Any, smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    jo, start = login("jo"), clock.now
    for minute in (0, 1, 2):
        clock.now = start + timedelta(minutes=minute)
        pressed = jo.post(f"/home-visits/{visit.id}/alert", follow_redirects=True)
        assert pressed.status_code == 200
    assert "pressed 3 times" in pressed.get_data(as_text=True)  # the presser sees it was taken
    assert len(alarms(app, visit.id)) == 1 and alarms(app, visit.id)[0].taps == 3
    assert subjects(smtp_server) == ["URGENT: alert from Jo Jones on a home visit"]  # once in the first 5 minutes
    assert history(app, visit.id).count("alert_repeated") == 2
    board = login("pat").get("/home-visits/dashboard").get_data(as_text=True)
    assert "Open alarms (1)" in board and "Pressed 3 times" in board and "last at 10:02" in board
    clock.now = start + timedelta(minutes=6)  # 5 minutes after the last email: they hear again
    jo.post(f"/home-visits/{visit.id}/alert")
    assert subjects(smtp_server)[1:] == ["URGENT (pressed 4 times): alert from Jo Jones on a home visit"]
    clock.now = start + timedelta(minutes=7)
    jo.post(f"/home-visits/{visit.id}/alert")
    assert len(smtp_server.messages) == 2 and alarms(app, visit.id)[0].taps == 5
    page = login("sam").get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert "pressed again" in page  # the history names each press
    login("pat").post(f"/home-visits/{visit.id}/acknowledge")
    clock.now = start + timedelta(minutes=8)  # handled: a new press is a new alarm, told at once
    jo.post(f"/home-visits/{visit.id}/alert")
    assert len(alarms(app, visit.id)) == 2 and len(smtp_server.messages) == 3


def test_the_same_incident_reported_again_adds_to_it_and_another_kind_is_a_new_one(
        app: Flask, login: Any, create_visit: Any, clock: Any, smtp_server: Inbox) -> None:
    visit = create_visit(state_="authorised")
    check_out(app, login, clock, visit)
    sam = login("sam")
    for _ in range(2):
        assert sam.post(f"/home-visits/{visit.id}/incident", data={"kind": "aggression"}).status_code == 302
    assert [a.taps for a in alarms(app, visit.id)] == [2] and len(smtp_server.messages) == 1
    assert sam.post(f"/home-visits/{visit.id}/incident", data={"kind": "injury"}).status_code == 302
    assert [a.taps for a in alarms(app, visit.id)] == [2, 1] and len(smtp_server.messages) == 2
