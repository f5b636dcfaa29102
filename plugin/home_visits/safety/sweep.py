"""The escalation sweep: raise each due alert once, deliver it, retry until it goes.

Run by ``flask home-visits escalate`` from cron. Safe when two sweeps overlap: an alert row is
unique per (visit, key), and a sweep sends only the alerts it claimed with an atomic UPDATE. One bad
visit never stops the others: whatever fails for one visit is written in its history and counted in
:attr:`Result.broken`, and the sweep goes on. So the sweep is a job, not a service: each visit's alerts
and each email sent is its own unit of work, committed (:func:`~..db.unit_of_work`) before the next.
No Flask here; mail goes through the ``Mailer`` the caller hands in.

In a trust each visit follows its own school's policy (grace, tiers, office hours, time zone) and its
alerts go to its own school's people; a visit of a school the portal no longer lists is one bad visit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import SYSTEM, audit
from ..db import unit_of_work
from ..mail import outbox
from ..mail.context import Context, Email, render
from ..mail.smtp import MailError
from ..models import Alert, AuditEntry, JobRun, Visit
from ..policy import Policy
from ..text import address_line
from . import channels, words
from . import rules as safety
from .result import Result
from .service import INCIDENT_KINDS, raise_alert, watched


def raise_due(session: Session, policy: Policy | Context, now: datetime, result: Result) -> None:
    """Create every alert that is due for a watched visit, committing visit by visit; a visit whose
    alerts cannot be worked out is noted in ``result.broken`` and in its history, and the rest go on.
    Given a mail :class:`Context`, each visit follows its own school's policy; given a policy, all do."""
    policy_of = policy.policy_of if isinstance(policy, Context) else (lambda _visit: policy)
    visits = watched(session, now)
    existing = {
        (row.visit_id, row.key)
        for row in session.execute(select(Alert.visit_id, Alert.key).where(Alert.visit_id.in_([v.id for v in visits])))
    }
    for visit in visits:
        visit_id = visit.id
        try:
            due_now = safety.due_alerts(visit, policy_of(visit), now)
            new = [due for due in due_now if (visit_id, due.key) not in existing]
            if not new:  # the usual run: nothing new is due, so nothing to write
                continue
            with unit_of_work(session):
                for due in new:
                    result.raised += raise_alert(session, visit_id, due.key, due.notify, due.at) is not None
        except Exception as error:  # noqa: BLE001 - one bad visit must never silence the others
            broken(session, visit_id, result, now, "working out its alerts", error)


def broken(session: Session, visit_id: int, result: Result, now: datetime, doing: str, error: Exception) -> None:
    """Note on the visit (once per distinct problem) that the sweep failed on it, and go on."""
    problem = f"The safety check failed while {doing}: {type(error).__name__}: {error}"[:1000]
    result.broken[visit_id] = problem
    try:
        with unit_of_work(session):
            visit = session.get(Visit, visit_id)
            last = session.scalar(select(AuditEntry.comment).where(
                AuditEntry.visit_id == visit_id, AuditEntry.action == "check_failed").order_by(AuditEntry.id.desc()))
            if visit is not None and last != problem:
                audit(session, visit, SYSTEM, "check_failed", now, comment=problem)
    except Exception:  # noqa: BLE001, S110 - the history could not be written either; the count still says so
        pass


def recipients(alert: Alert, visit: Visit, context: Context) -> list[str]:
    """Email addresses for the alert's recipient kinds, without repeats: the office, approvers and
    out-of-hours contact of the visit's school (trust-wide people included), never another school's."""
    school = context.school_of(visit)
    find = context.directory.find
    found: list[str] = []
    for kind in alert.notify:
        if kind == "responsible_contact" and visit.contact_id:
            people = [find(visit.contact_id)]
        elif kind == "lead":
            people = [find(visit.lead_id)]
        elif kind == "second_staff" and visit.second_staff_id:
            people = [find(visit.second_staff_id)]
        elif kind == "office":
            found.extend(context.office(school))
            continue
        elif kind == "approvers" or (kind == "out_of_hours" and not school.out_of_hours_email):
            people = list(context.authorisers(school))
        elif kind == "out_of_hours":
            found.append(school.out_of_hours_email)
            continue
        elif kind == "incident_contacts":
            found.extend(context.incident_emails)
            continue
        else:
            people = []
        found.extend(p.email for p in people if p is not None and p.email)
    return [address for address in dict.fromkeys(found) if address]


