"""The visit record: written after closing off, facts apart from opinions, locked on submit,
corrected by appending, confirmed by the second member of staff, copied for CPOMS."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from home_visits.extension import state
from home_visits.models import AccessEntry, AuditEntry, Visit, VisitRecord

from ..conftest import Inbox


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    return mail_app


@pytest.fixture
def returned_visit(app: Flask, create_visit: Any, login: Any, clock: Any) -> Visit:
    """An authorised visit the staff went on and came back from."""
    visit = create_visit(state_="authorised", pupil="Jamie Smith")
    clock.now = visit.starts_at
    login("sam").post(f"/home-visits/{visit.id}/check-out")
    clock.now = visit.expected_return
    login("sam").post(f"/home-visits/{visit.id}/check-in")
    clock.now = visit.expected_return + timedelta(hours=1)
    return visit


def record_form(**changes: Any) -> dict[str, Any]:
    data = {
        "outcome": "took_place", "setting": "inside", "day": "2026-03-04", "started": "10:05", "ended": "10:50",
        "present-0-name": "Ms A Smith", "present-0-relationship": "Mother", "present-0-agreed": "yes",
        "present-1-name": "Mr B Jones", "present-1-relationship": "Mother's partner", "present-1-agreed": "no",
        "points": "Attendance since January; morning routine.", "child_voice": "Jamie said mornings are rushed.",
        "parents_views": "Mum wants help with the school run.", "agreements": "Try the breakfast club for 2 weeks.",
        "observations-0-kind": "fact", "observations-0-text": "Jamie was dressed and ready at 10:05.",
        "observations-1-kind": "opinion", "observations-1-text": "Mum seemed tired and worried.",
        "actions-0-what": "Book breakfast club place", "actions-0-owner": "Sam Patel", "actions-0-due": "2026-03-06",
        "reflection": "I felt the visit went well; I was nervous at first.",
    }
    data.update(changes)
    return data


def error_beside(page: str, field: str) -> str:
    match = re.search(rf'<p class="hv-error" id="{field}-error">(.*?)</p>', page, re.S)
    assert match, f"no message beside {field}"
    return html.unescape(re.sub(r"<[^>]+>", "", match[1])).strip()


def stored(app: Flask, visit_id: int) -> VisitRecord:
    with state(app).sessions() as session:
        record = session.scalar(select(VisitRecord).where(VisitRecord.visit_id == visit_id))
        assert record is not None
        _ = record.actions  # load before the session closes
        return record


def submit(login: Any, visit: Visit, **changes: Any) -> Any:
    return login("sam").post(f"/home-visits/{visit.id}/record", data=record_form(submit="Submit", **changes))


def test_only_the_lead_writes_and_only_after_closing_off(login: Any, create_visit: Any, returned_visit: Visit) -> None:
    authorised = create_visit(state_="authorised", starts_at=returned_visit.starts_at + timedelta(days=2),
                              expected_return=returned_visit.expected_return + timedelta(days=2))
    assert "not been written yet" in login("sam").get(f"/home-visits/{authorised.id}/record").get_data(as_text=True)
    assert login("sam").post(f"/home-visits/{authorised.id}/record", data=record_form(save="Save")).status_code == 409
    page = login("sam").get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    assert "Submit the record" in page and 'value="2026-03-04"' in page
    assert "Submit the record" not in login("jo").get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    assert login("pat").get(f"/home-visits/{returned_visit.id}/record").status_code == 403  # the office
    assert login("kim").get(f"/home-visits/{returned_visit.id}/record").status_code == 404


def test_each_field_is_stored_and_facts_stay_apart_from_opinions(app: Flask, login: Any, returned_visit: Visit) -> None:
    response = submit(login, returned_visit)
    assert response.status_code == 302
    record = stored(app, returned_visit.id)
    assert record.outcome == "took_place" and record.setting == "inside"
    assert record.started_at.isoformat() == "2026-03-04T10:05:00+00:00"
    assert record.present == [{"name": "Ms A Smith", "relationship": "Mother", "agreed": True},
                              {"name": "Mr B Jones", "relationship": "Mother's partner", "agreed": False}]
    assert record.observations == [{"kind": "fact", "text": "Jamie was dressed and ready at 10:05."},
                                   {"kind": "opinion", "text": "Mum seemed tired and worried."}]
    assert [(a.what, a.owner, a.due.isoformat()) for a in record.actions] == [
        ("Book breakfast club place", "Sam Patel", "2026-03-06")]
    page = login("jo").get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    assert "Fact:</strong> Jamie was dressed" in page and "Opinion:</strong> Mum seemed tired" in page
    assert "did not want to talk in front of them" in page
    assert "I was nervous" not in page  # the reflection is private to its author
    assert "I was nervous" in login("sam").get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    with state(app).sessions() as session:
        assert session.get(Visit, returned_visit.id).state == "recorded"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"outcome": ""}, "outcome", "Say what happened"),
        ({"setting": ""}, "setting", "inside the home or on the doorstep"),
        ({"started": ""}, "started", "actually started and ended"),
        ({"ended": "10:00"}, "ended", "end after it started"),
        ({"points": ""}, "points", "points you discussed"),
        ({"present-0-name": "", "present-1-name": ""}, "present", "everyone who was present"),
        ({"observations-0-kind": ""}, "observations", "observation 1 as a fact or an opinion"),
        ({"concerns": "Bruise on the arm."}, "safeguarding", "raised it on the safeguarding system"),
        ({"safeguarding": "raised"}, "safeguarding_where", "for example CPOMS"),
        ({"incident_kinds": ["threats"]}, "incident_details", "Describe the incident"),
        ({"actions-0-owner": ""}, "actions", "an owner and a due date"),
        ({"actions-0-due": "2026-03-01"}, "actions", "due before the visit"),
    ],
)
def test_each_rule_shows_its_message_and_nothing_is_submitted(
    app: Flask, login: Any, returned_visit: Visit, changes: dict[str, Any], field: str, message: str
) -> None:
    response = submit(login, returned_visit, **changes)
    assert response.status_code == 422
    assert message in error_beside(response.get_data(as_text=True), field)
    with state(app).sessions() as session:
        assert session.scalar(select(VisitRecord).where(VisitRecord.visit_id == returned_visit.id)) is None
        assert session.get(Visit, returned_visit.id).state == "returned"


def test_a_visit_that_did_not_happen_needs_little(app: Flask, login: Any, returned_visit: Visit) -> None:
    data = {"outcome": "no_answer", "day": "2026-03-04", "submit": "Submit"}
    assert login("sam").post(f"/home-visits/{returned_visit.id}/record", data=data).status_code == 302
    assert stored(app, returned_visit.id).outcome == "no_answer"


def test_draft_then_submit_then_locked(app: Flask, login: Any, returned_visit: Visit) -> None:
    client = login("sam")
    saved = client.post(f"/home-visits/{returned_visit.id}/record", data=record_form(points="", save="Save"))
    assert saved.status_code == 302
    draft = stored(app, returned_visit.id)
    assert draft.submitted_at is None and draft.points == ""
    page = client.get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    assert "Ms A Smith" in page  # the draft comes back into the form
    submit(login, returned_visit, version=str(draft.version))
    locked = client.post(f"/home-visits/{returned_visit.id}/record", data=record_form(points="Rewritten", save="Save"))
    assert locked.status_code == 409
    assert stored(app, returned_visit.id).points == "Attendance since January; morning routine."


def test_corrections_are_appended_and_the_original_stays(app: Flask, login: Any, returned_visit: Visit) -> None:
    submit(login, returned_visit)
    client = login("sam")
    bad = client.post(f"/home-visits/{returned_visit.id}/record/correct",
                      data={"field": "observations", "text": "It was 10:15, not 10:05.", "reason": ""})
    assert bad.status_code == 422 and "Say why the record needs correcting" in bad.get_data(as_text=True)
    good = client.post(f"/home-visits/{returned_visit.id}/record/correct",
                       data={"field": "observations", "text": "It was 10:15, not 10:05.", "reason": "Misread my notes"})
    assert good.status_code == 302
    page = client.get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    assert "Jamie was dressed and ready at 10:05." in page and "It was 10:15, not 10:05." in page
    assert "Why: Misread my notes" in page
    assert login("jo").post(f"/home-visits/{returned_visit.id}/record/correct",
                            data={"field": "points", "text": "x", "reason": "y"}).status_code == 403
    assert login("alex").post(f"/home-visits/{returned_visit.id}/record/correct",
                              data={"field": "points", "text": "Also discussed uniform.",
                                    "reason": "Added by the head after a call"}).status_code == 302


def test_the_second_member_of_staff_confirms(app: Flask, login: Any, returned_visit: Visit) -> None:
    submit(login, returned_visit)
    assert login("sam").post(f"/home-visits/{returned_visit.id}/record/confirm", data={}).status_code == 403
    page = login("jo").get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    assert "Confirm the record" in page
    response = login("jo").post(f"/home-visits/{returned_visit.id}/record/confirm",
                                data={"comment": "Agreed; Mum also mentioned the bus times."})
    assert response.status_code == 302
    page = login("sam").get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    assert "Confirmed by Jo Jones" in page and "bus times" in page


def test_an_incident_emails_the_head_and_line_manager_at_once(
    app: Flask, login: Any, returned_visit: Visit, smtp_server: Inbox
) -> None:
    app.config["HOME_VISITS_INCIDENT_EMAILS"] = ("line.manager@school.example",)
    response = submit(login, returned_visit, incident_kinds=["threats"],
                      incident_details="Mr Jones shouted and blocked the door for a minute.")
    assert response.status_code == 302
    (message,) = smtp_server.messages
    assert message["Subject"] == "INCIDENT reported on a home visit: Sam Patel, 04 Mar 2026"
    assert {a.addr_spec for a in message["To"].addresses} == {
        "alex@school.example", "blair@school.example", "line.manager@school.example"}
    body = message.get_body(("plain",)).get_content()
    assert "Jamie" not in body and "Smith" not in body and "shouted" not in body
    page = login("alex").get(f"/home-visits/{returned_visit.id}").get_data(as_text=True)
    assert "Incident reported on the visit record" in page


def test_copy_for_cpoms_is_plain_text_without_the_reflection(app: Flask, login: Any, returned_visit: Visit) -> None:
    submit(login, returned_visit, concerns="Bruise on the arm.", safeguarding="raised", safeguarding_where="CPOMS")
    client = login("alex")
    text = client.get(f"/home-visits/{returned_visit.id}/record/cpoms?format=txt")
    assert text.headers["Content-Type"].startswith("text/plain")
    body = text.get_data(as_text=True)
    for fact in ("Home visit record: Jamie Smith", "- [FACT] Jamie was dressed", "- [OPINION] Mum seemed tired",
                 "Present: Ms A Smith (Mother); Mr B Jones (Mother's partner), family did not agree",
                 "Concerns:\nBruise on the arm.", "Safeguarding: Raised on the safeguarding system (CPOMS)"):
        assert fact in body
    assert "nervous" not in body
    page = client.get(f"/home-visits/{returned_visit.id}/record/cpoms").get_data(as_text=True)
    assert '<textarea id="cpoms-text"' in page


def test_who_opened_the_record_is_logged_and_shown_to_approvers(app: Flask, login: Any, returned_visit: Visit) -> None:
    submit(login, returned_visit)
    login("jo").get(f"/home-visits/{returned_visit.id}/record")
    login("jo").get(f"/home-visits/{returned_visit.id}/record/cpoms")
    with state(app).sessions() as session:
        seen = session.execute(select(AccessEntry.person_id, AccessEntry.what).order_by(AccessEntry.id)).all()
        assert [tuple(row) for row in seen] == [("jo", "opened"), ("jo", "copied")]
        assert "record_copied" in session.scalars(select(AuditEntry.action)).all()
    page = login("alex").get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    assert "Who opened this record" in page and "Jo Jones: copied" in page
    page = login("jo").get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    assert "Who opened this record" not in page


def test_open_actions_show_until_done_and_carry_into_the_next_plan(
    app: Flask, login: Any, create_visit: Any, returned_visit: Visit
) -> None:
    submit(login, returned_visit)
    client = login("sam")
    page = client.get("/home-visits/").get_data(as_text=True)
    assert "Open actions from your visit records" in page and "Book breakfast club place" in page
    later = create_visit(starts_at=returned_visit.starts_at + timedelta(days=14),
                         expected_return=returned_visit.expected_return + timedelta(days=14))
    page = client.get(f"/home-visits/{later.id}").get_data(as_text=True)
    assert "Open actions from earlier visits to this family" in page and "Book breakfast club place" in page
    elsewhere = create_visit(address="1 Other Road", postcode="EX9 9ZZ")
    assert "Book breakfast club" not in client.get(f"/home-visits/{elsewhere.id}").get_data(as_text=True)
    action_id = stored(app, returned_visit.id).actions[0].id
    assert login("jo").post(f"/home-visits/actions/{action_id}/done").status_code == 403
    client = login("sam")  # one test client: log back in as the lead
    assert client.post(f"/home-visits/actions/{action_id}/done").status_code == 302
    assert "Book breakfast club place" not in client.get("/home-visits/").get_data(as_text=True)


def test_a_draft_saved_from_a_stale_tab_never_overwrites_the_newer_one(app: Flask, login: Any,
                                                                      returned_visit: Visit) -> None:
    """Two tabs opened the record form before any record existed (both carry no version): the second save
    is refused with the form kept and the page saying why, and the first tab's words stay."""
    url = f"/home-visits/{returned_visit.id}/record"
    first, second = login("sam").get(url).get_data(as_text=True), login("sam").get(url).get_data(as_text=True)
    assert 'name="version" type="hidden" value=""' in first and 'name="version" type="hidden" value=""' in second
    assert login("sam").post(url, data=record_form(save="Save", points="Written in the first tab.")).status_code == 302
    stale = login("sam").post(url, data=record_form(save="Save", points="Written in the second tab."))
    page = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "since you opened it" in page and "Written in the second tab." in page
    assert stored(app, returned_visit.id).points == "Written in the first tab."
    again = login("sam").get(url).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', again)
    assert version and login("sam").post(url, data=record_form(save="Save", version=version[1])).status_code == 302


