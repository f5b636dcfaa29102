"""The plugin's plain emails (about plans; never safety alerts), stored once by key and sent later: who
still wants them (:func:`preference`), queueing one (:func:`queue`) and sending what can be claimed
(:func:`deliver`: straight away, and again by the escalation sweep until it goes; each email sent is its own
unit of work, audited on its visit). The plans' emails themselves are composed in
:mod:`home_visits.plans.notices`. No Flask here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import SYSTEM, audit
from ..db import unit_of_work
from ..models import Notice, Preference, Visit
from ..people import Person
from . import outbox
from .context import Context, Email
from .smtp import MailError


@dataclass
class Sent:
    sent: int = 0
    failed: int = 0


def preference(session: Session, person: Person) -> Preference:
    """The person's email choices (plan emails on until they say otherwise)."""
    return session.get(Preference, person.id) or Preference(person_id=person.id, plan_emails=True)


def wanting(session: Session, people: Iterable[Person | None]) -> list[str]:
    """Email addresses of the people who still want plan emails."""
    people = [p for p in people if p is not None and p.email]
    off = set(session.scalars(select(Preference.person_id).where(
        Preference.person_id.in_([p.id for p in people]), Preference.plan_emails.is_(False))))
    return list(dict.fromkeys(p.email for p in people if p.id not in off))


def queue(session: Session, *, key: str, visit: Visit | None, to: list[str], email: Email,
          now: datetime, calendar: str | None = None) -> int | None:
    """Store a notice unless one with ``key`` exists; returns the new notice's id (None: no new one).
    ``calendar``: an invitation's iMIP body, sent beside the text and HTML."""
    if not to:
        return None
    return outbox.insert_once(
        session, Notice, unique=["key"], key=key, visit_id=visit.id if visit else None, to=to, subject=email.subject,
        text=email.text, html=email.html, calendar=calendar,
        created_at=now, status="pending", attempts=0, last_error="",
    )


def deliver(session: Session, context: Context, now: datetime, *, only: int | None = None) -> Sent:
    """Send every notice this sender can claim (or just ``only``); each send or failure is audited."""
    result = Sent()
    for notice in outbox.claimed(session, Notice, now, only=only):
        with unit_of_work(session):
            _send_one(session, notice, context, now, result)
    return result


def _send_one(session: Session, notice: Notice, context: Context, now: datetime, result: Sent) -> None:
    """Send one claimed notice and note in the visit's history whether it went."""
    visit = session.get(Visit, notice.visit_id) if notice.visit_id else None
    try:
        # Only an invitation passes ``calendar``: a host's own mailer need not know it otherwise.
        context.mailer(notice.to, notice.subject, notice.text, notice.html,
                       **({"calendar": notice.calendar} if notice.calendar else {}))
    except MailError as error:
        outbox.mark_failed(notice, error)
        result.failed += 1
        if visit:
            audit(session, visit, SYSTEM, "email_failed", now, comment=f"{notice.subject}: {error}"[:1000])
    else:
        outbox.mark_sent(notice, now)
        result.sent += 1
        if visit:
            audit(session, visit, SYSTEM, "email_sent", now,
                  comment=f"{notice.subject} to {', '.join(notice.to)}"[:1000])
