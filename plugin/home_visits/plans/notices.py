"""Emails about plans: submitted, decided, sent back, reminders and the office's morning digest.

No Flask here. Each notice is composed when queued and stored with a unique key (queueing never commits:
the view or the command that queues does), then sent by :func:`home_visits.mail.notices.deliver` (straight
away, and again by the escalation sweep until it goes). Pupils appear by initials only. People who turned
plan emails off are left out; safety alerts never come here.

In a trust every email about a visit follows the visit's school: its policy, its approvers (trust-wide
ones included), its short name before the subject. Each school's office gets a digest of its own school;
someone who is the office at several schools gets one covering them, grouped by school.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import SYSTEM, audit
from ..clock import at_school
from ..mail.context import Context, render, render_part
from ..mail.notices import queue, wanting
from ..models import NoticeMention, Visit
from ..people import Person
from ..schools import School
from . import workflow
from .parts import PARTS
from .rules import AGREED_WORDS, reason_words


def _visiting(visit: Visit, context: Context) -> list[Person]:
    """The lead and the second member of staff, as far as the directory still knows them."""
    find = context.directory.find
    return [p for p in (find(visit.lead_id), find(visit.second_staff_id or "")) if p]


def facts(visit: Visit, context: Context) -> dict[str, Any]:
    """What every plan email says about the plan (``emails/_plan_facts.txt``), its school (which names
    itself in the subject when there are several) and the link to it."""
    school = context.school_of(visit)
    policy = school.policy
    zone = policy.zone
    staff = [p.name for p in _visiting(visit, context)]
    risks = [item.title for item in policy.risk_factors if item.id in visit.risk_factors]
    start = visit.starts_at.astimezone(zone).strftime("%A %d %B %Y, %H:%M") if visit.starts_at else "no date yet"
    back = visit.expected_return.astimezone(zone).strftime("%H:%M") if visit.expected_return else "?"
    ticked = sum(item.id in visit.checklist for item in policy.guidance.before.items)
    # One line per part of the plan, in the parts' order (plans/parts.py): the pupil by initials only.
    said = {"pupil": ("Pupil", visit.pupil_initials), "why": ("Reason", reason_words(policy, visit.reason,
                                                                                     visit.reason_other)),
            "when": ("When", f"{start} to {back}"), "who": ("Staff", " + ".join(staff) if staff else visit.lead_id),
            "family": ("Family agreed", AGREED_WORDS.get(visit.family_agreed, "not said")),
            "risk": ("Risk flags", "; ".join(risks) if risks else "none ticked"),
            "before": ("Checklist", f"{ticked} of {len(policy.guidance.before.items)} ticked")}
    return {
        "school": school,
        "visit": visit,
        "facts": [said[part.id] for part in PARTS if part.id in said],
        "start": start,
        "back": back,
        "reason": reason_words(policy, visit.reason, visit.reason_other),
        "staff": " + ".join(staff) if staff else visit.lead_id,
        "risks": "; ".join(risks) if risks else "none ticked",
        "day": visit.starts_at.astimezone(zone).strftime("%a %d %b") if visit.starts_at else "undated",
        "link": context.link(visit.id),
    }


def asked(visit: Visit, context: Context) -> list[Person]:
    """Who is asked to decide a plan: the approvers its routes in its school's policy name, else every
    approver at its school (trust-wide approvers included).

    Never someone on the visit; when none of the named approvers can decide (gone from the staff list,
    or on this visit themselves), every approver is asked, so a plan is never left with nobody to ask.
    """
    school = context.school_of(visit)
    policy = school.policy
    able = [p for p in context.staff()
            if workflow.can_authorise(visit, context.at(p, school), policy.rules.authorisers)]
    routes = policy.routes_for(visit.reason, visit.risk_factors)
    named = {i for route in routes for i in route.approvers}
    roles = [route.role for route in routes if route.role]
    return [p for p in able if p.id in named or (roles and context.at(p, school).has(*roles))] or able


def plan_submitted(session: Session, visit: Visit, context: Context, now: datetime) -> int | None:
    """To the approvers asked to decide it: a plan is waiting for them."""
    return queue(session, key=f"submitted-{visit.id}-{visit.sequence}", visit=visit,
                 to=wanting(session, asked(visit, context)),
                 email=render(context, "plan_submitted", **facts(visit, context)), now=now)


def plan_decided(session: Session, visit: Visit, context: Context, now: datetime) -> int | None:
    """To the lead and the second member of staff: authorised, sent back for changes or declined, with the reason."""
    word = {workflow.AUTHORISED: "authorised", workflow.CHANGES_REQUESTED: "sent back for changes"}.get(
        visit.state, "declined")
    decider = context.directory.find(visit.authorised_by or "") if word == "authorised" else None
    email = render(context, "plan_decided", word=word, decider=decider, **facts(visit, context))
    return queue(session, key=f"{visit.state}-{visit.id}-{visit.sequence}", visit=visit,
                 to=wanting(session, _visiting(visit, context)), email=email, now=now)


def plan_sent_back(session: Session, visit: Visit, context: Context, now: datetime, approver_id: str) -> int | None:
    """To the approver who authorised it: the time, address or staff changed, so it needs deciding again."""
    return queue(session, key=f"sent-back-{visit.id}-{visit.sequence}", visit=visit,
                 to=wanting(session, [context.directory.find(approver_id)]),
                 email=render(context, "plan_sent_back", **facts(visit, context)), now=now)


def school_days_ahead(day: date, count: int) -> date:
    """The date ``count`` school days (Monday to Friday) after ``day``."""
    while count > 0:
        day += timedelta(days=1)
        count -= day.weekday() < 5
    return day


def reminders(session: Session, context: Context, now: datetime) -> int:
    """Queue one reminder per undecided plan per day, for plans starting within their school's window."""
    schools = context.all_schools
    until = {school.id: _reminders_until(school, now) for school in schools}
    waiting = session.scalars(select(Visit).where(
        Visit.state == workflow.SUBMITTED, Visit.starts_at >= now, Visit.starts_at < max(until.values()),
    ).order_by(Visit.starts_at)).all()
    queued = 0
    for visit in waiting:
        try:
            school = context.school_of(visit)
        except KeyError:
            continue  # a school the portal no longer lists has nobody to remind
        if visit.starts_at >= until[school.id]:
            continue
        today = now.astimezone(school.policy.zone).date()
        queued += queue(session, key=f"remind-{visit.id}-{today.isoformat()}", visit=visit,
                        to=wanting(session, asked(visit, context)),
                        email=render(context, "reminder", **facts(visit, context)), now=now) is not None
    return queued


