"""Visit records in the database: write, submit (then locked), correct, confirm, and who opened them.

No Flask here; never commits. Submitting a record with an incident raises an ``incident`` alert on the
escalation path, so the email goes at once and is retried like any safety alert.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import audit
from ..errors import Problem, StaleRecord, WorkflowError
from ..models import AccessEntry, RecordAction, RecordCorrection, Visit, VisitRecord
from ..people import Person
from ..plans import service as plans
from ..plans import workflow
from ..policy import Policy
from ..safety import service as safety
from ..schools import Schools
from ..text import address_key
from .rules import FIELDS, Action, RecordData, check_record

RECORD_FIELDS = tuple(f.name for f in fields(RecordData) if f.name != "actions")


def record_of(session: Session, visit: Visit) -> VisitRecord | None:
    return session.scalar(select(VisitRecord).where(VisitRecord.visit_id == visit.id))


def data_of(record: VisitRecord) -> RecordData:
    actions = [Action(a.what, a.owner, a.due) for a in record.actions]
    return RecordData(**{name: getattr(record, name) for name in RECORD_FIELDS}, actions=actions)


def can_write(visit: Visit, person: Person) -> bool:
    """The lead writes the record once the staff are back, until it is submitted."""
    return person.id == visit.lead_id and visit.state == workflow.RETURNED


def save(
    session: Session, visit: Visit, data: RecordData, *, actor: Person, now: datetime, version: int | None
) -> VisitRecord:
    """Create or update the draft record. Raises :class:`StaleRecord` when a record exists and ``version``
    is missing (the form was opened before it was written, in another tab) or not the record's."""
    if not can_write(visit, actor):
        raise WorkflowError(
            "Only the lead can write the record, after closing off and before it is submitted.", status=403
        )
    record = record_of(session, visit)
    if record is None:
        record = VisitRecord(visit_id=visit.id, author_id=actor.id, version=1, created_at=now, updated_at=now)
        session.add(record)
        audit(session, visit, actor, "record_started", now)
    elif version != record.version:
        raise StaleRecord
    for name in RECORD_FIELDS:
        setattr(record, name, getattr(data, name))
    record.actions = [RecordAction(what=a.what, owner=a.owner, due=a.due) for a in data.actions]
    record.updated_at = now
    return record


def submit(
    session: Session, visit: Visit, record: VisitRecord, *, actor: Person, policy: Policy, now: datetime
) -> list[Problem]:
    """Check the record; when it passes, lock it, move the visit to recorded, and raise an
    incident alert if one was reported. Returns the problems."""
    problems = check_record(data_of(record), now=now, visit_start=visit.starts_at)
    if problems:
        return problems
    record.submitted_at = now
    plans.decide(session, visit, "record", actor=actor, policy=policy, now=now)
    if record.incident_kinds and not safety.reported_incidents(session, visit.id):  # else: told already
        visit.incident = True
        safety.raise_alert(session, visit.id, "incident", safety.INCIDENT_NOTIFY, now, raised_by=actor.id)
        audit(session, visit, actor, "incident_reported", now, comment=", ".join(record.incident_kinds))
    return []


def correct(
    session: Session, visit: Visit, record: VisitRecord, *, actor: Person, policy: Policy, now: datetime,
    field: str, text: str, reason: str,
) -> RecordCorrection:
    """Append a correction to a submitted record (the lead or an approver); the original stays."""
    if record.submitted_at is None:
        raise WorkflowError("The record is still a draft: edit it instead.")
    if not workflow.leads_or_decides(visit, actor, policy.rules.authorisers):
        raise WorkflowError("Only the lead or a senior leader can correct a record.", status=403)
    if field not in FIELDS or not text.strip() or not reason.strip():
        raise WorkflowError("Choose what the correction is about, write it, and say why.", status=400)
    correction = RecordCorrection(record_id=record.id, field=field, text=text.strip(), reason=reason.strip(),
                                  by=actor.id, at=now)
    session.add(correction)
    audit(session, visit, actor, "record_corrected", now, comment=f"{FIELDS[field]}: {reason.strip()}")
    return correction


