"""The records' emails: the safeguarding lead's when a submitted record raises a concern (its ``dsl``
people, trust-wide ones included; its approvers, the headteacher, where it names none), and the lead's
reminder to write the record of a visit they are back from.

Each says which visit, with a link: never a record's words, and the pupil by initials only. Queued with a
unique key, once per visit (a correction sends nothing); the view or command that queues commits and
tries to send it at once, and the escalation sweep retries it until it goes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..mail.context import Context, render
from ..mail.notices import queue, wanting
from ..models import Visit
from ..people import Person
from ..plans import workflow
from ..schools import School


def safeguarding_leads(context: Context, school: School) -> list[Person]:
    """Who hears of a safeguarding concern at ``school``: its DSLs, else those who authorise its plans."""
    leads = [p for p in context.staff() if context.at(p, school).has("dsl")]
    return leads or context.authorisers(school)


def concern_to_dsl(session: Session, visit: Visit, context: Context, now: datetime, *, link: str) -> int | None:
    """Queue the email telling the DSL that ``visit``'s record, just submitted, raises a concern."""
    school = context.school_of(visit)
    zone = school.policy.zone
    lead = context.directory.find(visit.lead_id)
    email = render(context, "record_concern", school=school, visit=visit, link=link,
                   lead=lead.name if lead else visit.lead_id, school_name=context.school_name(school),
                   day=visit.starts_at.astimezone(zone).strftime("%a %d %b %Y") if visit.starts_at else "undated")
    to = [p.email for p in safeguarding_leads(context, school) if p.email]
    return queue(session, key=f"record-concern-{visit.id}", visit=visit, to=list(dict.fromkeys(to)), email=email,
                 now=now)


def record_reminders(session: Session, context: Context, now: datetime) -> int:
    """Queue the reminder to write the record, once per visit, to the lead of each visit back safe with no
    record submitted, on the first school morning (Monday to Friday) after the visit's day; how many."""
    queued = 0
    back_safe = select(Visit).where(Visit.state == workflow.RETURNED, Visit.school_id.in_(context.all_schools.ids))
    for visit in session.scalars(back_safe.order_by(Visit.id)):
        school = context.school_of(visit)
        zone = school.policy.zone
        today, day = now.astimezone(zone).date(), (visit.returned_at or visit.expected_return or now).astimezone(zone)
        if today <= day.date() or today.weekday() >= 5:
            continue
        lead = context.directory.find(visit.lead_id)
        email = render(context, "record_reminder", school=school, visit=visit, link=context.link(visit.id),
                       school_name=context.school_name(school), day=day.strftime("%a %d %b"))
        queued += queue(session, key=f"record-reminder-{visit.id}", visit=visit,
                        to=wanting(session, [lead] if lead else []), email=email, now=now) is not None
    return queued