def _reminders_until(school: School, now: datetime) -> datetime:
    """The end of the school's reminder window: plans starting before it are reminded of today."""
    zone = school.policy.zone
    today = now.astimezone(zone).date()
    return at_school(school_days_ahead(today, school.policy.rules.reminder_window_days) + timedelta(days=1),
                     time(0), zone)


def digest(session: Session, context: Context, now: datetime) -> int:
    """Queue the office's morning list of today's visits, once a day, only when there are visits; how
    many digests were queued. In a trust each school's office hears of its school only; someone who is
    the office at several schools gets one digest covering them, grouped by school."""
    schools = context.all_schools
    if not schools.trust:
        office = [p for p in context.staff() if p.has("office")]
        return _digest(session, context, now, [schools.first], wanting(session, office), "digest", set())
    readers: dict[str, list[str]] = {}  # each address's schools
    for school in schools:
        for address in [*wanting(session, [p for p in context.staff()
                                           if context.at(p, school).has("office")]),
                        *([school.office_email] if school.office_email else [])]:
            readers.setdefault(address, [])
            if school.id not in readers[address]:
                readers[address].append(school.id)
    groups: dict[tuple[str, ...], list[str]] = {}
    for address, ids in readers.items():
        groups.setdefault(tuple(ids), []).append(address)
    seen: set[int] = set()
    return sum(_digest(session, context, now, [schools.of(i) for i in ids], to, _digest_key(ids), seen)
               for ids, to in groups.items())


def _digest_key(ids: Sequence[str]) -> str:
    """The notice key of a digest of these schools (kept short: a trust may have many)."""
    joined = "+".join(ids)
    return "digest-" + (joined if len(joined) <= 80 else hashlib.sha256(joined.encode()).hexdigest()[:32])


def _digest(session: Session, context: Context, now: datetime, schools: list[School], to: list[str], key: str,
            seen: set[int]) -> int:
    """Queue one digest of today's visits at ``schools`` to ``to``, keyed ``<key>-<date>``; 1 if queued.
    A visit's history notes it once however many digests list it (``seen``: those noted this run)."""
    find, trust = context.directory.find, context.all_schools.trust
    sections: list[tuple[School, list[Visit], dict[int, str]]] = []
    for school in schools:
        zone = school.policy.zone
        start = at_school(now.astimezone(zone).date(), time(0), zone)
        query = select(Visit).where(
            Visit.starts_at >= start, Visit.starts_at < start + timedelta(days=1),
            Visit.state.in_([workflow.AUTHORISED, workflow.SUBMITTED, workflow.CHECKED_OUT]),
        ).order_by(Visit.starts_at)
        visits = session.scalars(query.where(Visit.school_id == school.id) if trust else query).all()
        about: dict[int, str] = {}
        for visit in visits:
            contact = find(visit.contact_id or "")
            about[visit.id] = render_part(
                context, "_digest_visit", visit=visit, staff=" + ".join(p.name for p in _visiting(visit, context)),
                start=f"{visit.starts_at.astimezone(zone):%H:%M}",
                back=f"{visit.expected_return.astimezone(zone):%H:%M}",
                not_authorised=visit.state == workflow.SUBMITTED, address=" ".join(visit.address.split()),
                contact=contact, link=context.link(visit.id))
        if visits:
            sections.append((school, list(visits), about))
    if not sections or not to:
        return 0
    today = now.astimezone(schools[0].policy.zone).date()
    lines = [text for _school, _visits, about in sections for text in about.values()]
    grouped = [(context.school_name(school), list(about.values())) for school, _visits, about in sections]
    email = render(context, "digest", school=schools[0] if len(schools) == 1 else None,
                   today=f"{today:%A %d %B %Y}", visits=lines, groups=grouped if len(schools) > 1 else [])
    notice = queue(session, key=f"{key}-{today.isoformat()}", visit=None, to=to, email=email, now=now)
    if notice is None:
        return 0
    for _school, visits, about in sections:
        for visit in visits:
            # The digest is purged with the visits it names, and each pupil's export holds its lines.
            session.add(NoticeMention(notice_id=notice, visit_id=visit.id, text=about[visit.id]))
            if visit.id not in seen:
                audit(session, visit, SYSTEM, "in_digest", now, comment="Listed in the office's morning digest")
                seen.add(visit.id)
    return 1
