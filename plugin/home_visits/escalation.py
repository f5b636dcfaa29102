"""Overdue visits in the database: raise each due alert once, deliver it, retry until it goes.

Run by ``flask home-visits escalate`` from cron. Safe when two sweeps overlap: an alert row is
unique per (visit, key), and a sweep sends only the alerts it claimed with an atomic UPDATE.
No Flask here; mail goes through the ``Mailer`` the caller hands in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import outbox, safety, services
from .directory import Directory, Person
from .mail import MailError
from .models import Alert, JobRun, Visit
from .policy import Policy

#: Sends one email: (recipients, subject, plain text). Raises :class:`MailError` when it cannot.
Mailer = Callable[[Sequence[str], str, str], None]

#: The actor recorded in the audit trail for what the sweep does.
SWEEP = Person("system", "Automatic safety check")


@dataclass
class Result:
    raised: int = 0
    sent: int = 0
    failed: int = 0
    stopped: int = 0

    def __str__(self) -> str:
        return f"{self.raised} raised, {self.sent} sent, {self.failed} failed, {self.stopped} no longer needed"


@dataclass(frozen=True)
class Context:
    """What a sweep needs besides the database."""

    policy: Policy
    directory: Directory
    mailer: Mailer
    #: Link to a visit in the portal.
    link: Callable[[int], str]
    out_of_hours_email: str | None = None
    #: Line managers and health-and-safety leads who hear about incidents, besides the approvers.
    incident_emails: tuple[str, ...] = ()


def raise_alert(session: Session, visit_id: int, key: str, notify: Sequence[str], due_at: datetime, *,
                raised_by: str = "") -> int | None:
    """Create the alert unless it exists already; the new alert's id, None when it existed."""
    return outbox.insert_once(
        session, Alert, unique=["visit_id", "key"], visit_id=visit_id, key=key, notify=list(notify),
        due_at=due_at, status="pending", attempts=0, last_error="", raised_by=raised_by,
    )


def raise_due(session: Session, policy: Policy, now: datetime) -> int:
    """Create every alert that is due for a visit that is out; returns how many are new."""
    out = session.scalars(select(Visit).where(Visit.state == safety.CHECKED_OUT)).all()
    existing = {
        (row.visit_id, row.key)
        for row in session.execute(
            select(Alert.visit_id, Alert.key).join(Visit, Visit.id == Alert.visit_id)
            .where(Visit.state == safety.CHECKED_OUT)
        )
    }
    created = 0
    for visit in out:
        for due in safety.due_alerts(visit, policy, now):
            if (visit.id, due.key) not in existing:
                created += raise_alert(session, visit.id, due.key, due.notify, due.at) is not None
    session.commit()
    return created


def recipients(alert: Alert, visit: Visit, context: Context) -> list[str]:
    """Email addresses for the alert's recipient kinds, without repeats."""
    directory, authorisers = context.directory, context.policy.rules.authorisers
    staff = directory.staff()
    found: list[str] = []
    for kind in alert.notify:
        if kind == "responsible_contact" and visit.contact_id:
            people = [directory.find(visit.contact_id)]
        elif kind == "second_staff" and visit.second_staff_id:
            people = [directory.find(visit.second_staff_id)]
        elif kind == "office":
            people = [p for p in staff if p.has("office")]
        elif kind == "approvers" or (kind == "out_of_hours" and not context.out_of_hours_email):
            people = [p for p in staff if p.has(*authorisers)]
        elif kind == "out_of_hours":
            found.append(context.out_of_hours_email or "")
            continue
        elif kind == "incident_contacts":
            found.extend(context.incident_emails)
            continue
        else:
            people = []
        found.extend(p.email for p in people if p is not None and p.email)
    return [address for address in dict.fromkeys(found) if address]


def deliver(session: Session, context: Context, now: datetime, *, only: int | None = None) -> Result:
    """Send every pending or failed alert this sweep can claim (or just alert ``only``)."""
    result = Result()
    for alert_id in outbox.waiting(session, Alert, now, only=only):
        if outbox.claim(session, Alert, alert_id, now):
            _send_one(session, session.get(Alert, alert_id), context, now, result)
    return result


