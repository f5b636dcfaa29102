"""Plans in the database: create, edit, submit and decide, each step audited. No Flask here; never commits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from ..audit import audit
from ..changes import moved, touch
from ..errors import BreaksRules, Problem, StaleEdit, WorkflowError
from ..models import AuditEntry, Visit, VisitRecord
from ..people import Person
from ..policy import Policy
from ..schools import ONE_SCHOOL
from ..text import address_key, initials, normalise_postcode, normalise_ref, search_key
from . import workflow
from .rules import (
    CALENDAR_FIELDS,
    PLAN_FIELDS,
    REAUTHORISE_FIELDS,
    Plan,
    check_out_opens,
    check_plan,
    may_check_out_now,
)

#: States whose plans the rules hold to on every save (drafts and declined plans are still being written).
CHECKED = frozenset({workflow.SUBMITTED, workflow.AUTHORISED})


def plan_of(visit: Visit) -> Plan:
    return Plan(**{name: getattr(visit, name) for name in PLAN_FIELDS})


def _apply(visit: Visit, plan: Plan) -> list[str]:
    """Copy the plan onto the visit; return the names of the fields that changed."""
    plan.postcode = normalise_postcode(plan.postcode)
    plan.pupil_ref = normalise_ref(plan.pupil_ref)
    changed = [name for name in PLAN_FIELDS if getattr(visit, name, None) != getattr(plan, name)]
    for name in changed:
        setattr(visit, name, getattr(plan, name))
    visit.pupil_initials = initials(visit.pupil)
    visit.pupil_key = search_key(visit.pupil)
    return changed


def create_visit(
    session: Session, plan: Plan, *, actor: Person, now: datetime, school: str = ONE_SCHOOL,
    form_token: str | None = None
) -> Visit:
    """A new draft at ``school`` led by ``actor``; ``form_token`` is the one-time token of the form it came
    from (unique: the same form cannot make a second draft)."""
    plan.lead_id = actor.id
    visit = Visit(state=workflow.DRAFT, sequence=0, version=1, created_at=now, updated_at=now, lead_id=actor.id,
                  school_id=school, form_token=form_token)
    _apply(visit, plan)
    session.add(visit)
    audit(session, visit, actor, "created", now, to_state=workflow.DRAFT)
    touch(session, now)
    return visit


def update_visit(
    session: Session, visit: Visit, plan: Plan, *, actor: Person, policy: Policy, now: datetime, version: int | None
) -> list[str]:
    """Save the lead's edits. A submitted or authorised plan is checked against the policy's rules
    (:class:`BreaksRules`; the caller rolls back); an authorised plan whose judged content changed
    goes back for authorisation. Raises :class:`StaleEdit` when ``version`` is missing or not the
    stored one."""
    if version is None or version != visit.version:
        raise StaleEdit
    if visit.state not in workflow.EDITABLE:
        raise WorkflowError("This plan can no longer be edited.")
    if actor.id != visit.lead_id:
        raise WorkflowError("Only the member of staff leading the visit can edit the plan.", status=403)
    plan.lead_id = visit.lead_id
    changed = _apply(visit, plan)
    if changed and visit.state in CHECKED:
        check(session, visit, policy, now, check_start="starts_at" in changed)
    if changed:
        moved(session, visit, now, shown=bool(CALENDAR_FIELDS.intersection(changed)))
        audit(session, visit, actor, "edited", now, from_state=visit.state, to_state=visit.state, changes=changed,
              visit_version=visit.version)
        judged = [name for name in changed if name in REAUTHORISE_FIELDS]
        if visit.state == workflow.AUTHORISED and judged:
            step = workflow.transition(visit, "send_back", actor, authorisers=())
            visit.authorised_by = visit.authorised_at = None
            _record(session, visit, actor, step, now,
                    comment=f"Changed after authorisation: {workflow.field_words(judged)}.")
    return changed


def check(session: Session, visit: Visit, policy: Policy, now: datetime, *, check_start: bool = True) -> None:
    """Raise :class:`BreaksRules` when the stored plan breaks a rule of ``policy``."""
    problems = check_plan(plan_of(visit), policy, now=now, first_visit=is_first_visit(session, visit),
                          check_start=check_start)
    if problems:
        raise BreaksRules(problems)


def save_plan(session: Session, visit: Visit | None, plan: Plan, *, actor: Person, policy: Policy, now: datetime,
              school: str, form_token: str | None, version: int | None) -> Visit:
    """A plan form's save: a new draft (``visit`` None), else the edit of ``visit`` at ``version``; flushed,
    so the same new form posted twice at the same moment raises ``IntegrityError`` here."""
    if visit is None:
        visit = create_visit(session, plan, actor=actor, now=now, school=school, form_token=form_token)
    else:
        update_visit(session, visit, plan, actor=actor, policy=policy, now=now, version=version)
    session.flush()
    return visit


def changed_since(session: Session, visit: Visit, version: int | None) -> list[str]:
    """The plan fields edited since the visit was at ``version`` (every edit when unknown), in order."""
    query = select(AuditEntry.changes).where(AuditEntry.visit_id == visit.id, AuditEntry.action == "edited")
    if version is not None:
        query = query.where(AuditEntry.visit_version >= version)
    names: dict[str, None] = {}
    for changes in session.scalars(query.order_by(AuditEntry.id)):
        names.update(dict.fromkeys(changes))
    return list(names)


def is_first_visit(session: Session, visit: Visit) -> bool:
    """The lead has not been inside this home before: no earlier recorded visit to this address, with
    the lead on it (leading or second), whose record says the talk took place inside. (With a second
    member of staff the rule is met whoever has been inside; going alone, it is the lead who has.)"""
    others = session.execute(
        select(Visit.address)
        .join(VisitRecord, VisitRecord.visit_id == Visit.id)
        .where(
            Visit.postcode == normalise_postcode(visit.postcode),
            Visit.id != visit.id,
            Visit.state == workflow.RECORDED,
            or_(Visit.lead_id == visit.lead_id, Visit.second_staff_id == visit.lead_id),
            VisitRecord.setting == "inside",
        )
    ).scalars()
    key = address_key(visit.address)
    return all(address_key(address) != key for address in others)


def problems(session: Session, visit: Visit, policy: Policy, now: datetime) -> list[Problem]:
    """Every reason the stored plan cannot be submitted now (empty: it can)."""
    return check_plan(plan_of(visit), policy, now=now, first_visit=is_first_visit(session, visit))


def submit(session: Session, visit: Visit, *, actor: Person, policy: Policy, now: datetime) -> list[Problem]:
    """Run the policy's rules; when they pass, move the plan to submitted. Returns the problems."""
    found = problems(session, visit, policy, now)
    if not found:
        step = workflow.transition(visit, "submit", actor, authorisers=policy.rules.authorisers)
        _record(session, visit, actor, step, now)
    return found