def confirm(session: Session, visit: Visit, record: VisitRecord, *, actor: Person, now: datetime, comment: str) -> None:
    """The second member of staff confirms the record, with an optional comment."""
    if actor.id != visit.second_staff_id:
        raise WorkflowError("Only the second member of staff on the visit can confirm the record.", status=403)
    if record.submitted_at is None or record.confirmed_at is not None:
        raise WorkflowError("There is no submitted record waiting for your confirmation.")
    record.confirmed_by, record.confirmed_at, record.confirmation = actor.id, now, comment.strip()
    audit(session, visit, actor, "record_confirmed", now, comment=comment.strip())


def log_access(session: Session, visit: Visit, person: Person, what: str, now: datetime) -> None:
    """Note who opened, copied or exported a record (one row a look; approvers can see them)."""
    session.add(AccessEntry(visit_id=visit.id, person_id=person.id, what=what, at=now))
    if what != "opened":
        audit(session, visit, person, f"record_{what}", now)


#: The access-log line of a record whose open actions another visit's page (or a plan) showed.
ACTIONS_SHOWN = "saw its open actions"


def log_actions_shown(session: Session, family: FamilyActions, person: Person, now: datetime) -> None:
    """Open actions are record content: showing them is a look at each record they came from."""
    for earlier in {earlier.id: earlier for _, earlier in family.readable}.values():
        log_access(session, earlier, person, ACTIONS_SHOWN, now)


def mark_done(session: Session, action: RecordAction, visit: Visit, *, actor: Person, now: datetime) -> None:
    if action.done_at is not None:
        return
    action.done_at, action.done_by = now, actor.id
    audit(session, visit, actor, "action_done", now, comment=action.what[:200])


def open_actions(
    session: Session, *, schools: Collection[str], lead_id: str | None = None, visit: Visit | None = None,
    including: bool = False,
) -> list[tuple[RecordAction, Visit]]:
    """Open actions from the records of visits of ``schools`` (a school no longer configured shows none)
    ``lead_id`` led, or from other visits to the same address as ``visit`` (the same family; ``including``
    that visit's own), oldest due first."""
    query = (
        select(RecordAction, Visit)
        .join(VisitRecord, VisitRecord.id == RecordAction.record_id)
        .join(Visit, Visit.id == VisitRecord.visit_id)
        .where(RecordAction.done_at.is_(None), VisitRecord.submitted_at.is_not(None),
               Visit.school_id.in_(list(schools)))
    )
    if lead_id is not None:
        query = query.where(Visit.lead_id == lead_id)
    if visit is not None:
        query = query.where(Visit.postcode == visit.postcode)
        if not including:
            query = query.where(Visit.id != visit.id)
    rows = session.execute(query.order_by(RecordAction.due, RecordAction.id)).all()
    if visit is not None:
        key = address_key(visit.address)
        rows = [row for row in rows if address_key(row[1].address) == key]
    return [(row[0], row[1]) for row in rows]


@dataclass
class FamilyActions:
    """Open actions from earlier visits to a family: those a person may read (with their visit), and the
    leads to ask about the others (whose records the person may not read: only that they exist is shown)."""

    readable: list[tuple[Any, Visit]]
    ask: list[str]


def family_actions(session: Session, schools: Schools, visit: Visit, person: Person, *,
                   including: bool = False) -> FamilyActions:
    """The open actions of ``visit``'s family as ``person`` (all their roles, at every school) may see them:
    each earlier record by the rule of its own school; another school's records stay unseen."""
    readable, ask = [], []
    for action, earlier in open_actions(session, schools=schools.ids, visit=visit, including=including):
        school = schools.of(earlier.school_id)
        if workflow.reads_record(earlier, person.at(school.id), school.policy.rules.authorisers):
            readable.append((action, earlier))
        elif earlier.school_id == visit.school_id:  # another school's visits to the family stay unseen
            ask.append(earlier.lead_id)
    return FamilyActions(readable, list(dict.fromkeys(ask)))


def access_log(session: Session, visit: Visit, *, limit: int = 50) -> list[AccessEntry]:
    """Who opened, copied or exported the visit's record, newest first."""
    query = select(AccessEntry).where(AccessEntry.visit_id == visit.id).order_by(AccessEntry.id.desc()).limit(limit)
    return list(session.scalars(query))