def deliver(session: Session, context: Context, now: datetime, *, only: int | None = None) -> Result:
    """Send every pending or failed alert this sweep can claim (or just alert ``only``) by email, then its
    webhook channels' messages (:mod:`.channels`). An alert whose send crashed is released at once for the
    next run and its visit counted in ``broken``."""
    result = Result()
    for alert in outbox.claimed(session, Alert, now, only=only):
        alert_id, visit_id = alert.id, alert.visit_id
        try:
            with unit_of_work(session):
                _send_one(session, alert, context, now, result)
        except Exception as error:  # noqa: BLE001 - a crash while sending one alert must not hold the rest
            _release(session, alert_id, error)
            broken(session, visit_id, result, now, "sending an alert", error)
    channels.deliver(session, context, now, result, facts=alert_facts, broken=broken, only_alert=only)
    return result


def _release(session: Session, alert_id: int, error: Exception) -> None:
    """Put a claimed alert back for the next run straight away (not after the stale-claim wait)."""
    try:
        with unit_of_work(session):
            alert = session.get(Alert, alert_id)
            if alert is not None:
                outbox.mark_failed(alert, f"{type(error).__name__}: {error}")
    except Exception:  # noqa: BLE001, S110 - the claim goes stale and is retried after outbox.STALE_CLAIM
        pass


def _send_one(session: Session, alert: Alert, context: Context, now: datetime, result: Result) -> None:
    visit = session.get(Visit, alert.visit_id)
    assert visit is not None
    if not safety.still_needed(alert.key, alert.raised_by, visit):
        alert.status = "stopped"
        result.stopped += 1
        audit(session, visit, SYSTEM, "alert_stopped", now, comment=f"{alert.key}: no longer needed")
        return
    to = recipients(alert, visit, context)
    if not to and all(kind.startswith("webhook:") for kind in alert.notify):  # only channels: they carry it
        outbox.mark_sent(alert, now)
        return
    email = _alert(alert, visit, context, now)
    headers = {"X-Home-Visit-Id": str(visit.id), "X-Home-Visits-Alert": alert.key}
    try:
        if not to:
            raise MailError("no email address for " + ", ".join(alert.notify))
        context.mailer(to, email.subject, email.text, html=email.html, headers=headers)
    except MailError as error:
        outbox.mark_failed(alert, error)
        result.failed += 1
        channels.note_health(session, "email", now, error=str(error))
        audit(session, visit, SYSTEM, "alert_failed", now,
                       comment=f"{alert.key}, attempt {alert.attempts}: {alert.last_error}")
    else:
        outbox.mark_sent(alert, now)
        result.sent += 1
        result.by_channel["email"] += 1
        channels.note_health(session, "email", now)
        audit(session, visit, SYSTEM, "alert_sent", now, comment=f"{alert.key} to {', '.join(to)}")


def alert_email(alert: Alert, visit: Visit, context: Context, now: datetime) -> tuple[str, str]:
    """Subject and plain text of an alert (``emails/alert``, or ``emails/incident`` for a record's incident)."""
    email = _alert(alert, visit, context, now)
    return email.subject, email.text


