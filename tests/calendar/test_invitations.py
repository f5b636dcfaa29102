"""Calendar invitations by email (iMIP) through a real SMTP server: REQUEST on authorisation with the feed's
UID, a higher SEQUENCE and the new time after a re-authorised change, CANCEL when called off, nothing for
someone who turned them off; three parsers read the same instants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from home_visits.extension import state
from home_visits.models import Visit

from ..conftest import Inbox, form_data
from .test_calendar import instants, read_all
from .test_feed import events, new_link

READERS = {"alex@school.example", "blair@school.example", "office@school.example"}


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    mail_app.config["HOME_VISITS_CALENDAR_INVITES"] = True
    return mail_app


def invitations(inbox: Inbox) -> dict[str, Any]:
    """Each invitation's iMIP part by its one recipient (the last one each received)."""
    found = {}
    for message in inbox.messages:
        part = next((p for p in message.walk() if p.get_content_type() == "text/calendar"), None)
        if part is not None:
            (address,) = [a.addr_spec for a in message["To"].addresses]
            found[address] = (message, part)
    return found


def fresh(app: Flask, visit: Visit) -> Visit:
    with state(app).sessions() as session:
        found = session.get(Visit, visit.id)
        assert found is not None
        return found


def authorise(login: Any, visit: Any) -> None:
    response = login("alex").post(f"/home-visits/{visit.id}/decide",
                                  data={"authorise": "Authorise", "version": str(visit.version)})
    assert response.status_code == 302


def test_an_authorised_visit_reaches_approvers_and_office_as_a_request_with_the_feeds_uid(
        app: Flask, login: Any, create_visit: Any, smtp_server: Inbox) -> None:
    visit = create_visit(state_="submitted")
    authorise(login, visit)
    sent = invitations(smtp_server)
    assert set(sent) == READERS  # the lead and second get the plain "authorised" email instead
    message, part = sent["office@school.example"]
    assert message["Content-Class"] == "urn:content-classes:calendarmessage"
    assert part.get_param("method") == "REQUEST" and part.get_content_charset() == "utf-8"
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    body = part.get_content().encode()
    unfolded = body.replace(b"\r\n ", b"")
    assert (b'ATTENDEE;CN="Pat Office";ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:'
            b"mailto:office@school.example") in unfolded
    assert b'ORGANIZER;CN="Home visits":mailto:home-visits@school.example' in unfolded
    assert b"BEGIN:VTIMEZONE" in body and b"METHOD:REQUEST" in body
    assert "Jamie" not in message.as_string() and "Smith" not in message.as_string()

    feed = events(login("alex").get(new_link(login("alex"))).data)
    (invited,) = read_all(body)["icalendar"].values()
    (uid,) = feed
    fed = feed[uid]
    assert read_all(body)["icalendar"].keys() == {uid}
    assert (invited["summary"], invited["location"], invited["description"]) == (
        str(fed["SUMMARY"]), str(fed["LOCATION"]), str(fed["DESCRIPTION"]))
    expected = {uid: (visit.starts_at.astimezone(UTC), visit.expected_return.astimezone(UTC))}
    assert instants(body) == {"icalendar": expected, "vobject": expected, "ical": expected}


def test_a_reauthorised_change_moves_it_and_cancelling_takes_it_out(
        app: Flask, login: Any, create_visit: Any, smtp_server: Inbox) -> None:
    visit = create_visit(state_="submitted")
    authorise(login, visit)
    first = read_all(invitations(smtp_server)["blair@school.example"][1].get_content().encode())["icalendar"]
    moved = form_data(start_time="13:00", return_time="14:00", save="Save", version=str(fresh(app, visit).version))
    assert login("sam").post(f"/home-visits/{visit.id}/edit", data=moved).status_code == 302
    assert fresh(app, visit).state == "submitted"  # a new time needs deciding again
    smtp_server.clear()
    authorise(login, fresh(app, visit))
    (uid, was), = first.items()
    body = invitations(smtp_server)["blair@school.example"][1].get_content().encode()
    now = {name: events[uid] for name, events in read_all(body).items()}
    assert {e["sequence"] > was["sequence"] for e in now.values()} == {True}
    new_time = (datetime(2026, 3, 4, 13, 0, tzinfo=UTC), datetime(2026, 3, 4, 14, 0, tzinfo=UTC))
    assert {(e["start"], e["end"]) for e in now.values()} == {new_time}  # 13:00 GMT on 4 March

    smtp_server.clear()
    cancelled = login("alex").post(f"/home-visits/{visit.id}/cancel", data={"reason": "Family moved"})
    assert cancelled.status_code == 302
    sent = invitations(smtp_server)
    assert set(sent) == READERS
    part = sent["alex@school.example"][1]
    assert part.get_param("method") == "CANCEL"
    gone = read_all(part.get_content().encode())
    assert {events[uid]["status"] for events in gone.values()} == {"CANCELLED"}
    assert {events[uid]["sequence"] >= now["icalendar"]["sequence"] for events in gone.values()} == {True}


def test_nothing_comes_once_a_person_turns_invitations_off(
        app: Flask, login: Any, create_visit: Any, smtp_server: Inbox) -> None:
    page = login("blair").get("/home-visits/settings").get_data(as_text=True)
    assert '<input checked id="invitations" name="invitations" type="checkbox" value="y">' in page  # on by default
    assert "Outlook on the web about every 3 hours" in page
    subscribe = login("blair").get("/home-visits/calendar/").get_data(as_text=True)
    assert "Google Calendar every 8 to 24 hours" in subscribe and "turn on\ncalendar invitations" in subscribe
    assert login("blair").post("/home-visits/settings", data={"plan_emails": "y", "save": "Save"}).status_code == 302
    assert '<input id="invitations" name="invitations" type="checkbox" value="y">' in login("blair").get(
        "/home-visits/settings").get_data(as_text=True)  # shown off
    visit = create_visit(state_="submitted")
    authorise(login, visit)
    assert set(invitations(smtp_server)) == READERS - {"blair@school.example"}
