"""The visit's states and transitions: who may move a plan, from where, and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import AuditEntry, Visit
from home_visits.people import Person
from home_visits.plans import service as services
from home_visits.plans import workflow

from ..conftest import USERS


def person(app: Flask, user_id: str) -> Person:
    return state(app).directory.person(USERS[user_id])


def trail(app: Flask, visit_id: int) -> list[tuple[str, str | None, str | None, str]]:
    with state(app).sessions() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.visit_id == visit_id).order_by(AuditEntry.id))
        return [(r.action, r.from_state, r.to_state, r.actor_id) for r in rows]


def reload(app: Flask, visit_id: int) -> Visit:
    with state(app).sessions() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        return visit


class FakeVisit:
    def __init__(self, state_: str, lead: str = "sam", second: str | None = "jo") -> None:
        self.state, self.lead_id, self.second_staff_id = state_, lead, second


APPROVER = Person("alex", "Alex", roles=frozenset({"staff", "approver"}))
LEAD = Person("sam", "Sam", roles=frozenset({"staff"}))
OFFICE = Person("pat", "Pat", roles=frozenset({"office"}))


@pytest.mark.parametrize(
    ("start", "action", "actor", "end"),
    [
        ("draft", "submit", LEAD, "submitted"),
        ("declined", "submit", LEAD, "submitted"),
        ("submitted", "authorise", APPROVER, "authorised"),
        ("submitted", "decline", APPROVER, "declined"),
        ("draft", "cancel", LEAD, "cancelled"),
        ("submitted", "cancel", APPROVER, "cancelled"),
        ("authorised", "cancel", LEAD, "cancelled"),
        ("authorised", "send_back", LEAD, "submitted"),
    ],
)
def test_allowed_transitions(start: str, action: str, actor: Person, end: str) -> None:
    visit = FakeVisit(start)
    step = workflow.transition(visit, action, actor, authorisers=["approver"], comment="because")
    assert (visit.state, step.from_state, step.to_state) == (end, start, end)


@pytest.mark.parametrize(
    ("start", "action", "actor", "status"),
    [
        ("draft", "authorise", APPROVER, 409),  # not submitted yet
        ("authorised", "authorise", APPROVER, 409),
        ("cancelled", "cancel", LEAD, 409),
        ("submitted", "authorise", LEAD, 403),  # staff cannot authorise
        ("submitted", "authorise", OFFICE, 403),
        ("submitted", "decline", OFFICE, 403),
        ("draft", "submit", APPROVER, 403),  # only the lead submits
        ("draft", "cancel", OFFICE, 403),
    ],
)
def test_refused_transitions(start: str, action: str, actor: Person, status: int) -> None:
    visit = FakeVisit(start)
    with pytest.raises(workflow.WorkflowError) as error:
        workflow.transition(visit, action, actor, authorisers=["approver"], comment="because")
    assert error.value.status == status and visit.state == start


def test_nobody_authorises_a_visit_they_are_going_on() -> None:
    for lead, second in (("alex", None), ("sam", "alex")):
        visit = FakeVisit("submitted", lead=lead, second=second)
        with pytest.raises(workflow.WorkflowError, match="visit you are going on"):
            workflow.transition(visit, "authorise", APPROVER, authorisers=["approver"])


def test_decline_needs_a_reason() -> None:
    with pytest.raises(workflow.WorkflowError, match="Say why"):
        workflow.transition(FakeVisit("submitted"), "decline", APPROVER, authorisers=["approver"], comment="  ")


def test_who_may_authorise_comes_from_the_policy() -> None:
    visit = FakeVisit("submitted")
    workflow.transition(visit, "authorise", OFFICE, authorisers=["office"])
    assert visit.state == "authorised"


def test_every_transition_is_audited_with_who_and_when(app: Flask, create_visit: Any) -> None:
    visit = create_visit(state_="declined")
    assert trail(app, visit.id) == [
        ("created", None, "draft", "sam"),
        ("submit", "draft", "submitted", "sam"),
        ("decline", "submitted", "declined", "alex"),
    ]
    assert reload(app, visit.id).decline_reason == "Not enough detail."


def test_editing_time_of_an_authorised_plan_sends_it_back(app: Flask, create_visit: Any) -> None:
    visit = create_visit(state_="authorised")
    st = state(app)
    with st.sessions() as session:
        stored = session.get(Visit, visit.id)
        plan = services.plan_of(stored)
        services.update_visit(session, stored, plan, actor=person(app, "sam"), policy=st.policy, now=st.clock(),
                              version=stored.version)
        assert stored.state == "authorised"  # saved unchanged: still authorised
        plan = services.plan_of(stored)
        plan.expected_return = plan.expected_return.replace(minute=30)
        services.update_visit(session, stored, plan, actor=person(app, "sam"), policy=st.policy, now=st.clock(),
                              version=stored.version)
        session.commit()
    stored = reload(app, visit.id)
    assert stored.state == "submitted" and stored.authorised_by is None
    assert [row[0] for row in trail(app, visit.id)][-2:] == ["edited", "send_back"]


def test_a_stale_edit_is_refused(app: Flask, create_visit: Any) -> None:
    visit = create_visit()
    st = state(app)
    with st.sessions() as session:
        stored = session.get(Visit, visit.id)
        with pytest.raises(services.StaleEdit):
            services.update_visit(session, stored, services.plan_of(stored), actor=person(app, "sam"),
                                  policy=st.policy, now=st.clock(), version=stored.version - 1)


def test_approver_authorises_through_the_portal(app: Flask, login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted")
    client: FlaskClient = login("alex")
    page = client.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert "Authorise" in page and "Decline" in page
    response = client.post(f"/home-visits/{visit.id}/decide", data={"authorise": "Authorise",
                                                                    "version": str(visit.version)})
    assert response.status_code == 302
    assert reload(app, visit.id).state == "authorised"
    assert "Plan authorised." in client.get(response.location).get_data(as_text=True)


def test_decline_without_reason_shows_the_message_beside_the_comment(app: Flask, login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted")
    response = login("alex").post(f"/home-visits/{visit.id}/decide",
                                  data={"decline": "Decline", "comment": "", "version": str(visit.version)})
    assert response.status_code == 400
    assert 'id="comment-error"' in response.get_data(as_text=True)
    assert reload(app, visit.id).state == "submitted"


def test_staff_cannot_authorise_through_the_portal(app: Flask, login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted", lead="kim", second_staff_id="sam")
    client = login("sam")  # involved as second member of staff
    response = client.post(f"/home-visits/{visit.id}/decide",
                           data={"authorise": "Authorise", "version": str(visit.version)})
    assert response.status_code == 403
    assert reload(app, visit.id).state == "submitted"


def test_approver_cannot_authorise_own_plan_in_the_portal(app: Flask, login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted", lead="alex")
    client = login("alex")
    assert "Authorise" not in client.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    response = client.post(f"/home-visits/{visit.id}/decide",
                           data={"authorise": "Authorise", "version": str(visit.version)})
    assert response.status_code == 403 and "visit you are going on" in response.get_data(as_text=True)


def test_lead_cancels_and_history_shows_it(app: Flask, login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="authorised")
    client = login("sam")
    client.post(f"/home-visits/{visit.id}/decide", data={"cancel": "Cancel this visit", "version": str(visit.version)})
    page = client.get(f"/home-visits/{visit.id}").get_data(as_text=True)
    assert "Cancelled" in page and "Authorised → Cancelled" in page
