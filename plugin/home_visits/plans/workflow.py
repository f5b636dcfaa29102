"""A visit's states and the transitions between them: who may do what, from where.

Pure: :func:`transition` checks and applies a move on any object with ``state``, ``lead_id``
and ``second_staff_id``, and returns the :class:`Step` the caller records in the audit trail.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import WorkflowError
from ..people import Person

DRAFT, SUBMITTED, AUTHORISED, DECLINED, CANCELLED = "draft", "submitted", "authorised", "declined", "cancelled"
CHECKED_OUT, RETURNED, RECORDED = "checked_out", "returned", "recorded"
#: An approver sent the plan back to its lead with a reason: the lead changes it and submits it again.
CHANGES_REQUESTED = "changes_requested"

#: Every state a visit can be in, in the order of its life. "Overdue" is not a state: it is derived
#: (see :mod:`..safety.rules`).
STATES = (DRAFT, SUBMITTED, CHANGES_REQUESTED, AUTHORISED, CHECKED_OUT, RETURNED, RECORDED, DECLINED, CANCELLED)

#: Plain words for each state, as the portal shows them.
LABELS = {
    DRAFT: "Draft",
    SUBMITTED: "Awaiting authorisation",
    CHANGES_REQUESTED: "Sent back for changes",
    AUTHORISED: "Authorised",
    DECLINED: "Declined",
    CANCELLED: "Cancelled",
    CHECKED_OUT: "Out on the visit",
    RETURNED: "Back safe",
    RECORDED: "Recorded",
}

#: How the history says each thing that happened (others: the action's name in words).
ACTION_WORDS = {
    "created": "started the plan", "edited": "changed the plan", "submit": "submitted the plan",
    "authorise": "authorised the plan", "decline": "declined the plan",
    "request_changes": "sent the plan back for changes", "send_back": "changed an authorised plan",
    "cancel": "cancelled the visit", "not_going_ahead": "said the visit is not going ahead",
    "check_out": "checked out", "check_in": "closed off (back safe)", "record": "submitted the visit record",
    "extended": "extended the expected return", "acknowledged": "is handling the alert",
    "alert_raised": "raised an alert", "alert_repeated": "pressed the alarm again", "alert_sent": "alert sent",
    "alert_failed": "alert not sent",
    "alert_stopped": "alert no longer needed", "incident_reported": "reported an incident",
    "record_started": "started the visit record", "record_corrected": "corrected the record",
    "record_confirmed": "confirmed the record", "action_done": "marked an action done",
    "email_sent": "email sent", "email_failed": "email not sent", "in_digest": "listed in the morning digest",
    "check_failed": "the safety check could not read the visit", "school_moved": "moved to another school",
}

#: action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({DRAFT, DECLINED, CHANGES_REQUESTED}), SUBMITTED),
    "authorise": (frozenset({SUBMITTED}), AUTHORISED),
    "decline": (frozenset({SUBMITTED}), DECLINED),
    # "Send back for changes": the approver says what to change; the lead edits and submits again.
    "request_changes": (frozenset({SUBMITTED}), CHANGES_REQUESTED),
    "cancel": (frozenset({DRAFT, SUBMITTED, CHANGES_REQUESTED, AUTHORISED, DECLINED}), CANCELLED),
    # Editing the time, address or staff of an authorised plan needs a fresh authorisation.
    "send_back": (frozenset({AUTHORISED}), SUBMITTED),
    "check_out": (frozenset({AUTHORISED}), CHECKED_OUT),
    # The visiting staff (or the office, told by phone) say an authorised visit did not happen.
    "not_going_ahead": (frozenset({AUTHORISED}), CANCELLED),
    # "Close off": the visiting staff are back, or told the office they are.
    "check_in": (frozenset({CHECKED_OUT}), RETURNED),
    # The lead submitted the visit record: it is locked from now on.
    "record": (frozenset({RETURNED}), RECORDED),
}

#: States in which the lead may still edit the plan.
EDITABLE = frozenset({DRAFT, SUBMITTED, CHANGES_REQUESTED, AUTHORISED, DECLINED})
#: States in which the lead's next step is to submit the plan (again).
SUBMITTABLE = frozenset({DRAFT, DECLINED, CHANGES_REQUESTED})
#: The approvers' decisions on a submitted plan.
DECISIONS = ("authorise", "request_changes", "decline")

#: How the history names a changed plan field (others: the field's name in words).
FIELD_WORDS = {"starts_at": "start time", "expected_return": "expected return", "second_staff_id": "second staff",
               "contact_id": "responsible contact", "lead_id": "lead"}


def field_words(names: Collection[str]) -> str:
    """``["starts_at", "risk_factors"]`` -> ``"start time, risk factors"``."""
    return ", ".join(FIELD_WORDS.get(name, name.replace("_", " ")) for name in names)


class VisitLike(Protocol):
    state: str
    lead_id: str
    second_staff_id: str | None


@dataclass(frozen=True)
class Step:
    action: str
    from_state: str
    to_state: str
    comment: str = ""


def is_visiting(visit: VisitLike, person: Person) -> bool:
    return person.id in (visit.lead_id, visit.second_staff_id)


def sees_everything(person: Person, authorisers: Collection[str]) -> bool:
    """Approvers and the office see every visit; staff see those they are part of."""
    return person.has("office", *authorisers)


def can_authorise(visit: VisitLike, person: Person, authorisers: Collection[str]) -> bool:
    """Approvers decide plans, but never one they are going on themselves."""
    return authorises(person, authorisers) and not is_visiting(visit, person)


def may_take_charge(visit: Any, person: Person, authorisers: Collection[str]) -> bool:
    """The office, approvers and the visit's responsible contact may say "I'm handling this"."""
    return sees_everything(person, authorisers) or person.id == visit.contact_id


