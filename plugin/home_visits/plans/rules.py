"""The policy's rules applied to a plan: pure functions, no Flask, no database.

:func:`check_plan` returns every problem at once, each tied to the form field it belongs beside,
so staff can fix a plan in one go.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, time, timedelta
from typing import Any

from .. import clock
from ..errors import Problem
from ..policy import Policy


def _part(default: Any = "", *, judged: bool = True, calendar: bool = False, copied: bool = False) -> Any:
    """A plan field, declared once with what it takes part in: ``judged`` (the approver judged it: a change
    sends an authorised plan back), ``calendar`` (an event shows it: a change raises its SEQUENCE) and
    ``copied`` ("plan another visit like this" copies it)."""
    roles = {"judged": judged, "calendar": calendar, "copied": copied}
    if isinstance(default, list):
        return field(default_factory=list, metadata=roles)
    return field(default=default, metadata=roles)


@dataclass
class Plan:
    """The editable part of a visit plan, as staff fill it in. Each field is declared here once: the
    model's column, the form's field and the template carry the same name; the sets below derive from it."""

    pupil: str = _part(calendar=True, copied=True)
    pupil_ref: str = _part(judged=False)
    address: str = _part(calendar=True, copied=True)
    postcode: str = _part(calendar=True, copied=True)
    reason: str = _part(calendar=True, copied=True)
    reason_other: str = _part(calendar=True, copied=True)
    purpose: str = _part()
    starts_at: datetime | None = _part(None, calendar=True)
    expected_return: datetime | None = _part(None, calendar=True)
    lead_id: str = _part(calendar=True)
    second_staff_id: str | None = _part(None, calendar=True, copied=True)
    alone_reason: str = _part()
    contact_id: str | None = _part(None, calendar=True, copied=True)
    contact_phone: str = _part(calendar=True, copied=True)
    family_agreed: str = _part()
    appointment: str = _part()
    unannounced_reason: str = _part()
    travel: str = _part()
    language_needs: str = _part(copied=True)
    agencies: str = _part(copied=True)
    risk_factors: list[str] = _part([], calendar=True)
    risk_notes: str = _part()
    alternatives: list[str] = _part([])
    alternatives_notes: str = _part()
    checklist: list[str] = _part([])


def plan_fields(role: str | None = None) -> tuple[str, ...]:
    """The plan's fields in order; with ``role`` (judged, calendar, copied), those that take part in it."""
    return tuple(f.name for f in fields(Plan) if role is None or f.metadata[role])


#: Every plan field, as the model, the form and the template name it.
PLAN_FIELDS = plan_fields()

#: The plan's choice fields: stored value -> the words the form, the visit page and the family's copy use.
APPOINTMENT_WORDS = {
    "phone": "By phone",
    "letter": "By letter",
    "in_person": "In person at school",
    "text": "By text or email",
    "unannounced": "Not arranged: an unannounced visit",
}
TRAVEL_WORDS = {
    "car": "Own car (insured for business use)",
    "school_vehicle": "School vehicle",
    "walking": "Walking",
    "public_transport": "Public transport",
}
AGREED_WORDS = {"yes": "Yes", "no": "No, the visit is unannounced", "not_asked": "Not yet asked"}
#: Plain words for the plan's choice fields, as the pages that show a plan say them.
CHOICE_WORDS = {"family_agreed": AGREED_WORDS, "appointment": APPOINTMENT_WORDS, "travel": TRAVEL_WORDS}
#: Plan fields whose change sends an authorised plan back for authorisation: everything the approver
#: judged (who, where, when, why, contact, consent, alternatives, risks, travel, checklist).
REAUTHORISE_FIELDS = frozenset(plan_fields("judged"))
#: Plan fields a calendar event shows: a change to any of them raises the event's SEQUENCE.
CALENDAR_FIELDS = frozenset(plan_fields("calendar"))
#: What "plan another visit like this" copies; dates, checklist and risks are for the new visit to decide.
COPIED = plan_fields("copied")


