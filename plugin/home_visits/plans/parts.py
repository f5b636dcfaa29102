"""The plan's parts, declared once: the task list, each part's page, "Check your answers", the approver's
page, the visit page, the card and the plan emails all show a plan by these parts, in this order.

Pure: no Flask, no database. Which questions a part asks is decided here from the plan as it stands and
the school's policy (the server decides, so it all works with JavaScript off)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import Problem
from ..policy import Policy
from .rules import Plan

#: The form's fields that stand for a plan field of another name (a date and two times make two moments).
PLAN_FOR_FIELD = {"date": "starts_at", "start_time": "starts_at", "return_time": "expected_return"}


@dataclass(frozen=True)
class Part:
    """One part of a plan: ``id`` is its address (``/parts/<id>``) and its anchor (``part-<id>``);
    ``questions`` are the plan form's fields it asks, in order; ``guide`` names its handbook page."""

    id: str
    title: str
    questions: tuple[str, ...]
    guide: str

    @property
    def anchor(self) -> str:
        return f"part-{self.id}"

    @property
    def plan_fields(self) -> tuple[str, ...]:
        """The plan's fields this part fills (``starts_at`` for the date and start time)."""
        return tuple(dict.fromkeys(PLAN_FOR_FIELD.get(name, name) for name in self.questions if name != "language"))


PARTS: tuple[Part, ...] = (
    Part("pupil", "Pupil and address", ("pupil", "pupil_ref", "address", "postcode"), "pupil"),
    Part("why", "Why visit", ("reason", "reason_other", "purpose", "alternatives", "alternatives_notes"), "reason"),
    Part("when", "When", ("date", "start_time", "return_time"), "when"),
    Part("who", "Who goes, and who knows", ("second_staff_id", "alone_reason", "contact_id", "contact_phone"),
         "staff"),
    Part("family", "The family", ("family_agreed", "appointment", "unannounced_reason", "language",
                                  "language_needs", "agencies"), "family"),
    Part("risk", "Risk assessment", ("risk_factors", "risk_notes", "travel"), "risk"),
    Part("before", "Before you go", ("checklist",), "checklist"),
)
BY_ID = {part.id: part for part in PARTS}

#: A part's status on the task list, in the words it shows.
NOT_STARTED, IN_PROGRESS, COMPLETED, CANNOT_START = "Not started", "In progress", "Completed", "Cannot start yet"


def part_of(field: str) -> Part:
    """The part that asks ``field`` (a plan field or a form field)."""
    for part in PARTS:
        if field in part.questions or field in part.plan_fields:
            return part
    raise KeyError(field)


def applies(question: str, plan: Plan, policy: Policy, *, needs_language: bool | None = None) -> bool:
    """Whether ``question`` is asked of ``plan`` under ``policy``: a question that does not apply is not
    shown, and its answer is not kept. ``needs_language`` is the answer to "does anyone need an
    interpreter or help with language?" (None: not answered here, so whatever the plan says)."""
    if question == "reason_other":
        return plan.reason == "other"
    if question == "alone_reason":
        return not plan.second_staff_id and "always" not in policy.rules.two_staff
    if question == "risk_notes":
        return bool(plan.risk_factors)
    if question == "risk_factors":
        return bool(policy.risk_factors)
    if question == "alternatives":
        return bool(policy.alternatives)
    if question == "unannounced_reason":
        return plan.appointment == "unannounced" or plan.family_agreed == "no"
    if question == "language_needs":
        return bool(plan.language_needs) if needs_language is None else needs_language
    if question == "checklist":
        return bool(policy.guidance.before.items)
    return True


def questions(part: Part, plan: Plan, policy: Policy, *, needs_language: bool | None = None) -> list[str]:
    """The questions ``part`` asks of ``plan`` now, in order."""
    return [q for q in part.questions if applies(q, plan, policy, needs_language=needs_language)]


def problems_in(part: Part, problems: Iterable[Problem]) -> list[Problem]:
    """The problems that belong beside one of ``part``'s questions."""
    return [p for p in problems if p.field in part.plan_fields]


def filled(part: Part, plan: Plan) -> bool:
    return any(getattr(plan, name) for name in part.plan_fields)


def statuses(plan: Plan | None, problems: list[Problem]) -> dict[str, str]:
    """Each part's status for the task list. With no draft yet (``plan`` None) only the first part can start:
    the draft is made by saving it."""
    if plan is None:
        return {part.id: NOT_STARTED if part is PARTS[0] else CANNOT_START for part in PARTS}
    found = {}
    for part in PARTS:
        if not problems_in(part, problems) and (filled(part, plan) or part.id == "before"):
            found[part.id] = COMPLETED
        else:
            found[part.id] = IN_PROGRESS if filled(part, plan) else NOT_STARTED
    return found


def next_part(after: Part, status: dict[str, str]) -> Part | None:
    """The next part not yet completed, after ``after`` and then from the top (None: every part is done)."""
    at = PARTS.index(after)
    for part in (*PARTS[at + 1:], *PARTS[:at]):
        if status.get(part.id) != COMPLETED:
            return part
    return None


def first_undone(status: dict[str, str]) -> Part | None:
    """The first part not yet completed (None: every part is done): where a draft picks up again."""
    return next((part for part in PARTS if status.get(part.id) != COMPLETED), None)


def cleared(plan: Plan, policy: Policy, part: Part, *, needs_language: bool | None = None) -> Plan:
    """``plan`` with the answers to ``part``'s questions that no longer apply emptied (a reason for going
    alone once a second member of staff goes, risk notes with no risk ticked)."""
    for question in part.questions:
        if question in PLAN_FOR_FIELD or question == "language":
            continue
        if not applies(question, plan, policy, needs_language=needs_language):
            empty = [] if isinstance(getattr(plan, question), list) else ""
            setattr(plan, question, empty)
    return plan