def visiting_or_oversees(visit: VisitLike, person: Person, authorisers: Collection[str]) -> bool:
    """The visiting staff, the office and approvers: they may check a visit back in, extend it and
    print its card."""
    return is_visiting(visit, person) or sees_everything(person, authorisers)


def reads_record(visit: VisitLike, person: Person, authorisers: Collection[str]) -> bool:
    """The visiting staff and those who authorise may read a visit's record; the office may not.

    The one rule for record content: the record page, its CPOMS copy, open actions, history lines
    (:data:`RECORD_CONTENT_ACTIONS`) and reports all ask it (reports through :func:`reads_every_record`)."""
    return is_visiting(visit, person) or reads_every_record(person, authorisers)


def authorises(person: Person, authorisers: Collection[str]) -> bool:
    """Whether ``person`` (as one school sees them) decides that school's plans: the approvals queue."""
    return person.has(*authorisers)


def reads_every_record(person: Person, authorisers: Collection[str]) -> bool:
    """Those who authorise read every record, so they alone get reports built from records."""
    return authorises(person, authorisers)


#: History lines whose comment is part of the record (an action's text, a correction's reason, the
#: confirmation's comment, the incident's kinds): shown only to those :func:`reads_record` allows.
RECORD_CONTENT_ACTIONS = frozenset({"action_done", "record_corrected", "record_confirmed", "incident_reported"})


def leads_or_decides(visit: VisitLike, person: Person, authorisers: Collection[str]) -> bool:
    """The lead, or someone who may authorise plans: they may cancel the visit, correct its record
    and close its actions."""
    return person.id == visit.lead_id or person.has(*authorisers)


def allowed(action: str, visit: VisitLike, person: Person, authorisers: Collection[str]) -> bool:
    """Whether ``person`` may take ``action`` on ``visit`` now (state and role both)."""
    sources, _ = TRANSITIONS[action]
    if visit.state not in sources:
        return False
    if action in DECISIONS:
        return can_authorise(visit, person, authorisers)
    if action == "cancel":
        return leads_or_decides(visit, person, authorisers)
    if action == "check_out":
        return is_visiting(visit, person)
    if action in ("check_in", "not_going_ahead"):
        return visiting_or_oversees(visit, person, authorisers)
    return person.id == visit.lead_id


def transition(
    visit: VisitLike, action: str, person: Person, *, authorisers: Collection[str], comment: str = ""
) -> Step:
    """Move ``visit`` by ``action`` on behalf of ``person``; raise :class:`WorkflowError` if not allowed."""
    if action not in TRANSITIONS:
        raise WorkflowError(f"Unknown action {action!r}.", status=400)
    sources, target = TRANSITIONS[action]
    if visit.state not in sources:
        raise WorkflowError(f"This plan is {LABELS[visit.state].lower()}, so it cannot be {_past(action)} now.")
    if not allowed(action, visit, person, authorisers):
        if action in DECISIONS and is_visiting(visit, person):
            raise WorkflowError("You cannot decide a plan for a visit you are going on.", status=403)
        raise WorkflowError("You do not have permission to do that.", status=403)
    if action == "decline" and not comment.strip():
        raise WorkflowError("Say why the plan is declined, so the member of staff can put it right.", status=400)
    if action == "request_changes" and not comment.strip():
        raise WorkflowError("Say what needs changing, so the member of staff can put it right.", status=400)
    if action == "not_going_ahead" and not comment.strip():
        raise WorkflowError("Say why the visit is not going ahead, so the office knows.", status=400)
    step = Step(action, visit.state, target, comment.strip())
    visit.state = target
    return step


def _past(action: str) -> str:
    words = {"submit": "submitted", "authorise": "authorised", "decline": "declined", "cancel": "cancelled",
             "check_out": "checked out", "check_in": "closed off", "record": "recorded",
             "not_going_ahead": "called off", "request_changes": "sent back for changes"}
    return words.get(action, "changed")
