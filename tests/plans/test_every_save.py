"""What was authorised is what happens: the rules run on every save, a change to anything the approver
judged sends an authorised plan back, and a decision is tied to the version the approver saw."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from home_visits.extension import state
from home_visits.models import AuditEntry, Visit

from ..conftest import form_data, valid_plan


def reload(app: Flask, visit_id: int) -> Visit:
    with state(app).sessions() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        session.expunge(visit)
        return visit


def history(app: Flask, visit_id: int) -> list[AuditEntry]:
    with state(app).sessions() as session:
        return list(session.query(AuditEntry).filter_by(visit_id=visit_id).order_by(AuditEntry.id))


def text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def error_beside(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="hv-error" id="{field_id}-error">(.*?)</p>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", match[1])) if match else ""


BROKEN = dict(start_time="21:00", return_time="23:59", second_staff_id="", alone_reason="", contact_id="",
              risk_factors=["risk-violence"], travel="public_transport")


@pytest.mark.parametrize("wanted", ["submitted", "authorised"])
def test_a_save_that_breaks_the_rules_is_refused_beside_the_fields_and_nothing_stored(
    app: Flask, login: Any, create_visit: Any, wanted: str
) -> None:
    visit = create_visit(state_=wanted)
    data = form_data(**BROKEN, save="Save changes", version=str(visit.version))
    response = login("sam").post(f"/home-visits/{visit.id}/edit", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose a second member of staff" in error_beside(page, "second_staff_id")
    assert "responsible contact" in error_beside(page, "contact_id")
    assert "public transport" in error_beside(page, "travel")
    stored = reload(app, visit.id)
    assert (stored.state, stored.version, stored.travel, stored.second_staff_id) == (wanted, visit.version, "car", "jo")
    assert [e.action for e in history(app, visit.id)][-1] != "edited"


def test_the_approver_cannot_authorise_what_the_rules_now_refuse(app: Flask, login: Any, create_visit: Any) -> None:
    """Even a plan stored broken (by an older version, say) is checked again when authorised."""
    visit = create_visit(state_="submitted")
    with state(app).sessions() as session:
        stored = session.get(Visit, visit.id)
        stored.travel, stored.contact_id = "public_transport", None
        session.commit()
        version = stored.version
    response = login("alex").post(f"/home-visits/{visit.id}/decide",
                                  data={"authorise": "Authorise", "version": str(version)})
    assert response.status_code == 422
    assert "public transport" in text(response)
    assert reload(app, visit.id).state == "submitted"


@pytest.mark.parametrize(("field", "value"), [
    ("risk_factors", ["risk-animals"]), ("risk_notes", "Dog kept in the kitchen during the visit."),
    ("purpose", "A different purpose altogether."), ("travel", "walking"), ("family_agreed", "not_asked"),
    ("appointment", "letter"), ("alternatives", ["phone-call"]), ("contact_phone", "01632 960999"),
])
def test_any_change_to_what_the_approver_judged_sends_the_plan_back(
    app: Flask, login: Any, create_visit: Any, field: str, value: Any
) -> None:
    visit = create_visit(state_="authorised")
    changes: dict[str, Any] = {field: value}
    if field == "risk_factors":
        changes["risk_notes"] = "The dog is shut away before we arrive."
    if field == "family_agreed":
        changes["appointment"] = "phone"
    data = form_data(**changes, save="Save changes", version=str(visit.version))
    response = login("sam").post(f"/home-visits/{visit.id}/edit", data=data)
    assert response.status_code == 302, error_beside(response.get_data(as_text=True), field)
    stored = reload(app, visit.id)
    assert stored.state == "submitted" and stored.authorised_by is None
    sent_back = [e for e in history(app, visit.id) if e.action == "send_back"]
    assert sent_back and field.replace("_", " ") in sent_back[-1].comment.lower()
    page = text(login("sam").get(f"/home-visits/{visit.id}"))
    assert "Authorised → Awaiting authorisation" in page and field.replace("_", " ") in page.lower()


def test_a_decision_is_tied_to_the_version_the_approver_saw(app: Flask, login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted")
    approver = login("alex")
    opened = text(approver.get(f"/home-visits/{visit.id}"))
    assert f'name="version" type="hidden" value="{visit.version}"' in opened or \
        f'type="hidden" name="version" value="{visit.version}"' in opened
    # Meanwhile the lead adds a violence risk.
    lead: FlaskClient = app.test_client()
    with lead.session_transaction() as session:
        session["_user_id"] = "sam"
    data = form_data(risk_factors=["risk-violence"], risk_notes="Meet the parent at the door, two of us.",
                     save="Save changes", version=str(visit.version))
    assert lead.post(f"/home-visits/{visit.id}/edit", data=data).status_code == 302
    response = approver.post(f"/home-visits/{visit.id}/decide",
                             data={"authorise": "Authorise", "version": str(visit.version)})
    assert response.status_code == 409
    page = text(response)
    assert "the plan changed since you opened it" in page.lower()
    assert "risk factors" in page.lower()  # what changed
    assert reload(app, visit.id).state == "submitted"


def test_a_decision_without_a_version_is_refused(app: Flask, login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted")
    response = login("alex").post(f"/home-visits/{visit.id}/decide", data={"authorise": "Authorise"})
    assert response.status_code == 409
    assert reload(app, visit.id).state == "submitted"


def test_the_queue_authorises_in_one_tap_only_plans_it_shows_whole(app: Flask, login: Any, create_visit: Any) -> None:
    plain = create_visit(state_="submitted")
    risky = create_visit(state_="submitted", risk_factors=["risk-animals"], risk_notes="Dog shut away first.")
    evening = create_visit(state_="submitted", starts_at=valid_plan().starts_at.replace(hour=16, minute=30),
                           expected_return=valid_plan().starts_at.replace(hour=17, minute=30))
    page = login("alex").get("/home-visits/approvals").get_data(as_text=True)
    forms = re.findall(r'action="/home-visits/(\d+)/decide".*?</form>', page, re.S)
    assert forms == [str(plain.id)]
    one_tap = re.search(rf'action="/home-visits/{plain.id}/decide".*?</form>', page, re.S)[0]
    assert f'name="version" value="{plain.version}"' in one_tap
    assert str(risky.id) not in forms and str(evening.id) not in forms


def test_the_visit_page_shows_the_approver_everything_they_decide_on(app: Flask, login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted", alternatives=["phone-call"],
                         alternatives_notes="The family has no phone that works.",
                         risk_factors=["risk-animals"], risk_notes="Dog shut away first.")
    page = text(login("alex").get(f"/home-visits/{visit.id}"))
    policy = state(app).policy
    for shown in ("The family has no phone that works.", "Dog shut away first.", "By phone",
                  policy.item("phone-call").title, *(i.title for i in policy.guidance.before.items if i.required)):
        assert shown in page, shown
    assert re.search(r"Family agreed.{0,40}Yes", page)
