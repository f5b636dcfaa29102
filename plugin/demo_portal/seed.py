"""The demo's visits, placed around the moment it starts, at every school, whatever the hour.

On a fresh database (first start, or ``flask --app demo_portal demo reset``) each school gets, in its own time
zone: two staff out now; two overdue from an earlier visit, with an alarm raised and so not checked out for
their next one either; a visit later in office hours; plans awaiting authorisation (one routed to the
safeguarding lead), one sent back, one declined, one cancelled, a draft; visits tomorrow and next week; and
past visits over the last weeks on school days in office hours, closed off with submitted records (facts and
opinions, actions open and done, a correction, a concern raised) and one still to be written. At Exampleton
Primary, Sam's next visit starts within the hour, so its check-out is open now.

Everything goes through the plugin's own services with the moment each step happened, so every visit has
its real history and each plan passed its school's policy rules when it was submitted. Visits around "now"
that fall outside office hours (the demo was started in the evening, at night or at a weekend) are welfare
checks, with two staff and the headteacher as the contact, and their alerts follow the out-of-hours routing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from home_visits.changes import touch
from home_visits.clock import at_school
from home_visits.extension import State, state
from home_visits.mail.context import Context, mail_context
from home_visits.models import Base, Visit
from home_visits.people import Person
from home_visits.plans import notices
from home_visits.plans import service as plans
from home_visits.plans.rules import Plan, check_out_opens
from home_visits.records import service as records
from home_visits.records.rules import Action, RecordData
from home_visits.safety import rules as safety
from home_visits.safety import service as escalation
from home_visits.web.links import visit_link

from . import scenes
from .scenes import Cast

#: How long each seeded visit is planned to last.
HOUR = timedelta(hours=1)


def school_day(day: date, count: int) -> date:
    """The school day (Monday to Friday) ``count`` school days after ``day`` (before it, when negative)."""
    step = timedelta(days=1 if count > 0 else -1)
    for _ in range(abs(count)):
        day += step
        while day.weekday() >= 5:
            day += step
    return day


def five(moment: datetime, *, up: bool = False) -> datetime:
    """``moment`` on a five-minute mark (down, or ``up``), as times in a plan are written."""
    moment = moment.replace(second=0, microsecond=0)
    down = moment - timedelta(minutes=moment.minute % 5)
    return down + timedelta(minutes=5) if up and down != moment else down


def seed_demo_visits(app: Flask, users: dict[str, Any]) -> int:
    """Seed every school of an empty database around ``state(app).clock()``; how many visits (0: not empty)."""
    st = state(app)
    with app.app_context(), st.sessions() as session:
        if session.scalar(select(func.count()).select_from(Visit)):
            return 0
        now = st.clock()
        context = mail_context(app.config, directory=st.directory, link=visit_link,
                               templates=app.jinja_env.get_template, schools=st.schools)
        made = sum(SchoolSeed(session, st, users, context, cast, now).seed()
                   for cast in scenes.CASTS if cast.school in st.schools.ids)
        touch(session, now)
        session.commit()
    return made


def reset_demo(app: Flask, users: dict[str, Any]) -> int:
    """Empty every table of the plugin (the migrations' record stays) and seed again around now."""
    st = state(app)
    with st.sessions() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
        session.commit()
    return seed_demo_visits(app, users)


class SchoolSeed:
    """One school's visits around ``now``, in its zone and office hours."""

    def __init__(self, session: Session, st: State, users: dict[str, Any], context: Context, cast: Cast,
                 now: datetime) -> None:
        self.session, self.context, self.cast, self.now = session, context, cast, now
        self.school = cast.school
        self.policy = st.policy_for(cast.school)
        self.zone = self.policy.zone
        self.grace = timedelta(minutes=self.policy.rules.grace_minutes)
        self.today = now.astimezone(self.zone).date()
        self._person: Callable[[str], Person] = lambda name: st.directory.person(users[name]).at(cast.school)
        self.families = scenes.FAMILIES[cast.school]
        self.made = 0

    # ------------------------------------------------------------------ when

    def at(self, day: date, hhmm: str) -> datetime:
        return at_school(day, time.fromisoformat(hhmm), self.zone).astimezone(timezone.utc)

    def in_hours(self, moment: datetime) -> bool:
        return moment.astimezone(self.zone).weekday() < 5 and safety.office_open(moment, self.policy)

    def later_today(self) -> datetime:
        """The first start at least two hours from now that the office covers today (with a quarter of an
        hour to spare before it closes), else the next school day's 09:30."""
        start = max(five(self.now + 2 * HOUR, up=True), self.at(self.today, "09:30"))
        closes = self.at(self.today, self.policy.escalation.office_closes.strftime("%H:%M"))
        if self.today.weekday() < 5 and start + HOUR <= closes - timedelta(minutes=15):
            return start
        return self.at(school_day(self.today, 1), "09:30")

    # ------------------------------------------------------------------ the plugin's services

    def plan(self, family: int, purpose: str, *, lead: str, second: str, starts: datetime | None,
             **extra: Any) -> tuple[Person, Plan]:
        pupil, address, postcode = self.families[family]
        reason, words = scenes.PURPOSES["welfare" if starts and not self.in_hours(starts) else purpose]
        contact = self.cast.office
        if starts is not None and not self.in_hours(starts):  # someone who answers out of hours, not on the visit
            contact = self.cast.head if self.cast.head not in (lead, second) else "dana"
        alternatives = self.policy.alternatives
        plan = Plan(
            pupil=pupil, address=address, postcode=postcode, reason=reason, purpose=words, starts_at=starts,
            expected_return=starts + HOUR if starts else None, second_staff_id=self._person(second).id,
            contact_id=self._person(contact).id, contact_phone=self._person(contact).phone, family_agreed="yes",
            appointment="phone", travel="walking" if family % 2 else "car",
            checklist=[item.id for item in self.policy.guidance.before.items],
            alternatives=[alternatives[family % len(alternatives)].id], **extra)
        return self._person(lead), plan

    def submitted(self, family: int, purpose: str, *, lead: str, second: str, starts: datetime, planned: datetime,
                  tell: bool = False, **extra: Any) -> Visit:
        """A plan started at ``planned`` and submitted a few minutes later (it passed the school's rules then);
        ``tell``: the approvers' email is queued, for the sweep to send."""
        person, plan = self.plan(family, purpose, lead=lead, second=second, starts=starts, **extra)
        visit = plans.create_visit(self.session, plan, actor=person, now=planned, school=self.school)
        self.session.flush()
        sent = planned + timedelta(minutes=12)
        problems = plans.submit(self.session, visit, actor=person, policy=self.policy, now=sent)
        if problems:
            raise RuntimeError(f"a demo plan at {self.school} breaks its policy: {problems}")
        if tell:
            notices.plan_submitted(self.session, visit, self.context, sent)
        self.made += 1
        return visit

    def decide(self, visit: Visit, action: str, at: datetime, *, by: str | None = None, comment: str = "") -> None:
        """``action`` by ``by``, else by the headteacher (the trust's safeguarding lead when the head is on it)."""
        visiting = (visit.lead_id, visit.second_staff_id)
        decider = by or (self.cast.head if self._person(self.cast.head).id not in visiting else "dana")
        plans.decide(self.session, visit, action, actor=self._person(decider), policy=self.policy, now=at,
                     comment=comment)

    def authorised(self, family: int, purpose: str, *, lead: str, second: str, starts: datetime) -> Visit:
        """Planned two days before it starts (never later than an hour ago), authorised three hours after."""
        planned = min(starts - timedelta(days=2), self.now - timedelta(days=1))
        visit = self.submitted(family, purpose, lead=lead, second=second, starts=starts, planned=planned)
        self.decide(visit, "authorise", min(planned + 3 * HOUR, self.now - HOUR))
        return visit

    def check_out(self, visit: Visit, *, minutes_early: int) -> datetime:
        """The lead checks out a few minutes before the start (never before the check-out opens that day)."""
        assert visit.starts_at is not None
        opens = check_out_opens(visit, self.policy)
        assert opens is not None
        moment = max(visit.starts_at - timedelta(minutes=minutes_early), opens)
        plans.decide(self.session, visit, "check_out", actor=self.lead(visit), policy=self.policy, now=moment)
        return moment

    def lead(self, visit: Visit) -> Person:
        return self._person(visit.lead_id)

    # ------------------------------------------------------------------ the day's story

    def seed(self) -> int:
        self.past()
        self.around_now()
        self.coming_up()
        return self.made

    def around_now(self) -> None:
        cast, now, grace = self.cast, self.now, self.grace
        out = self.authorised(0, "absence", lead=cast.out[0], second=cast.out[1],
                              starts=five(now - timedelta(minutes=30)))
        self.check_out(out, minutes_early=3)
        # Overdue from their last visit: back was due ten minutes before the grace ran out...
        back = five(now - grace - timedelta(minutes=10))
        late = self.authorised(1, "lateness", lead=cast.overdue[0], second=cast.overdue[1], starts=back - HOUR)
        self.check_out(late, minutes_early=2)
        escalation.raise_alarm(self.session, late, actor=self._person(cast.overdue[1]), policy=self.policy,
                               now=now - timedelta(minutes=4))
        # ...so they have not checked out for the next one, due to start just past its grace.
        self.authorised(2, "contact", lead=cast.overdue[0], second=cast.overdue[1],
                        starts=five(now - grace - timedelta(minutes=5)))
        if cast.soon:
            self.authorised(3, "progress", lead=cast.soon[0], second=cast.soon[1],
                            starts=five(now + timedelta(minutes=40), up=True))

    def pairs(self) -> list[tuple[str, str]]:
        """Lead and second for the eight visits to come, in turn, among staff not overdue anywhere now."""
        overdue = {name for cast in scenes.CASTS for name in cast.overdue}
        free = [name for name in self.cast.staff if name not in overdue]
        return [(free[i % len(free)], free[(i + 1) % len(free)]) for i in range(8)]

    def coming_up(self) -> None:
        pairs, today, now = self.pairs(), self.today, self.now
        self.authorised(4, "invite", lead=pairs[0][0], second=pairs[0][1], starts=self.later_today())
        self.submitted(5, "lateness", lead=pairs[1][0], second=pairs[1][1], tell=True,
                       starts=self.at(school_day(today, 1), "13:30"), planned=now - 3 * HOUR)
        next_week = school_day(today + timedelta(days=6), 1)
        self.submitted(6, "distress", lead=pairs[2][0], second=pairs[2][1], tell=True,
                       starts=self.at(next_week, "10:30"), planned=now - timedelta(minutes=50),
                       risk_factors=["risk-child-protection"], risk_notes=scenes.RISK_NOTES)
        sent_back = self.submitted(7, "support", lead=pairs[3][0], second=pairs[3][1],
                                   starts=self.at(school_day(today, 3), "11:15"), planned=now - timedelta(days=1))
        self.decide(sent_back, "request_changes", now - 5 * HOUR, comment=scenes.SENT_BACK)
        notices.plan_decided(self.session, sent_back, self.context, now - 5 * HOUR)
        declined = self.submitted(3, "progress", lead=pairs[4][0], second=pairs[4][1],
                                  starts=self.at(school_day(today, 4), "14:00"), planned=now - timedelta(days=2))
        self.decide(declined, "decline", now - timedelta(days=1, hours=2), comment=scenes.DECLINED)
        cancelled = self.authorised(5, "contact", lead=pairs[5][0], second=pairs[5][1],
                                    starts=self.at(school_day(today, 2), "09:30"))
        self.decide(cancelled, "cancel", now - 2 * HOUR, by=cancelled.lead_id, comment=scenes.CANCELLED)
        self.authorised(0, "absence", lead=pairs[6][0], second=pairs[6][1],
                        starts=self.at(school_day(next_week, 1), "13:30"))
        pupil, address, postcode = self.families[2]
        draft = Plan(pupil=pupil, address=address, postcode=postcode, reason=scenes.PURPOSES["contact"][0],
                     purpose=scenes.DRAFT_PURPOSE)
        plans.create_visit(self.session, draft, actor=self._person(pairs[7][0]), now=now - timedelta(minutes=20),
                           school=self.school)
        self.made += 1

    def past(self) -> None:
        """Visits of the last weeks, each closed off and recorded an hour after; one from the last school day
        is closed off with its record still to write."""
        staff = self.cast.staff
        story = [(2, "10:00", 0, "absence", "inside"), (6, "13:30", 1, "lateness", "doorstep"),
                 (11, "09:45", 2, "contact", "no_answer"), (18, "14:00", 3, "distress", "concern")]
        for number, (days_ago, hhmm, family, purpose, kind) in enumerate(story):
            lead, second = staff[number % len(staff)], staff[(number + 1) % len(staff)]
            visit = self.visited(family, purpose, lead, second, self.at(school_day(self.today, -days_ago), hhmm))
            self.write_record(visit, kind, done=kind in ("doorstep", "no_answer"), correct=kind == "concern")
        self.visited(4, "invite", staff[-1], staff[0], self.at(school_day(self.today, -1), "11:15"))

    def visited(self, family: int, purpose: str, lead: str, second: str, starts: datetime) -> Visit:
        """Planned five days before, authorised that afternoon, checked out and closed off on the day."""
        planned = starts - timedelta(days=5, hours=1)
        visit = self.submitted(family, purpose, lead=lead, second=second, starts=starts, planned=planned)
        self.decide(visit, "authorise", planned + 4 * HOUR)
        self.check_out(visit, minutes_early=4)
        plans.decide(self.session, visit, "check_in", actor=self.lead(visit), policy=self.policy,
                     now=starts + HOUR - timedelta(minutes=8))
        return visit

    def write_record(self, visit: Visit, kind: str, *, done: bool, correct: bool) -> None:
        assert visit.starts_at is not None and visit.expected_return is not None
        lead = self.lead(visit)
        fields = scenes.record(kind, pupil=visit.pupil, lead=lead.name, visit_day=visit.starts_at.date())
        actions = [Action(what, owner, due) for what, owner, due in fields.pop("actions")]
        if fields["outcome"] != "no_answer":
            fields.update(started_at=visit.starts_at + timedelta(minutes=2),
                          ended_at=visit.expected_return - timedelta(minutes=12))
        written = visit.expected_return + timedelta(minutes=40)
        record = records.save(self.session, visit, RecordData(**fields, actions=actions), actor=lead,
                              now=written - timedelta(minutes=10), version=None)
        self.session.flush()
        problems = records.submit(self.session, visit, record, actor=lead, policy=self.policy, now=written)
        if problems:
            raise RuntimeError(f"a demo record at {self.school} is incomplete: {problems}")
        later = min(written + timedelta(days=2), self.now - timedelta(minutes=10))
        if done:
            records.mark_done(self.session, record.actions[0], visit, actor=lead, now=later)
        if correct:
            field, text, reason = scenes.CORRECTION
            records.correct(self.session, visit, record, actor=self._person(self.cast.head), policy=self.policy,
                            now=later, field=field, text=text, reason=reason)
