"""Personal calendar feeds: tokens (kept only as hashes), what each feed holds, and its ETag.

No Flask here: the views and the ``publish`` command call these and :mod:`.calendar`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from . import safety, workflow
from .calendar import FeedEvent, Staff
from .directory import Directory, Person
from .models import ChangeMarker, FeedToken, Visit
from .policy import Policy

ALL, OWN = "all", "own"


@dataclass(frozen=True)
class Window:
    """Which visits a feed holds, relative to now."""

    days_back: int = 30
    days_ahead: int = 365
    #: Cancelled and declined visits stay (as CANCELLED) this long after the change, then go.
    cancelled_days: int = 14


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scope_for(person: Person, authorisers: list[str]) -> str:
    """Approvers and office see every visit; everyone else their own."""
    return ALL if workflow.sees_everything(person, authorisers) else OWN


def active_token(session: Session, person_id: str) -> FeedToken | None:
    return session.scalar(
        select(FeedToken).where(FeedToken.person_id == person_id, FeedToken.revoked_at.is_(None))
    )


def revoke(session: Session, person_id: str, now: datetime) -> int:
    """Revoke every live link of the person; returns how many."""
    result = session.execute(
        update(FeedToken)
        .where(FeedToken.person_id == person_id, FeedToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount or 0


def issue(session: Session, person: Person, *, scope: str, now: datetime) -> str:
    """A new 256-bit URL-safe token for ``person`` (revoking the old one). Returned once, stored hashed."""
    revoke(session, person.id, now)
    token = secrets.token_urlsafe(32)
    session.add(FeedToken(person_id=person.id, token_hash=hash_token(token), scope=scope, created_at=now))
    return token


def lookup(session: Session, token: str) -> FeedToken | None:
    """The live token row for ``token``, or ``None`` (unknown and revoked look the same)."""
    if not 20 <= len(token) <= 100:
        return None
    digest = hash_token(token)
    row = session.scalar(select(FeedToken).where(FeedToken.token_hash == digest, FeedToken.revoked_at.is_(None)))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row


def marker(session: Session) -> tuple[int, datetime]:
    """The change marker: (counter, when any visit last changed)."""
    row = session.execute(select(ChangeMarker.counter, ChangeMarker.changed_at).where(ChangeMarker.id == 1)).one()
    return row.counter, row.changed_at


def overdue_now(session: Session, policy: Policy, now: datetime) -> list[int]:
    """Ids of visits overdue at ``now``: overdue is derived, so the feed's ETag must follow it."""
    late = now - timedelta(minutes=policy.rules.grace_minutes)
    query = select(Visit.id).where(Visit.state == workflow.CHECKED_OUT, Visit.expected_return <= late)
    return list(session.scalars(query.order_by(Visit.id)))


def etag(counter: int, token: FeedToken, day: str, settings: str, overdue: list[int]) -> str:
    """Changes whenever what the feed would hold can change: data, the day (the window slides),
    settings, and which visits are overdue."""
    raw = f"{counter}|{token.id}|{token.scope}|{day}|{settings}|{overdue}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def visits_in_window(
    session: Session, *, now: datetime, window: Window, person_id: str | None = None
) -> list[Visit]:
    """Visits a feed shows: not drafts, starting inside the window, recently cancelled ones kept."""
    gone = now - timedelta(days=window.cancelled_days)
    query = select(Visit).where(
        Visit.state != workflow.DRAFT,
        Visit.starts_at >= now - timedelta(days=window.days_back),
        Visit.starts_at <= now + timedelta(days=window.days_ahead),
        Visit.expected_return.is_not(None),
        or_(
            Visit.state.not_in([workflow.CANCELLED, workflow.DECLINED]),
            and_(Visit.state.in_([workflow.CANCELLED, workflow.DECLINED]), Visit.updated_at >= gone),
        ),
    )
    if person_id is not None:
        query = query.where(
            or_(Visit.lead_id == person_id, Visit.second_staff_id == person_id, Visit.contact_id == person_id)
        )
    return list(session.scalars(query.order_by(Visit.starts_at, Visit.id)))


def feed_event(
    visit: Visit, *, policy: Policy, directory: Directory, link: Callable[[int], str], now: datetime
) -> FeedEvent:
    """What a calendar shows of ``visit``: initials, never the pupil's name."""

    def staff(person_id: str | None, phone: str = "") -> Staff | None:
        if not person_id:
            return None
        found = directory.find(person_id)
        return Staff(found.name, phone or found.phone) if found else Staff(person_id, phone)

    reason = policy.reason(visit.reason)
    assert visit.starts_at is not None and visit.expected_return is not None
    return FeedEvent(
        visit_id=visit.id,
        sequence=visit.sequence,
        state=visit.state,
        starts_at=visit.starts_at,
        ends_at=visit.expected_return,
        updated_at=visit.updated_at,
        created_at=visit.created_at,
        reason=reason.title if reason else (visit.reason_other or "other"),
        pupil_initials=visit.pupil_initials,
        lead=staff(visit.lead_id) or Staff(visit.lead_id),
        second=staff(visit.second_staff_id),
        contact=staff(visit.contact_id, visit.contact_phone),
        address=visit.address,
        postcode=visit.postcode,
        authorised_by=(staff(visit.authorised_by) or Staff("")).name,
        risk_flags=tuple(item.title for item in policy.risk_factors if item.id in visit.risk_factors),
        url=link(visit.id),
        overdue_since=safety.overdue_from(visit, policy) if safety.is_overdue(visit, policy, now) else None,
    )
