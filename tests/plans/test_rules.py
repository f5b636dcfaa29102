"""Each policy rule, passing and failing, as pure functions over a plan."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from home_visits.plans.rules import REQUIRED_TO_SUBMIT, check_plan, is_evening
from home_visits.policy import Policy, load_policy

from ..conftest import NOW, valid_plan

POLICY = load_policy()


def with_rules(**changes: Any) -> Policy:
    rules = POLICY.rules.model_copy(update=changes)
    return POLICY.model_copy(update={"rules": rules})


def fields(plan: Any = None, policy: Policy = POLICY, *, first_visit: bool = False, **changes: Any) -> dict[str, str]:
    plan = plan or valid_plan(**changes)
    return {p.field: p.message for p in check_plan(plan, policy, now=NOW, first_visit=first_visit)}


def test_a_complete_plan_passes() -> None:
    assert fields() == {}


@pytest.mark.parametrize("name", sorted(REQUIRED_TO_SUBMIT))
def test_each_required_field_is_named_when_missing(name: str) -> None:
    problems = fields(**{name: None if name in ("starts_at", "expected_return", "contact_id") else ""})
    assert problems[name] == REQUIRED_TO_SUBMIT[name]


def test_start_in_the_past_is_refused() -> None:
    started = fields(starts_at=NOW - timedelta(minutes=1), expected_return=NOW + timedelta(minutes=30))
    assert "past" in started["starts_at"]
    assert "starts_at" not in fields(starts_at=NOW, expected_return=NOW + timedelta(minutes=30))


def test_expected_return_must_follow_the_start() -> None:
    plan = valid_plan()
    plan.expected_return = plan.starts_at
    assert fields(plan)["expected_return"] == "The expected return must be after the start time."


def test_longest_visit_comes_from_the_policy() -> None:
    plan = valid_plan()
    plan.expected_return = plan.starts_at + timedelta(minutes=121)
    assert "at most 2 hours" in fields(plan)["expected_return"]
    plan.expected_return = plan.starts_at + timedelta(minutes=120)
    assert fields(plan) == {}
    assert "at most 1 hour 30 minutes" in fields(
        valid_plan(expected_return=plan.starts_at + timedelta(minutes=100)), with_rules(longest_visit_minutes=90)
    )["expected_return"]


def test_going_alone_needs_a_reason_when_the_policy_allows_it() -> None:
    assert "why you are going alone" in fields(second_staff_id=None)["alone_reason"]
    assert fields(second_staff_id=None, alone_reason="Jo is on a course; the family know me well.") == {}


def test_first_visit_to_an_address_needs_two_staff() -> None:
    problems = fields(first_visit=True, second_staff_id=None, alone_reason="Short of staff.")
    assert "first visit inside this home" in problems["second_staff_id"]
    assert fields(first_visit=True) == {}
    no_rule = with_rules(two_staff=["whenever_possible"])
    assert fields(policy=no_rule, first_visit=True, second_staff_id=None, alone_reason="Short of staff.") == {}


def test_a_ticked_risk_factor_needs_two_staff() -> None:
    risky = {"risk_factors": [POLICY.risk_factors[0].id], "second_staff_id": None, "alone_reason": "x",
             "risk_notes": "Meet at the door; leave at the first sign of anger."}
    assert "risk factor" in fields(**risky)["second_staff_id"]
    assert fields(risk_factors=[POLICY.risk_factors[0].id], risk_notes="Meet at the door.") == {}


def test_always_means_every_visit_has_two_staff() -> None:
    always = with_rules(two_staff=["always"])
    assert "every visit" in fields(policy=always, second_staff_id=None, alone_reason="x")["second_staff_id"]
    assert fields(policy=always) == {}


def test_evening_visits_need_two_staff() -> None:
    # 17:30 London time in March is 17:30 UTC.
    evening = {"starts_at": datetime(2026, 3, 4, 17, 30, tzinfo=timezone.utc),
               "expected_return": datetime(2026, 3, 4, 18, 15, tzinfo=timezone.utc)}
    assert "after 17:00" in fields(second_staff_id=None, alone_reason="x", **evening)["second_staff_id"]
    assert fields(**evening) == {}


def test_evening_is_read_on_the_school_clock_across_summer_time() -> None:
    # 16:30 UTC on 1 July is 17:30 in London (BST): an evening visit there.
    plan = valid_plan(starts_at=datetime(2026, 7, 1, 16, 30, tzinfo=timezone.utc),
                      expected_return=datetime(2026, 7, 1, 16, 50, tzinfo=timezone.utc))
    assert is_evening(plan, POLICY)
    # Ending at 16:59 London time is not an evening visit; ending at 17:05 is.
    plan = valid_plan(starts_at=datetime(2026, 3, 4, 16, 0, tzinfo=timezone.utc),
                      expected_return=datetime(2026, 3, 4, 16, 59, tzinfo=timezone.utc))
    assert not is_evening(plan, POLICY)
    plan.expected_return = datetime(2026, 3, 4, 17, 5, tzinfo=timezone.utc)
    assert is_evening(plan, POLICY)


def test_public_transport_is_refused_when_the_policy_forbids_it() -> None:
    assert "public transport" in fields(travel="public_transport")["travel"]
    assert fields(travel="public_transport", policy=with_rules(public_transport_allowed=True)) == {}


def test_responsible_contact_must_not_be_on_the_visit() -> None:
    assert "not on the visit" in fields(contact_id="sam")["contact_id"]
    assert "not on the visit" in fields(contact_id="jo")["contact_id"]


def test_second_member_of_staff_is_someone_else() -> None:
    assert "someone other than you" in fields(second_staff_id="sam")["second_staff_id"]


def test_other_reason_needs_words_and_unknown_reasons_are_refused() -> None:
    assert fields(reason="other")["reason_other"] == "Describe the reason for the visit."
    assert fields(reason="other", reason_other="Bereavement support") == {}
    assert fields(reason="made-up")["reason"] == "Choose a reason from the list."


def test_required_checklist_items_must_be_ticked() -> None:
    required = [item for item in POLICY.guidance.before.items if item.required]
    message = fields(checklist=[item.id for item in required[1:]])["checklist"]
    assert required[0].title in message and required[1].title not in message


def test_unknown_risk_factor_is_refused() -> None:
    assert "Unknown risk factor" in fields(risk_factors=["risk-dragons"])["risk_factors"]


def test_every_problem_is_reported_at_once() -> None:
    problems = fields(contact_id="jo", travel="public_transport", starts_at=NOW - timedelta(days=1))
    assert {"contact_id", "travel", "starts_at"} <= problems.keys()