#: Fields a plan cannot be submitted without, with the message shown beside each.
REQUIRED_TO_SUBMIT = {
    "pupil": "Enter the pupil's name or school reference.",
    "address": "Enter the address you are visiting.",
    "postcode": "Enter the postcode of the address.",
    "reason": "Choose why this visit is needed.",
    "purpose": "Write down what the visit is for.",
    "starts_at": "Enter the date and start time of the visit.",
    "expected_return": "Enter when you expect to be back.",
    "contact_id": "Choose a responsible contact who will know where you are.",
    "contact_phone": "Enter the phone number you will ring the responsible contact on.",
    "family_agreed": "Say whether the family agreed to the visit.",
    "appointment": "Say how the appointment was made.",
    "travel": "Say how you are travelling to the visit.",
}


def local_time(moment: datetime, policy: Policy) -> time:
    """The wall-clock time at the school for an aware datetime."""
    return moment.astimezone(policy.zone).time()


def is_evening(plan: Plan, policy: Policy) -> bool:
    """A visit that starts at or after the evening cut-off, or is expected to end after it; or one
    in the early morning (:func:`is_night`), which the policy treats the same way."""
    cutoff = policy.rules.evening.after
    if plan.starts_at and local_time(plan.starts_at, policy) >= cutoff:
        return True
    if plan.expected_return and plan.starts_at:
        end = plan.expected_return.astimezone(policy.zone)
        if end.date() > plan.starts_at.astimezone(policy.zone).date() or end.time() > cutoff:
            return True
    return is_night(plan, policy)


def is_night(plan: Plan, policy: Policy) -> bool:
    """A visit that starts, or is expected to end, before the policy's early-morning cut-off."""
    before = policy.rules.night.before
    moments = [m for m in (plan.starts_at, plan.expected_return) if m]
    return any(local_time(moment, policy) < before for moment in moments)


def reason_words(policy: Policy, reason: str, other: str) -> str:
    """A plan's reason as people read it: the policy's title for it, else what "Other" said."""
    found = policy.reason(reason)
    return found.title if found is not None else (other or "Other")


def two_staff_reasons(plan: Plan, policy: Policy, *, first_visit: bool) -> list[str]:
    """Why the policy requires a second member of staff on this plan (empty: it does not)."""
    conditions = policy.rules.two_staff
    reasons = []
    if "always" in conditions:
        reasons.append("the school's policy is that every visit has two members of staff")
    if "first_visit" in conditions and first_visit:
        reasons.append("this is your first visit inside this home")
    if "when_risk_identified" in conditions and plan.risk_factors:
        reasons.append("a risk factor is ticked on the risk assessment")
    reason = policy.reason(plan.reason)
    if reason is not None and reason.two_staff:
        reasons.append(f"a visit for {reason.title.lower()} always has two staff")
    night, evening = policy.rules.night, policy.rules.evening
    if night.needs_two_staff and is_night(plan, policy):
        reasons.append(f"the visit runs before {night.before:%H:%M}, when no one may visit alone")
    elif evening.needs_two_staff and is_evening(plan, policy):
        reasons.append(f"the visit runs after {evening.after:%H:%M}, when no one may visit alone")
    return reasons


def _times(plan: Plan, policy: Policy, now: datetime, check_start: bool) -> list[Problem]:
    problems = []
    if check_start and plan.starts_at and plan.starts_at < now:
        problems.append(Problem("starts_at", "The visit cannot start in the past: choose a later date or time."))
    if plan.starts_at and plan.expected_return:
        length = plan.expected_return - plan.starts_at
        longest = policy.rules.longest_visit_minutes
        if length <= timedelta(0):
            problems.append(Problem("expected_return", "The expected return must be after the start time."))
        elif length > timedelta(minutes=longest):
            problems.append(
                Problem(
                    "expected_return",
                    f"A visit may be planned for at most {_duration(longest)}: bring the expected return forward.",
                )
            )
    return problems


def _staff(plan: Plan, policy: Policy, first_visit: bool) -> list[Problem]:
    problems = []
    if plan.second_staff_id and plan.second_staff_id == plan.lead_id:
        problems.append(Problem("second_staff_id", "The second member of staff must be someone other than you."))
    if not plan.second_staff_id:
        required = two_staff_reasons(plan, policy, first_visit=first_visit)
        if required:
            because = "; ".join(required)
            problems.append(Problem("second_staff_id", f"Choose a second member of staff: {because}."))
        elif not plan.alone_reason.strip():
            problems.append(Problem("alone_reason", "Say why you are going alone, or choose a second member of staff."))
    if plan.contact_id and plan.contact_id in (plan.lead_id, plan.second_staff_id):
        problems.append(
            Problem("contact_id", "The responsible contact must stay behind: choose someone who is not on the visit.")
        )
    return problems