def decide(
    session: Session, visit: Visit, action: str, *, actor: Person, policy: Policy, now: datetime, comment: str = "",
    seen_version: int | None = None,
) -> None:
    """Move a visit by ``action`` (authorise, request_changes, decline, cancel, not_going_ahead, check_out,
    check_in) for ``actor``.

    ``seen_version``: the version the decider saw; :class:`StaleEdit` when the plan moved on since.
    Authorising runs the policy's rules again (:class:`BreaksRules`)."""
    early_or_late = not may_check_out_now(visit, policy, now)
    if action == "check_out" and visit.state == workflow.AUTHORISED and early_or_late:
        opens = check_out_opens(visit, policy)
        when = opens.astimezone(policy.zone).strftime("%H:%M on %a %d %b") if opens else "the visit's day"
        raise WorkflowError(f"Check-out is for the day of the visit: it opens at {when}.")
    step = workflow.transition(visit, action, actor, authorisers=policy.rules.authorisers, comment=comment)
    if seen_version is not None and seen_version != visit.version:
        raise StaleEdit
    if action == "authorise":
        check(session, visit, policy, now, check_start=False)
    if action == "authorise":
        visit.authorised_by, visit.authorised_at = actor.id, now
    elif action in ("decline", "request_changes"):
        visit.decline_reason = step.comment
    elif action == "check_out":  # a new chain starts: whoever handled a missed check-out is done
        visit.checked_out_at, visit.acknowledged_at, visit.acknowledged_by = now, None, None
    elif action == "check_in":
        visit.returned_at = now
    _record(session, visit, actor, step, now)


def _record(
    session: Session, visit: Visit, actor: Person, step: workflow.Step, now: datetime, comment: str = ""
) -> None:
    moved(session, visit, now)
    audit(
        session, visit, actor, step.action, now,
        from_state=step.from_state, to_state=step.to_state, comment=comment or step.comment,
    )


