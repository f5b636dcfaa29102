"""Claiming mail to send: one sender per row at a time, retried until it goes. No Flask here.

Alerts and notices share these columns (:class:`~.models.Delivery`); a sender sends only what it
claimed with an atomic UPDATE, so overlapping runs never send the same email twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

#: A claim older than this belongs to a sender that died mid-send: it is retried.
STALE_CLAIM = timedelta(minutes=10)


def dialect_insert(session: Session) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def insert_once(session: Session, model: Any, *, unique: list[str], **values: Any) -> int | None:
    """Insert the row unless one with the same ``unique`` columns exists; the new row's id, else None.

    The id comes back through RETURNING, never ``rowcount``: on PostgreSQL an INSERT that returns
    rows reports a row count even when ON CONFLICT skipped it.
    """
    statement = (dialect_insert(session)(model).values(**values)
                 .on_conflict_do_nothing(index_elements=unique).returning(model.id))
    return session.execute(statement).scalar_one_or_none()


def claimable(model: Any, now: datetime) -> Any:
    return or_(
        model.status.in_(["pending", "failed"]),
        and_(model.status == "sending", model.claimed_at < now - STALE_CLAIM),
    )


def waiting(session: Session, model: Any, now: datetime, *, only: int | None = None) -> list[int]:
    """Ids of rows a sender could claim now, oldest first."""
    query = select(model.id).where(claimable(model, now)).order_by(model.id)
    if only is not None:
        query = query.where(model.id == only)
    return list(session.scalars(query))


def claim(session: Session, model: Any, row_id: int, now: datetime) -> bool:
    """Take the row for this sender (committed at once, so other senders see it); False if taken."""
    statement = (
        update(model).where(model.id == row_id, claimable(model, now))
        .values(status="sending", claimed_at=now, attempts=model.attempts + 1)
    )
    taken = session.execute(statement).rowcount == 1
    # The one commit outside a unit of work: the claim must be visible to every other sender before this
    # one starts sending, or two overlapping runs would both send the same email.
    session.commit()
    return taken


def claimed(session: Session, model: Any, now: datetime, *, only: int | None = None) -> Iterator[Any]:
    """Each row this sender claims in turn (oldest first; just ``only`` when given), loaded and ready to send."""
    for row_id in waiting(session, model, now, only=only):
        if claim(session, model, row_id, now):
            row = session.get(model, row_id)
            assert row is not None
            yield row


def mark_sent(row: Any, now: datetime) -> None:
    row.status, row.sent_at, row.last_error = "sent", now, ""


def mark_failed(row: Any, error: Exception | str) -> None:
    row.status, row.last_error = "failed", str(error)[:500]
