"""The rules the seed documents set, as the shipped policy enforces them: two staff on a first-day-absence
visit, "first visit" judged per member of staff, a note for every ticked risk, a reason for an unannounced
visit, the early morning treated like the evening, a reason for a visit when no alternative was
considered, and child-protection and distress plans asked of the DSL first."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from home_visits import handbook
from home_visits.extension import state
from home_visits.mail.context import Context
from home_visits.people import Person
from home_visits.plans import notices
from home_visits.plans import service as services
from home_visits.plans.rules import check_plan, is_evening
from home_visits.policy import load_policy
from home_visits.policy.loader import PolicyError

from ..conftest import NOW, valid_plan
from ..records.test_records import record_form

POLICY = load_policy()


def problems(*, first_visit: bool = False, **changes: Any) -> dict[str, str]:
    plan = valid_plan(**changes)
    return {p.field: p.message for p in check_plan(plan, POLICY, now=NOW, first_visit=first_visit)}


ALONE = {"second_staff_id": None, "alone_reason": "Colleague off sick; the family know me well."}
#: A reason that does not itself need two staff.
SHARE = "share-progress"


def test_a_first_day_absence_visit_needs_two_staff() -> None:
    assert "first-day absence" in problems(reason="first-day-absence", **ALONE)["second_staff_id"]
    assert problems(reason="first-day-absence") == {}
    assert "second_staff_id" not in problems(reason="share-progress", **ALONE)


def test_every_ticked_risk_needs_a_note_of_what_will_be_done() -> None:
    found = problems(risk_factors=["risk-animals"], risk_notes="")
    assert "what you will do" in found["risk_notes"] and "Animals" in found["risk_notes"] or "animal" in \
        found["risk_notes"].lower()
    assert "risk_notes" not in problems(risk_factors=["risk-animals"], risk_notes="Dog shut away before we go in.")


def test_an_unannounced_visit_needs_a_reason() -> None:
    assert "unannounced" in problems(appointment="unannounced", family_agreed="no")["unannounced_reason"]
    assert "unannounced_reason" in problems(appointment="phone", family_agreed="no")
    assert problems(appointment="unannounced", family_agreed="no",
                    unannounced_reason="Three weeks of no reply to calls or letters.") == {}


@pytest.mark.parametrize(("hour", "minute"), [(2, 30), (6, 0), (7, 15)])
def test_a_lone_visit_in_the_early_morning_is_refused_like_the_evening(hour: int, minute: int) -> None:
    start = datetime(2026, 3, 4, hour, minute, tzinfo=timezone.utc)  # GMT: the school's clock too
    plan = dict(starts_at=start, expected_return=start + timedelta(minutes=40), reason=SHARE)
    assert "07:30" in problems(**plan, **ALONE)["second_staff_id"]
    assert is_evening(valid_plan(**plan), POLICY)


def test_a_visit_from_0730_alone_is_fine() -> None:
    start = datetime(2026, 3, 4, 7, 30, tzinfo=timezone.utc)
    assert "second_staff_id" not in problems(starts_at=start, expected_return=start + timedelta(minutes=40),
                                             reason=SHARE, **ALONE)


def test_no_alternative_considered_needs_the_reason_for_a_visit() -> None:
    assert "why a visit" in problems(alternatives=[], alternatives_notes="")["alternatives_notes"].lower()
    assert "alternatives_notes" not in problems(alternatives=[], alternatives_notes="No phone, no email, no reply.")
    assert "alternatives_notes" not in problems(alternatives=["phone-call"], alternatives_notes="")


def test_first_visit_is_judged_per_member_of_staff(app: Flask, login: Any, create_visit: Any, clock: Any) -> None:
    """Sam has been inside 12 Larch Close; Kim has not. Alone, Sam's repeat visit passes; Kim's is a first."""
    start = NOW + timedelta(days=1)
    earlier = create_visit(state_="authorised", starts_at=start, expected_return=start + timedelta(hours=1))
    clock.now = start
    sam = login("sam")
    sam.post(f"/home-visits/{earlier.id}/check-out")
    sam.post(f"/home-visits/{earlier.id}/check-in")
    clock.advance(hours=2)
    day = start.strftime("%Y-%m-%d")
    response = sam.post(f"/home-visits/{earlier.id}/record",
                        data=record_form(day=day, started="08:05", ended="08:50", submit="Submit"))
    assert response.status_code == 302, re.findall(r'class="hv-error"[^>]*>(.*?)</p>', response.get_data(as_text=True))
    later = start + timedelta(days=2)
    with state(app).sessions() as session:
        for lead, expected in (("sam", False), ("kim", True)):
            plan = valid_plan(lead_id=lead, starts_at=later, expected_return=later + timedelta(hours=1), reason=SHARE,
                              **ALONE)
            actor = state(app).directory.find(lead)
            visit = services.create_visit(session, plan, actor=actor, now=clock.now)
            session.flush()
            assert services.is_first_visit(session, visit) is expected, lead
            found = services.submit(session, visit, actor=actor, policy=state(app).policy, now=clock.now)
            assert bool(found) is expected, (lead, found)
            if expected:
                assert "first visit inside this home" in found[0].message
        session.rollback()


def test_the_shipped_policy_asks_the_dsl_first_about_child_protection_and_distress() -> None:
    (route,) = POLICY.rules.routes
    assert route.role == "dsl" and "signs-of-distress" in route.reasons
    assert "risk-child-protection" in route.risk_factors
    assert any("safeguarding lead" in line for line in handbook.route_lines(POLICY))


class Staff:
    def __init__(self, people: list[Person]) -> None:
        self.people = people

    def person(self, user: Any) -> Person:
        raise NotImplementedError

    def find(self, person_id: str) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)

    def staff(self) -> list[Person]:
        return self.people


def asked(people: list[Person], **plan: Any) -> list[str]:
    context = Context(policy=POLICY, directory=Staff(people), mailer=lambda *a: None, link=str)  # type: ignore[arg-type]
    from home_visits.models import Visit

    visit = Visit(**{"lead_id": "sam", "second_staff_id": "jo", "reason": "share-progress", "risk_factors": [],
                     **plan})
    return [p.id for p in notices.asked(visit, context)]


HEAD = Person("head", "Head", roles=frozenset({"approver"}))
DEPUTY = Person("dsl", "Deputy and DSL", roles=frozenset({"approver", "dsl"}))


def test_the_dsl_is_asked_first_and_every_approver_when_nobody_holds_the_role() -> None:
    assert asked([HEAD, DEPUTY], reason="signs-of-distress") == ["dsl"]
    assert asked([HEAD, DEPUTY], risk_factors=["risk-child-protection"]) == ["dsl"]
    assert sorted(asked([HEAD, DEPUTY])) == ["dsl", "head"]  # other plans: every approver
    assert asked([HEAD], reason="signs-of-distress") == ["head"]  # nobody holds the DSL role


def test_the_handbook_states_the_new_rules() -> None:
    table = handbook.rules_table(POLICY)
    assert "before 07:30" in table
    assert "first-day absence" in table.lower()


def test_a_route_with_neither_approvers_nor_role_fails_at_start_up(tmp_path: Path) -> None:
    file = tmp_path / "policy.yaml"
    file.write_text("extends: default\nrules:\n  routes:\n    - who: someone\n      reasons: [signs-of-distress]\n")
    with pytest.raises(PolicyError, match="rules.routes.0"):
        load_policy(file)