def test_open_actions_shown_on_another_visits_page_are_logged_as_a_look_at_their_record(
    app: Flask, login: Any, create_visit: Any, returned_visit: Visit
) -> None:
    """An open action is record content: showing it on the page of a later visit to the family is a look
    at the record it came from, in that record's "Who opened this record" like any other."""
    submit(login, returned_visit)
    later = create_visit(starts_at=returned_visit.starts_at + timedelta(days=14),
                         expected_return=returned_visit.expected_return + timedelta(days=14))
    page = login("alex").get(f"/home-visits/{later.id}").get_data(as_text=True)
    assert "Book breakfast club place" in page
    with state(app).sessions() as session:
        seen = session.execute(select(AccessEntry.visit_id, AccessEntry.person_id, AccessEntry.what)).all()
    assert [tuple(row) for row in seen] == [(returned_visit.id, "alex", "saw its open actions")]
    shown = login("alex").get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    assert "Alex Morgan: saw its open actions" in shown
    login("kim").get(f"/home-visits/{later.id}")  # kim reads neither record: nothing shown, nothing logged
    with state(app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(AccessEntry).where(AccessEntry.person_id == "kim")) == 0


def test_the_record_and_its_cpoms_copy_begin_with_why_the_visit_was_made(app: Flask, login: Any,
                                                                         returned_visit: Visit) -> None:
    submit(login, returned_visit)
    client = login("alex")
    lines = client.get(f"/home-visits/{returned_visit.id}/record/cpoms?format=txt").get_data(as_text=True).splitlines()
    assert lines[1:3] == ["Reason: Several days off with no contact",
                          "Purpose: Find out why Jamie has been absent and agree a plan."]
    page = client.get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    details = page[page.index('<dl class="hv-details">'):]
    assert details.index("Several days off with no contact") < details.index("What happened")
    assert details.index("Find out why Jamie has been absent") < details.index("What happened")


def test_the_record_forms_incident_hint_names_who_is_told(app: Flask, login: Any, returned_visit: Visit) -> None:
    page = login("sam").get(f"/home-visits/{returned_visit.id}/record").get_data(as_text=True)
    hint = page[page.index("Ticking an incident tells"):][:600]
    assert "Alex Morgan" in hint and "Blair Shaw" in hint
    for address in app.config["HOME_VISITS_INCIDENT_EMAILS"]:
        assert address in hint
