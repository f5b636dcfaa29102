"""Data protection: remove visits past retention, and export everything held about one pupil.

No Flask here; never commits. Both walk the tables by their foreign keys, so a table added later that points at
a visit (or at a visit's record) is purged and exported with no change here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.orm import Session

from ..audit import SYSTEM, audit
from ..changes import touch
from ..models import Alert, Base, Notice, NoticeMention, PurgeEntry, Visit, VisitRecord
from ..text import normalise_ref, search_key

VISITS = Visit.__table__
ALERTS = Alert.__table__
RECORDS = VisitRecord.__table__
NOTICES = Notice.__table__
MENTIONS = NoticeMention.__table__


def _children(parent: Table) -> list[tuple[Table, Any]]:
    """Tables with a foreign key to ``parent``, with the referencing column."""
    found = []
    for table in Base.metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table is parent:
                found.append((table, key.parent))
    return found


def cutoff(now: datetime, years: int) -> datetime:
    return now - timedelta(days=round(365.25 * years))


def _of_school(query: Any, school: str | None) -> Any:
    """``query`` kept to the visits of ``school`` (``None``: every school's)."""
    return query if school is None else query.where(Visit.school_id == school)


def due(session: Session, now: datetime, years: int, *, school: str | None = None) -> list[Visit]:
    """Visits (of ``school``, or of every school) that started (or, undated, were created) more than ``years`` ago."""
    limit = cutoff(now, years)
    query = select(Visit).where(
        or_(Visit.starts_at < limit, Visit.starts_at.is_(None) & (Visit.created_at < limit))
    )
    return list(session.scalars(_of_school(query, school).order_by(Visit.starts_at, Visit.id)))


def unconfigured(session: Session, schools: Sequence[str]) -> dict[str, int]:
    """How many visits each school id not among ``schools`` holds: visits no page, feed or job shows,
    still held (a school taken out of ``HOME_VISITS_SCHOOLS``, or a typing error in an id)."""
    query = select(Visit.school_id, func.count()).where(Visit.school_id.not_in(schools)).group_by(Visit.school_id)
    return {school: count for school, count in session.execute(query.order_by(Visit.school_id))}


def move_school(session: Session, old: str, new: str, now: datetime) -> int:
    """Give every visit of the school id ``old`` to the school ``new`` (visits stranded under an id no longer
    configured, or a school that joined another), each with a line in its history; feeds show the change.
    Returns how many moved."""
    visits = list(session.scalars(select(Visit).where(Visit.school_id == old).order_by(Visit.id)))
    for visit in visits:
        visit.school_id = new
        audit(session, visit, SYSTEM, "school_moved", now, from_state=visit.state, to_state=visit.state,
              comment=f"Moved from school {old!r} to {new!r} (flask home-visits schools move)")
    if visits:
        touch(session, now)
    return len(visits)


def purge(session: Session, now: datetime, years: int, *, school: str | None = None) -> int:
    """Delete visits (of ``school``, or of every school) past retention with everything attached to them;
    keep one line saying how many and when. Returns how many visits went."""
    ids = [visit.id for visit in due(session, now, years, school=school)]
    if ids:
        # A notice naming several visits (the morning digest) goes with any of them: its text holds
        # their addresses. Its other mentions go with it.
        notices = select(MENTIONS.c.notice_id).where(MENTIONS.c.visit_id.in_(ids)).scalar_subquery()
        notice_ids = list(session.scalars(select(NOTICES.c.id).where(NOTICES.c.id.in_(notices))))
        if notice_ids:
            session.execute(delete(MENTIONS).where(MENTIONS.c.notice_id.in_(notice_ids)))
            session.execute(delete(NOTICES).where(NOTICES.c.id.in_(notice_ids), NOTICES.c.visit_id.is_(None)))
        alert_ids = select(ALERTS.c.id).where(ALERTS.c.visit_id.in_(ids)).scalar_subquery()
        for table, column in _children(ALERTS):  # each alert's webhook messages
            session.execute(delete(table).where(column.in_(alert_ids)))
        record_ids = select(RECORDS.c.id).where(RECORDS.c.visit_id.in_(ids)).scalar_subquery()
        for table, column in _children(RECORDS):
            session.execute(delete(table).where(column.in_(record_ids)))
        for table, column in _children(VISITS):
            session.execute(delete(table).where(column.in_(ids)))
        session.execute(delete(VISITS).where(VISITS.c.id.in_(ids)))
    session.add(PurgeEntry(at=now, cutoff=cutoff(now, years), visits=len(ids)))
    return len(ids)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(session: Session, table: Table, column: Any, ids: list[int]) -> list[dict[str, Any]]:
    rows = session.execute(select(table).where(column.in_(ids)).order_by(*table.primary_key.columns)).mappings()
    return [{key: _plain(value) for key, value in row.items()} for row in rows]


def export_pupil(session: Session, pupil: str, *, school: str | None = None) -> dict[str, Any]:
    """Everything held about the pupil (by ``school``, or by every school), matched by the name staff typed
    (case, accents written either way and spacing ignored: :func:`search_key`) or by the school reference
    on the plan: each visit with every row that points at it or at its record."""
    by_name = Visit.pupil_key == search_key(pupil)
    ref = normalise_ref(pupil)
    matches = or_(by_name, Visit.pupil_ref == ref) if ref else by_name
    visit_ids = list(session.scalars(_of_school(select(Visit.id).where(matches), school).order_by(Visit.id)))
    tables: dict[str, list[dict[str, Any]]] = {VISITS.name: _rows(session, VISITS, VISITS.c.id, visit_ids)}
    for table, column in _children(VISITS):
        tables[table.name] = _rows(session, table, column, visit_ids)
    record_ids = [row["id"] for row in tables.get(RECORDS.name, [])]
    for table, column in _children(RECORDS):
        tables[table.name] = _rows(session, table, column, record_ids)
    return {"pupil": pupil, "visits": len(visit_ids), "tables": tables}