def check_plan(
    plan: Plan, policy: Policy, *, now: datetime, first_visit: bool, check_start: bool = True
) -> list[Problem]:
    """Every reason ``plan`` cannot be submitted under ``policy`` at ``now`` (empty: it can).

    The same check runs on every save of a submitted or authorised plan; ``check_start=False`` there
    when the start time itself did not change (a plan being edited on its own day is not refused
    for having started)."""
    problems = [Problem(name, message) for name, message in REQUIRED_TO_SUBMIT.items() if not getattr(plan, name)]
    if plan.reason == "other" and not plan.reason_other.strip():
        problems.append(Problem("reason_other", "Describe the reason for the visit."))
    elif plan.reason and plan.reason != "other" and policy.reason(plan.reason) is None:
        problems.append(Problem("reason", "Choose a reason from the list."))
    problems += _times(plan, policy, now, check_start)
    problems += _staff(plan, policy, first_visit)
    if plan.travel == "public_transport" and not policy.rules.public_transport_allowed:
        problems.append(Problem("travel", "The school's policy does not allow public transport to a home visit."))
    known_risks = {item.id for item in policy.risk_factors}
    if unknown := sorted(set(plan.risk_factors) - known_risks):
        problems.append(Problem("risk_factors", f"Unknown risk factor: {', '.join(unknown)}."))
    problems += _explained(plan, policy)
    missing = [item.title for item in policy.guidance.before.items if item.required and item.id not in plan.checklist]
    if missing:
        problems.append(Problem("checklist", "Tick these before you submit: " + "; ".join(missing) + "."))
    return problems


#: Answers to "how the appointment was made" / "has the family agreed" that make a visit unannounced.
UNANNOUNCED = ("unannounced", "no")


def _explained(plan: Plan, policy: Policy) -> list[Problem]:
    """What the plan must say in words: what will be done about each ticked risk, why the visit is
    unannounced, and why a visit when no alternative was considered."""
    problems = []
    ticked = [item.title.lower() for item in policy.risk_factors if item.id in plan.risk_factors]
    if ticked and not plan.risk_notes.strip():
        problems.append(Problem("risk_notes", "Write what you will do about each risk you ticked: "
                                + "; ".join(ticked) + "."))
    if (plan.appointment == "unannounced" or plan.family_agreed == "no") and not plan.unannounced_reason.strip():
        problems.append(Problem("unannounced_reason", "Say why the visit is unannounced."))
    if not plan.alternatives and not plan.alternatives_notes.strip():
        problems.append(Problem("alternatives_notes",
                                "Tick the alternatives you considered, or say why a visit instead of any of them."))
    return problems


def _duration(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' * (hours != 1)}"] if hours else []
    if mins:
        parts.append(f"{mins} minutes")
    return " ".join(parts)


# The check-out window: staff check out on the visit's day, from the policy's minutes before the start.


def check_out_opens(visit: Any, policy: Policy) -> datetime | None:
    """From when the visiting staff may check out: the policy's minutes before the start, on the day."""
    if visit.starts_at is None:
        return None
    opens = visit.starts_at - timedelta(minutes=policy.rules.check_out_opens_minutes)
    return max(opens, clock.local_moment(visit.starts_at, time(0), policy.zone))


def check_out_closes(visit: Any, policy: Policy) -> datetime | None:
    """Check-out stays open (late) until the end of the visit's day."""
    if visit.starts_at is None:
        return None
    return clock.local_moment(visit.starts_at, time(0), policy.zone) + timedelta(days=1)


def may_check_out_now(visit: Any, policy: Policy, now: datetime) -> bool:
    opens, closes = check_out_opens(visit, policy), check_out_closes(visit, policy)
    return opens is not None and closes is not None and opens <= now < closes