def waiting_since(session: Session, visit_ids: list[int]) -> dict[int, datetime]:
    """When each plan last went to the approvers (submitted, or sent back after a change)."""
    if not visit_ids:
        return {}
    rows = session.execute(
        select(AuditEntry.visit_id, func.max(AuditEntry.at))
        .where(AuditEntry.visit_id.in_(visit_ids), AuditEntry.action.in_(["submit", "send_back"]))
        .group_by(AuditEntry.visit_id)
    )
    return {visit_id: at for visit_id, at in rows}


def how_long(delta: timedelta) -> str:
    """``2 days 3 hours``, ``45 minutes``: how long something has waited, in plain words."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (mins, "minute")]
    words = [f"{n} {unit}{'s' * (n != 1)}" for n, unit in parts if n]
    return " ".join(words) or "just now"


#: The columns that make a visit someone's own: they lead it, go second, or are the contact.
OWN = (Visit.lead_id, Visit.second_staff_id, Visit.contact_id)


def visible_to(person: Person, *, schools: Collection[str], every: bool = False) -> Select[tuple[Visit]]:
    """Visits of ``schools`` that ``person`` may see: all of them (``every``: the schools where they are
    approver or office), else those they lead, go second on, or are the responsible contact for. Always
    filtered by school, so a visit of a school no longer configured is in no list (its page is a 404)."""
    query = select(Visit).where(Visit.school_id.in_(list(schools)))
    return query if every else query.where(or_(*(column == person.id for column in OWN)))


#: A list's total is counted up to this many (a bigger list says "more than 10,000"): counting every one
#: of years of history on every page view would cost more than the page.
COUNT_LIMIT = 10_000


def soonest_page(session: Session, query: Select[tuple[Visit]], *, today: datetime, number: int,
                 size: int) -> tuple[list[Visit], int, bool]:
    """One page of ``query`` in the order a list of visits reads in, its total (up to :data:`COUNT_LIMIT`,
    ``COUNT_LIMIT + 1`` beyond) and whether a next page follows: plans with no date yet (to finish), then
    what is coming up, soonest first, then earlier visits, newest first. ``today`` is the start of the
    school's day. Each part is read in an order the visits' indexes keep, so a page of a list with years
    of history costs what one with a term's does (no sort, and no count, of every row)."""
    parts = (query.where(Visit.starts_at.is_(None)).order_by(Visit.id.desc()),
             query.where(Visit.starts_at >= today).order_by(Visit.starts_at, Visit.id.desc()),
             query.where(Visit.starts_at < today).order_by(Visit.starts_at.desc(), Visit.id.desc()))
    counts = (_count(session, parts[0]), _count(session, parts[1]), None)  # small ranges of an index
    skip, ids = (number - 1) * size, []
    for part, count in zip(parts, counts, strict=True):
        if len(ids) > size:
            break
        if count is not None and skip >= count:
            skip -= count
            continue
        # Ids first (read from the indexes, sorted small), then the page's rows: never every row sorted whole.
        # One more than a page, to know whether another follows.
        ids += session.scalars(part.with_only_columns(Visit.id).limit(size + 1 - len(ids)).offset(skip)).all()
        skip = 0
    more, ids = len(ids) > size, ids[:size]
    found = {visit.id: visit for visit in session.scalars(select(Visit).where(Visit.id.in_(ids)))}
    return [found[visit_id] for visit_id in ids], _count(session, query, at_most=COUNT_LIMIT + 1), more


def _count(session: Session, query: Select[tuple[Visit]], *, at_most: int | None = None) -> int:
    """How many rows ``query`` finds (up to ``at_most``), counted from its ids (an index is enough)."""
    ids = query.order_by(None).with_only_columns(Visit.id).limit(at_most).subquery()
    return session.scalar(select(func.count()).select_from(ids)) or 0


def my_page(session: Session, person: Person, *, schools: Collection[str], number: int, size: int,
            today: datetime) -> tuple[list[Visit], int, bool]:
    """One page of a person's own visits at ``schools`` (those they lead, go second on or are the contact
    for), in :func:`soonest_page` order."""
    return soonest_page(session, visible_to(person, schools=schools), today=today, number=number, size=size)


def page(session: Session, query: Select[tuple[Visit]], *, number: int, size: int) -> tuple[list[Visit], int]:
    """One page of ``query`` and the total count."""
    rows = session.scalars(query.limit(size).offset((number - 1) * size)).all()
    return list(rows), _count(session, query)


def saved_with(session: Session, token: str, person: Person) -> int | None:
    """The id of ``person``'s draft made from the form with ``token``, if that form was saved already."""
    return session.scalar(select(Visit.id).where(Visit.form_token == token, Visit.lead_id == person.id))
