"""Calendar invitations by email (iMIP, RFC 6047): each authorised visit straight into the calendars of
its school's approvers and office, for those who would otherwise wait hours for a subscribed feed.

One VEVENT, built by the feed's own code (:func:`.ical.event_component`: the same UID, title, location,
description and VTIMEZONE), plus ORGANIZER (the portal's sender) and the person as ATTENDEE with
RSVP=FALSE: a message to update a calendar, not a meeting to answer. A visit authorised (again, after a
change) sends METHOD:REQUEST at its SEQUENCE; one cancelled, declined or sent back for changes after an
invitation went sends METHOD:CANCEL (STATUS:CANCELLED) to whoever had it. Each is a notice in the mail
outbox (retried, audited on the visit). No Flask here; never commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from icalendar import Calendar, vCalAddress, vText
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..mail.context import Context, render
from ..mail.notices import queue
from ..models import Notice, Preference, Visit
from ..people import Person
from ..plans import workflow
from ..plans.notices import facts
from .ical import PRODID, Detail, FeedEvent, Keyed, add_zone, check, event_component
from .service import feed_event

REQUEST, CANCEL = "REQUEST", "CANCEL"
#: States that call off an invitation already sent.
CALLED_OFF = frozenset({workflow.CANCELLED, workflow.DECLINED, workflow.CHANGES_REQUESTED})


def invitation(event: FeedEvent, *, method: str, organizer: str, attendee: Person, timezone: str, domain: str,
               detail: Detail) -> str:
    """The iMIP body: a VCALENDAR with METHOD, the VTIMEZONE and one VEVENT (CANCEL: STATUS:CANCELLED)."""
    check(event)
    cal = Calendar()
    for prop, value in (("prodid", PRODID), ("version", "2.0"), ("calscale", "GREGORIAN"), ("method", method)):
        cal.add(prop, value)
    tz = add_zone(cal, timezone, [Keyed(event.starts_at, event.visit_id, event.ends_at, None, event)])
    vevent = event_component(event, tz=tz, timezone=timezone, domain=domain, detail=detail)
    if method == CANCEL:
        vevent["status"] = vText("CANCELLED")
    sender = vCalAddress(f"mailto:{organizer}")
    sender.params["CN"] = vText("Home visits")
    vevent.add("organizer", sender)
    person = vCalAddress(f"mailto:{attendee.email}")
    person.params.update({"CN": vText(attendee.name), "ROLE": "OPT-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION",
                          "RSVP": "FALSE"})
    vevent.add("attendee", person)
    cal.add_component(vevent)
    return cal.to_ical(sorted=False).decode()


def wants(session: Session, people: list[Person], default: bool) -> list[Person]:
    """Those of ``people`` with an address who take invitations (their own choice, else ``default``)."""
    people = [p for p in people if p.email]
    chosen = dict(session.execute(select(Preference.person_id, Preference.invitations).where(
        Preference.person_id.in_([p.id for p in people]), Preference.invitations.is_not(None))).all())
    return [p for p in people if chosen.get(p.id, default)]


def readers(visit: Visit, context: Context) -> list[Person]:
    """The approvers and the office of the visit's school (trust-wide ones included), once each."""
    school = context.school_of(visit)
    office = [p for p in context.staff() if context.at(p, school).has("office")]
    return list({p.id: p for p in [*context.authorisers(school), *office]}.values())


def _key(visit: Visit, method: str, person: Person) -> str:
    who = hashlib.sha256(person.id.encode()).hexdigest()[:16]
    return f"invite-{visit.id}-{visit.sequence}-{method[0]}-{who}"


def queue_invitations(session: Session, visit: Visit, context: Context, *, config: Mapping[str, Any],
                      link: Callable[[int], str], now: datetime) -> int:
    """Queue the invitations the visit's state calls for (none twice); how many were queued."""
    if visit.state == workflow.AUTHORISED:
        method, people = REQUEST, wants(session, readers(visit, context), bool(config["HOME_VISITS_CALENDAR_INVITES"]))
    elif visit.state in CALLED_OFF:
        # Whoever was sent the visit is told it is off, even someone who has turned invitations off since.
        invited = set(session.scalars(select(Notice.key).where(Notice.key.like(f"invite-{visit.id}-%-R-%"))))
        method = CANCEL
        people = [p for p in readers(visit, context) if p.email
                  and any(key.endswith(_key(visit, REQUEST, p)[-16:]) for key in invited)]
    else:
        return 0
    if not people:
        return 0
    school = context.school_of(visit)
    event = feed_event(visit, policy=school.policy, directory=context.directory, link=link, now=now,
                       school=school.short if len(context.all_schools) > 1 else "")
    email = render(context, "invitation", cancel=method == CANCEL,
                   word=workflow.LABELS[visit.state].lower(), **facts(visit, context))
    queued = 0
    for person in people:
        body = invitation(event, method=method, organizer=config["HOME_VISITS_MAIL_FROM"], attendee=person,
                          timezone=school.policy.school.timezone, domain=config["HOME_VISITS_DOMAIN"],
                          detail=config["HOME_VISITS_FEED_DETAIL"])
        queued += queue(session, key=_key(visit, method, person), visit=visit, to=[person.email], email=email,
                        now=now, calendar=body) is not None
    return queued
