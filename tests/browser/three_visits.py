"""The browser tests' small fixed scene: three visits at Exampleton Primary (a draft, one awaiting
authorisation, one authorised), all some days ahead, so a test reads one known plan of each kind. The demo's
own seed (``demo_portal.seed``: every school, around now) is what a visitor meets; these tests want fewer."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import Flask

from demo_portal.users import demo_users
from home_visits.extension import state
from home_visits.plans import service as services
from home_visits.plans.rules import Plan


def _at(day: int, hour: int, minute: int, zone: Any) -> datetime:
    base = datetime.now(zone).date() + timedelta(days=day)
    return datetime.combine(base, time(hour, minute), tzinfo=zone)


def seed_three_visits(app: Flask) -> None:
    """Riley Example (authorised), Morgan Sample (awaiting authorisation), Casey Demo (a draft), by Sam."""
    st = state(app)
    users = demo_users()
    school = st.schools.first.id
    policy, person = st.policy_for(school), st.directory.person
    zone = policy.zone
    before = [item.id for item in policy.guidance.before.items]
    with st.sessions() as session:
        sam, jo, alex, office = (person(users[u]) for u in ("sam", "jo", "alex", "office"))
        now = st.clock()
        plans = [
            Plan(pupil="Riley Example", address="12 Larch Close, Exampleton", postcode="EX1 2AB",
                 reason=policy.reasons[0].id, purpose="Talk through the week's absences and agree a plan.",
                 starts_at=_at(2, 9, 30, zone), expected_return=_at(2, 10, 30, zone), second_staff_id=jo.id,
                 contact_id=office.id, contact_phone="01632 960000", family_agreed="yes", appointment="phone",
                 travel="car", checklist=before, alternatives=[policy.alternatives[-1].id]),
            Plan(pupil="Morgan Sample", address="Flat 4, 7 Birch Road, Exampleton", postcode="EX2 3CD",
                 reason=policy.reasons[-1].id, purpose="Share progress and ideas for reading at home.",
                 starts_at=_at(3, 15, 45, zone), expected_return=_at(3, 16, 30, zone), second_staff_id=jo.id,
                 contact_id=office.id, contact_phone="01632 960000", family_agreed="yes", appointment="letter",
                 travel="walking", checklist=before, alternatives=[policy.alternatives[0].id]),
            Plan(pupil="Casey Demo", address="3 Hazel Way, Exampleton", postcode="EX3 4EF",
                 reason=policy.reasons[1].id, purpose="First draft: still arranging a time with the family."),
        ]
        visits = [services.create_visit(session, plan, actor=sam, now=now, school=school) for plan in plans]
        session.flush()
        for visit in visits[:2]:
            problems = services.submit(session, visit, actor=sam, policy=policy, now=now)
            assert not problems, problems
        services.decide(session, visits[0], "authorise", actor=alex, policy=policy, now=now)
        session.commit()
