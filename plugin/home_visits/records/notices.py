"""The email a submitted record sends about safeguarding: to the school's designated safeguarding lead
(its ``dsl`` people, trust-wide ones included; its approvers, the headteacher, where it names none).

It says which visit and who wrote it, with a link to the record: never the record's words, and the pupil
by initials only. Queued with a unique key, once per record (a correction sends nothing); the view that
submits commits it and tries to send it at once, and the escalation sweep retries it until it goes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..mail.context import Context, render
from ..mail.notices import queue
from ..models import Visit
from ..people import Person
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