def _send_one(session: Session, alert: Alert | None, context: Context, now: datetime, result: Result) -> None:
    assert alert is not None
    visit = session.get(Visit, alert.visit_id)
    assert visit is not None
    if visit.state != safety.CHECKED_OUT and not alert.raised_by:
        alert.status = "stopped"
        result.stopped += 1
        services.audit(session, visit, SWEEP, "alert_stopped", now, comment=f"{alert.key}: the staff are back")
        session.commit()
        return
    to = recipients(alert, visit, context)
    subject, text = alert_email(alert, visit, context, now)
    try:
        if not to:
            raise MailError("no email address for " + ", ".join(alert.notify))
        context.mailer(to, subject, text)
    except MailError as error:
        outbox.mark_failed(alert, error)
        result.failed += 1
        services.audit(session, visit, SWEEP, "alert_failed", now,
                       comment=f"{alert.key}, attempt {alert.attempts}: {alert.last_error}")
    else:
        outbox.mark_sent(alert, now)
        result.sent += 1
        services.audit(session, visit, SWEEP, "alert_sent", now, comment=f"{alert.key} to {', '.join(to)}")
    session.commit()


def alert_email(alert: Alert, visit: Visit, context: Context, now: datetime) -> tuple[str, str]:
    """Subject and plain text of an alert: who is out, where, since when, what to do. No pupil name."""
    policy, find = context.policy, context.directory.find
    zone = policy.zone
    lead = find(visit.lead_id)
    second = find(visit.second_staff_id) if visit.second_staff_id else None
    contact = find(visit.contact_id) if visit.contact_id else None
    back = visit.expected_return.astimezone(zone).strftime("%H:%M") if visit.expected_return else "?"
    who = lead.name if lead else visit.lead_id
    if alert.key == "incident":
        return _incident_email(visit, context, who)
    if alert.raised_by:
        raiser = find(alert.raised_by)
        headline = f"URGENT: alert from {raiser.name if raiser else alert.raised_by} on a home visit"
    elif alert.key == safety.END_OF_DAY:
        headline = f"Still out at closing time: {who}, home visit"
    else:
        headline = f"OVERDUE: {who}, home visit, expected back {back}"
    if alert.key.startswith("tier-"):
        step = f"Escalation step {int(alert.key[5:]) + 1} of {len(policy.escalation.tiers)}."
    else:
        step = "Raised by hand." if alert.raised_by else "End-of-day check."
    lines = [headline, step, ""]
    for label, person in (("Lead", lead), ("Second member of staff", second)):
        if person:
            lines.append(f"{label}: {person.name}, phone {person.phone or 'not known'}")
    lines += [
        f"Address: {' '.join(visit.address.split())} {visit.postcode}".rstrip(),
        f"Expected back: {back}; {safety.minutes_overdue(visit, policy, now)} minutes overdue now",
        f"Responsible contact: {contact.name if contact else '-'}, {visit.contact_phone}",
        "",
        "What to do, in order:",
    ]
    lines += [f"{n}. {step.title}: {step.text}" for n, step in enumerate(policy.escalation.procedure, 1)]
    lines += ["", "If anyone is in danger, call 999 now.", "", f"The visit: {context.link(visit.id)}",
              "Open it and press \"I'm handling this\" so others know; it stops further alerts."]
    return headline, "\n".join(lines)


def _incident_email(visit: Visit, context: Context, who: str) -> tuple[str, str]:
    """The incident report email: which visit, what kind, and a link (details stay in the portal)."""
    zone = context.policy.zone
    day = visit.starts_at.astimezone(zone).strftime("%d %b %Y") if visit.starts_at else "?"
    headline = f"INCIDENT reported on a home visit: {who}, {day}"
    lines = [
        headline,
        "Reported on the visit record.",
        "",
        f"Lead: {who}",
        f"Address: {' '.join(visit.address.split())} {visit.postcode}".rstrip(),
        "",
        "Read what happened and follow it up in the portal (details are kept there, not in email):",
        context.link(visit.id),
    ]
    return headline, "\n".join(lines)


def record_run(session: Session, name: str, now: datetime, summary: str) -> None:
    """Note that a scheduled command ran (an upsert, safe when two run together)."""
    statement = outbox.dialect_insert(session)(JobRun).values(name=name, last_run_at=now, summary=summary[:200])
    statement = statement.on_conflict_do_update(
        index_elements=["name"], set_={"last_run_at": now, "summary": summary[:200]}
    )
    session.execute(statement)
    session.commit()


def sweep(session: Session, context: Context, now: datetime) -> Result:
    """One run of the escalation job."""
    raised = raise_due(session, context.policy, now)
    result = deliver(session, context, now)
    result.raised = raised
    record_run(session, "escalate", now, str(result))
    return result
