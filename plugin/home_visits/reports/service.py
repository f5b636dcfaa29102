"""Reporting for SLT: counts of visits in a date range, and the CSV behind them. No Flask here."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Alert, AuditEntry, Visit, VisitRecord
from ..plans.rules import reason_words
from ..plans.workflow import LABELS, RETURNED
from ..policy import Policy
from ..records.rules import OUTCOMES

COLUMNS = ["visit", "date", "reason", "outcome", "lead", "second", "state", "authorised", "declined",
           "escalated", "incident", "pupil"]
#: The CSV's columns in a trust: which school each visit belongs to, after its number.
TRUST_COLUMNS = ["visit", "school", *COLUMNS[1:]]


@dataclass
class Summary:
    visits: int = 0
    by_reason: Counter[str] = field(default_factory=Counter)
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_staff: Counter[str] = field(default_factory=Counter)
    by_state: Counter[str] = field(default_factory=Counter)
    authorised: int = 0
    declined: int = 0
    escalated: int = 0
    #: Visits by school name, when the rows name their school (a trust).
    by_school: Counter[str] = field(default_factory=Counter)


def rows(
    session: Session, *, start: datetime, end: datetime, policy: Policy, name: Callable[[str], str], names: bool,
    schools: Mapping[str, tuple[str, Policy]] | None = None,
) -> list[dict[str, str]]:
    """One row per visit starting in ``[start, end)``; the pupil's name only when ``names``. With
    ``schools`` (school id -> its name and policy) only those schools' visits, each row naming its school
    and read with its school's policy; without, every visit, read with ``policy``."""
    query = select(Visit).where(Visit.starts_at >= start, Visit.starts_at < end, Visit.state != "draft")
    if schools is not None:
        query = query.where(Visit.school_id.in_(list(schools)))
    visits = session.scalars(query.order_by(Visit.starts_at, Visit.id)).all()
    ids = [v.id for v in visits]
    outcomes = dict(session.execute(select(VisitRecord.visit_id, VisitRecord.outcome)
                                    .where(VisitRecord.visit_id.in_(ids))).all()) if ids else {}
    escalated = set(session.scalars(select(Alert.visit_id).where(Alert.visit_id.in_(ids),
                                                                 Alert.status == "sent"))) if ids else set()
    decided = session.execute(select(AuditEntry.visit_id, AuditEntry.action)
                              .where(AuditEntry.visit_id.in_(ids),
                                     AuditEntry.action.in_(["authorise", "decline"]))).all() if ids else []
    authorised = {visit_id for visit_id, action in decided if action == "authorise"}
    declined = {visit_id for visit_id, action in decided if action == "decline"}
    table = []
    for visit in visits:
        school, policy = schools[visit.school_id] if schools is not None else ("", policy)
        zone = policy.zone
        table.append({
            "visit": str(visit.id),
            **({"school": school} if schools is not None else {}),
            "date": visit.starts_at.astimezone(zone).strftime("%Y-%m-%d") if visit.starts_at else "",
            "reason": reason_words(policy, visit.reason, visit.reason_other),
            "outcome": OUTCOMES.get(outcomes.get(visit.id, ""), "Not recorded"),
            "lead": name(visit.lead_id),
            "second": name(visit.second_staff_id) if visit.second_staff_id else "",
            "state": LABELS.get(visit.state, visit.state),
            "authorised": "yes" if visit.id in authorised else "no",
            "declined": "yes" if visit.id in declined else "no",
            "escalated": "yes" if visit.id in escalated else "no",
            "incident": "yes" if visit.incident else "no",
            "pupil": visit.pupil if names else visit.pupil_initials,
        })
    return table


#: The most records not written yet a report page lists (the oldest first); more are counted.
UNWRITTEN_SHOWN = 50


def unwritten(session: Session, schools: Sequence[str]) -> tuple[list[Visit], int]:
    """Visits of ``schools`` whose staff are back safe and whose record is not submitted yet (every visit
    is recorded): the oldest :data:`UNWRITTEN_SHOWN`, and how many there are."""
    query = select(Visit).where(Visit.state == RETURNED, Visit.school_id.in_(list(schools)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(session.scalars(query.order_by(Visit.starts_at, Visit.id).limit(UNWRITTEN_SHOWN))), total


def summarise(table: list[dict[str, str]]) -> Summary:
    summary = Summary(visits=len(table))
    for row in table:
        summary.by_reason[row["reason"]] += 1
        summary.by_outcome[row["outcome"]] += 1
        summary.by_staff[row["lead"]] += 1
        summary.by_state[row["state"]] += 1
        summary.authorised += row["authorised"] == "yes"
        summary.declined += row["declined"] == "yes"
        summary.escalated += row["escalated"] == "yes"
        if "school" in row:
            summary.by_school[row["school"]] += 1
    return summary


def to_csv(table: list[dict[str, str]], columns: Sequence[str] = COLUMNS) -> str:
    """CSV text; cells that a spreadsheet would run as a formula are quoted with a leading apostrophe."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    for row in table:
        writer.writerow({k: ("'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v) for k, v in row.items()})
    return out.getvalue()
