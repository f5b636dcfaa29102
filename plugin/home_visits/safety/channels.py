"""Alerts by webhook channel, through the same outbox as email: each message claimed by one sender at a time
with an atomic UPDATE, retried with a growing wait until the channel takes it, under the same ``webhook-id``
every time. A channel that does not answer is given up for the rest of the sweep after its first timeout
(its messages wait for the next sweep), so a dead channel costs a sweep one timeout, never one per alert;
email has gone before any channel is tried. Each attempt is written in the visit's history and in the
channel's health (last success, last failure). No Flask here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..audit import SYSTEM, audit
from ..db import unit_of_work
from ..mail import outbox, webhooks
from ..mail.context import Context
from ..models import Alert, ChannelHealth, ChannelMessage, Visit
from . import rules as safety

if TYPE_CHECKING:
    from .result import Result

#: How long a message waits after its n-th failed attempt (the last wait repeats): soon at first, then
#: no more often than a channel that is down for a while needs.
BACKOFF = tuple(timedelta(minutes=m) for m in (1, 2, 5, 10, 15, 30))

#: Builds the facts a channel is sent about an alert (no pupil name): ``facts(alert, visit, context, now)``.
Facts = Callable[[Alert, Visit, Context, datetime], dict[str, Any]]


def backoff(attempts: int) -> timedelta:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def _ready(now: datetime) -> Any:
    return and_(outbox.claimable(ChannelMessage, now),
                or_(ChannelMessage.next_try_at.is_(None), ChannelMessage.next_try_at <= now))


def deliver(session: Session, context: Context, now: datetime, result: Result, *, facts: Facts,
            broken: Callable[..., None], only_alert: int | None = None, only_tests: bool = False) -> None:
    """Send every channel message this sweep can claim (or just alert ``only_alert``'s, or the tests)."""
    query = select(ChannelMessage.id, ChannelMessage.channel).where(_ready(now)).order_by(ChannelMessage.id)
    if only_alert is not None:
        query = query.where(ChannelMessage.alert_id == only_alert)
    if only_tests:
        query = query.where(ChannelMessage.alert_id.is_(None))
    given_up: set[str] = set()
    for message_id, channel in session.execute(query).all():
        if channel in given_up or not outbox.claim(session, ChannelMessage, message_id, now):
            continue
        message = session.get(ChannelMessage, message_id)
        assert message is not None
        alert = session.get(Alert, message.alert_id) if message.alert_id else None
        try:
            with unit_of_work(session):
                if not _send_one(session, message, alert, context, now, result, facts):
                    given_up.add(channel)
        except Exception as error:  # noqa: BLE001 - one message that crashed must not hold the others
            session.rollback()
            _release(session, message_id, error)
            if alert is not None:
                broken(session, alert.visit_id, result, now, f"sending an alert to {channel}", error)


def _release(session: Session, message_id: int, error: Exception) -> None:
    try:
        with unit_of_work(session):
            message = session.get(ChannelMessage, message_id)
            if message is not None:
                outbox.mark_failed(message, f"{type(error).__name__}: {error}")
    except Exception:  # noqa: BLE001, S110 - the claim goes stale and is retried after outbox.STALE_CLAIM
        pass


def test_facts(school: str, now: datetime) -> dict[str, Any]:
    """What a test message says: plainly a test, with nothing to act on."""
    return {"type": "home_visits.test", "test": True, "headline": "TEST: home visits alert channel check",
            "school": school, "step": "a test; nobody needs to act", "visit_id": None, "staff": [],
            "sent_at": now.isoformat(), "first_step": "Nothing: this only checks that alerts reach you.",
            "link": ""}


def _send_one(session: Session, message: ChannelMessage, alert: Alert | None, context: Context, now: datetime,
              result: Result, facts: Facts) -> bool:
    """Send one claimed message; False when the channel did not answer (give it up for this sweep)."""
    visit = session.get(Visit, alert.visit_id) if alert is not None else None
    if alert is not None and visit is not None and not safety.still_needed(alert.key, alert.raised_by, visit):
        message.status = "stopped"
        return True
    channel = context.channels.get(message.channel)
    about = f"{alert.key} to {message.channel}" if alert is not None else f"test message to {message.channel}"
    try:
        if channel is None:
            raise webhooks.ChannelError("the channel is no longer in HOME_VISITS_ALERT_WEBHOOKS")
        if alert is not None and visit is not None:
            said = facts(alert, visit, context, now)
        else:
            said = test_facts(context.policy.school.name, now)
        webhooks.post(channel, message.message_id, webhooks.body(channel, said), timeout=context.webhook_timeout)
    except webhooks.ChannelError as error:
        outbox.mark_failed(message, error)
        message.failed_at, message.next_try_at = now, now + backoff(message.attempts)
        result.channels_failed += 1
        note_health(session, message.channel, now, error=str(error))
        if visit is not None:
            audit(session, visit, SYSTEM, "webhook_failed", now,
                  comment=f"{about}, attempt {message.attempts}: {message.last_error}"[:1000])
        return not error.unreachable
    outbox.mark_sent(message, now)
    result.by_channel[message.channel] += 1
    note_health(session, message.channel, now)
    if visit is not None:
        audit(session, visit, SYSTEM, "webhook_sent", now, comment=f"{about} ({message.message_id})")
    return True


def note_health(session: Session, channel: str, now: datetime, *, error: str = "") -> None:
    """Record a channel's success (``error`` empty) or failure at ``now``; an upsert, the caller commits."""
    values: dict[str, Any] = ({"last_failure_at": now, "last_error": error[:500]} if error
                              else {"last_success_at": now})
    statement = outbox.dialect_insert(session)(ChannelHealth).values(channel=channel, **{"last_error": ""} | values)
    session.execute(statement.on_conflict_do_update(index_elements=["channel"], set_=values))


def health(session: Session) -> dict[str, ChannelHealth]:
    """Every channel's last success and last failure, by channel."""
    return {row.channel: row for row in session.scalars(select(ChannelHealth).order_by(ChannelHealth.channel))}


def failing_now(session: Session) -> list[ChannelHealth]:
    """Webhook channels whose last attempt failed (no success since): the top of the dashboard names them
    (an email that failed is shown on its alert already)."""
    return [row for row in health(session).values() if row.channel.startswith(webhooks.PREFIX)
            and row.last_failure_at is not None
            and (row.last_success_at is None or row.last_success_at < row.last_failure_at)]


def test_addresses(context: Context) -> list[str]:
    """Every address an alert's email can reach besides the visit's own people: each school's office and
    out-of-hours contact (the approvers where a school names no out-of-hours address)."""
    found: list[str] = []
    for school in context.all_schools:
        found += context.office(school)
        found += [school.out_of_hours_email] if school.out_of_hours_email else [
            person.email for person in context.authorisers(school) if person.email]
    return list(dict.fromkeys(found))


def send_test(session: Session, context: Context, now: datetime, result: Result) -> None:
    """One marked test message to every email address alerts go to and to every webhook channel, now;
    each channel's health records how it went. The caller reads :func:`health` after."""
    with unit_of_work(session):  # the email's health line and the test messages, before channels are tried
        _test_email(session, context, now, result)
        for channel in context.channels:
            session.add(ChannelMessage(alert_id=None, channel=channel, message_id=f"msg_test_{uuid.uuid4().hex}",
                                       created_at=now, status="pending", attempts=0, last_error=""))
    deliver(session, context, now, result, facts=lambda *_: {}, broken=lambda *_: None, only_tests=True)


def _test_email(session: Session, context: Context, now: datetime, result: Result) -> None:
    to = test_addresses(context)
    subject = "TEST: home visits alert check (nobody needs to act)"
    text = ("This is a test of the home visits alerts. Nobody is out and nobody needs to act.\n"
            "Real alerts come to this address the same way. If anyone is in danger, call 999.")
    try:
        if not to:
            raise webhooks.ChannelError("no office or out-of-hours address is known")
        context.mailer(to, subject, text, headers={"X-Home-Visits-Alert": "test"})
    except Exception as error:  # noqa: BLE001 - MailError, or no address: either way the report says so
        result.failed += 1
        note_health(session, "email", now, error=str(error))
    else:
        result.by_channel["email"] += 1
        note_health(session, "email", now)