def _alert(alert: Alert, visit: Visit, context: Context, now: datetime) -> Email:
    """The alert from its templates: who is out, where, since when, what to do. No pupil name."""
    school, find = context.school_of(visit), context.directory.find
    policy = school.policy
    zone = policy.zone
    lead = find(visit.lead_id)
    who = lead.name if lead else visit.lead_id
    address = address_line(visit.address, visit.postcode)
    if alert.key == "incident":
        day = visit.starts_at.astimezone(zone).strftime("%d %b %Y") if visit.starts_at else "?"
        return render(context, "incident", school=school, visit=visit, who=who, day=day, address=address,
                      link=context.link(visit.id))
    raiser = find(alert.raised_by) if alert.raised_by else None

    def hour(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%H:%M") if moment else "?"

    # The words people read count from the expected return; the escalation counts from the end of the grace.
    overdue = words.minutes_past_return(visit.expected_return, now) if safety.is_overdue(visit, policy, now) else 0
    return render(
        context, "alert", school=school, visit=visit, kind=_kind(alert), who=who, lead=lead, address=address,
        second=find(visit.second_staff_id) if visit.second_staff_id else None,
        contact=find(visit.contact_id) if visit.contact_id else None,
        raiser=raiser.name if raiser else alert.raised_by, taps=alert.taps,
        incident_kind=INCIDENT_KINDS.get(alert.detail, alert.detail or "an incident"),
        start=hour(visit.starts_at), back=hour(visit.expected_return), never_out=visit.checked_out_at is None,
        checked_out=hour(visit.checked_out_at) if visit.checked_out_at else "", minutes_overdue=overdue,
        step_number=int(alert.key[5:]) + 1 if alert.key.startswith("tier-") else 0,
        tiers=len(policy.escalation.tiers), procedure=policy.escalation.procedure, link=context.link(visit.id),
    )


def alert_facts(alert: Alert, visit: Visit, context: Context, now: datetime) -> dict[str, Any]:
    """What a webhook channel is told about an alert: the email's headline and facts, no pupil name."""
    school, find = context.school_of(visit), context.directory.find
    policy = school.policy
    zone = policy.zone
    staff = [person for person in (find(visit.lead_id), find(visit.second_staff_id) if visit.second_staff_id
                                   else None) if person is not None]
    since = safety.overdue_from(visit, policy) if safety.is_overdue(visit, policy, now) else None
    first = policy.escalation.procedure[0]

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%H:%M on %d %b") if moment else ""

    return {
        "type": "home_visits.alert", "test": False, "headline": _alert(alert, visit, context, now).subject,
        "alert": alert.key, "step": words.alert_name(alert.key, alert.notify), "visit_id": visit.id,
        "school": school.name, "staff": [{"name": person.name, "phone": person.phone or ""} for person in staff],
        "expected_back": visit.expected_return.isoformat() if visit.expected_return else None,
        "expected_back_local": local(visit.expected_return),
        "overdue_since": since.isoformat() if since else None, "overdue_since_local": local(since),
        "checked_out": visit.checked_out_at is not None, "first_step": f"{first.title}: {first.text}",
        "link": context.link(visit.id),
    }


def _kind(alert: Alert) -> str:
    """Which alert it is, as the templates tell them apart."""
    if alert.key.startswith("incident-"):
        return "incident_now"
    if alert.raised_by:
        return "manual"
    return {safety.END_OF_DAY: "end_of_day", safety.NOT_CHECKED_OUT: "not_checked_out"}.get(alert.key, "overdue")


def record_run(session: Session, name: str, now: datetime, summary: str) -> None:
    """Note that a scheduled command ran (an upsert, safe when two run together); the caller commits."""
    statement = outbox.dialect_insert(session)(JobRun).values(name=name, last_run_at=now, summary=summary[:200])
    statement = statement.on_conflict_do_update(
        index_elements=["name"], set_={"last_run_at": now, "summary": summary[:200]}
    )
    session.execute(statement)


def sweep(session: Session, context: Context, now: datetime) -> Result:
    """One run of the escalation job."""
    result = Result()
    raise_due(session, context, now, result)
    result.add(deliver(session, context, now))
    with unit_of_work(session):
        record_run(session, "escalate", now, str(result))
    return result
