"""The safety chain in the database: alarms raised from the visit page, extensions, someone taking charge,
and which visits the chain watches. No Flask here; never commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from ..audit import audit
from ..changes import moved
from ..errors import WorkflowError
from ..mail import outbox
from ..models import Alert, JobRun, Visit
from ..people import Person
from ..plans import workflow
from ..policy import Policy
from . import rules as safety

#: A visit the chain never saw go out is watched for this long after its start: long enough to cover a
#: cron that was down overnight, short enough that old plans nobody closed are not read every run.
LOOK_BACK = timedelta(days=2)

#: The kinds of incident staff can report from the visit page, at the moment they happen.
INCIDENT_KINDS = {
    "aggression": "Aggression or threats",
    "injury": "Someone was hurt",
    "accident": "An accident (on the way or at the home)",
    "child_at_risk": "A child at risk",
}


def raise_alert(session: Session, visit_id: int, key: str, notify: Sequence[str], due_at: datetime, *,
                raised_by: str = "", detail: str = "") -> int | None:
    """Create the alert unless it exists already; the new alert's id, None when it existed."""
    return outbox.insert_once(
        session, Alert, unique=["visit_id", "key"], visit_id=visit_id, key=key, notify=list(notify),
        due_at=due_at, status="pending", attempts=0, last_error="", raised_by=raised_by, detail=detail,
    )


def watching(now: datetime, *, schools: Sequence[str] | None = None) -> ColumnElement[bool]:
    """The visits the chain watches at ``now``: out, or authorised, started (recently) and not checked out;
    of ``schools`` only when given (within each branch, so an index on state and school serves each)."""
    starts = Visit.starts_at
    mine = [Visit.school_id.in_(list(schools))] if schools is not None else []
    return or_(
        and_(Visit.state == safety.CHECKED_OUT, *mine),
        and_(Visit.state == safety.AUTHORISED, *mine, starts <= now, starts >= now - LOOK_BACK),
    )


def watched(session: Session, now: datetime) -> list[Visit]:
    """The visits :func:`watching` selects, oldest first."""
    return list(session.scalars(select(Visit).where(watching(now)).order_by(Visit.id)))


#: Who hears at once about an incident, besides the addresses in ``HOME_VISITS_INCIDENT_EMAILS``.
INCIDENT_NOTIFY = ("approvers", "incident_contacts")


#: While an alarm stays open, pressing it again tells its people again at most this often.
TELL_AGAIN_AFTER = timedelta(minutes=5)


@dataclass
class Raised:
    """A press of an alarm: the alert it raised or added to, how many presses it now has, and whether its
    people are to be told now (a new alarm; or a press 5 minutes or more after they were last told)."""

    alert_id: int
    taps: int
    tell: bool


def raise_alarm(session: Session, visit: Visit, *, actor: Person, policy: Policy, now: datetime,
                incident: str = "") -> Raised:
    """Someone who can see the visit raises the alarm from its page (the visiting staff, or whoever they
    phoned): "alert the office now" (the top tier and the office),
    or an incident of kind ``incident`` (the approvers and the incident contacts). It stays open on the
    dashboard until someone says they are handling it; pressed again while open (an incident: of the
    same kind), the press is added to it and its people hear again at most every :data:`TELL_AGAIN_AFTER`."""
    if incident:
        if incident not in INCIDENT_KINDS:
            raise WorkflowError("Choose what kind of incident it is.", status=400)
        if not safety.may_report_incident(visit, policy, now):
            raise WorkflowError("Incidents are reported here while you are out and on the day of the "
                                         "visit; after that, use the visit record. If anyone is in danger, call 999.")
    elif visit.state != safety.CHECKED_OUT:
        raise WorkflowError("Alerts are for a visit that is out. If anyone is in danger, call 999.")
    prefix, notify = ("incident", INCIDENT_NOTIFY) if incident else ("manual", safety.top_tier(policy))
    label = INCIDENT_KINDS[incident] if incident else "Alert the office now"
    earlier = list(session.scalars(select(Alert).where(Alert.visit_id == visit.id, Alert.key.startswith(prefix + "-"))
                                   .order_by(Alert.id)))
    if (open_ := next((a for a in earlier if a.handled_at is None and a.detail == incident), None)) is not None:
        open_.taps += 1
        open_.tapped_at = now
        tell = open_.status == "sent" and (open_.sent_at is None or now - open_.sent_at >= TELL_AGAIN_AFTER)
        if tell:  # the outbox sends it again, saying how many presses
            open_.status = "pending"
        audit(session, visit, actor, "alert_repeated", now, comment=f"{label}: pressed again ({open_.taps} times)")
        return Raised(open_.id, open_.taps, tell)
    alert_id = raise_alert(session, visit.id, f"{prefix}-{len(earlier) + 1}", notify, now, raised_by=actor.id,
                           detail=incident)
    if alert_id is None:  # two taps at the same moment: the first one's alarm stands
        raise WorkflowError("That alarm was raised a moment ago; it is on its way.")
    if incident:
        visit.incident = True
        audit(session, visit, actor, "incident_reported", now, comment=label)
    else:
        audit(session, visit, actor, "alert_raised", now, comment=label)
    return Raised(alert_id, 1, True)


def alert_id(session: Session, visit_id: int, key: str) -> int | None:
    """The id of the visit's alert with ``key`` (``incident``, say), if it was raised."""
    return session.scalar(select(Alert.id).where(Alert.visit_id == visit_id, Alert.key == key))


def reported_incidents(session: Session, visit_id: int) -> list[Alert]:
    """Incidents the staff reported from the visit page as they happened, oldest first."""
    return list(session.scalars(select(Alert).where(Alert.visit_id == visit_id, Alert.key.startswith("incident-"))
                                .order_by(Alert.id)))


#: The longest an extension may reach past the moment it is asked for.
LONGEST_EXTENSION = timedelta(hours=8)


def extend(
    session: Session, visit: Visit, *, actor: Person, policy: Policy, now: datetime, until: datetime, reason: str
) -> None:
    """Move the expected return of a visit that is out; the office sees the reason."""
    if visit.state != workflow.CHECKED_OUT:
        raise WorkflowError("Only a visit that is out can be extended.")
    if not workflow.visiting_or_oversees(visit, actor, policy.rules.authorisers):
        raise WorkflowError("You do not have permission to do that.", status=403)
    if not reason.strip():
        raise WorkflowError("Say why you need longer, so the office knows.", status=400)
    if not now < until <= now + LONGEST_EXTENSION:
        raise WorkflowError("Choose a new return time later than now and within 8 hours.", status=400)
    old = visit.expected_return
    visit.expected_return, visit.extension_reason = until, reason.strip()
    moved(session, visit, now)
    zone = policy.zone
    was = old.astimezone(zone).strftime("%H:%M") if old else "?"
    audit(session, visit, actor, "extended", now, from_state=visit.state, to_state=visit.state,
          comment=f"From {was} to {until.astimezone(zone).strftime('%H:%M')}: {visit.extension_reason}")


def open_alarms(session: Session, visit_ids: list[int] | None = None) -> list[Alert]:
    """Alarms people raised ("alert the office now", incidents) that nobody has said they are handling."""
    query = select(Alert).where(Alert.raised_by != "", Alert.handled_at.is_(None)).order_by(Alert.id)
    if visit_ids is not None:
        query = query.where(Alert.visit_id.in_(visit_ids))
    return list(session.scalars(query))


def acknowledge(session: Session, visit: Visit, *, actor: Person, policy: Policy, now: datetime) -> None:
    """A responder takes charge: of an overdue visit or a missed check-out (no further tiers fire), and
    of every open alarm on the visit (they leave the top of the dashboard). The end-of-day email and the
    alarms already sent are not affected."""
    if not workflow.may_take_charge(visit, actor, policy.rules.authorisers):
        raise WorkflowError("Only the office, senior leaders or the responsible contact can do that.", 403)
    alarms = open_alarms(session, [visit.id])
    late = safety.unhandled_lateness(visit, safety.status(visit, policy, now))
    if not (alarms or late):
        raise WorkflowError("This visit has no open alert to take on.")
    for alarm in alarms:
        alarm.handled_at, alarm.handled_by = now, actor.id
    if late:
        visit.acknowledged_at, visit.acknowledged_by = now, actor.id
    moved(session, visit, now, shown=False)
    audit(session, visit, actor, "acknowledged", now, from_state=visit.state, to_state=visit.state,
          comment="Handling the alert")


@dataclass
class Dashboard:
    """What the office's dashboard shows: visits by safety status (``""``: today's others), those whose
    status cannot be worked out (with why), each watched visit's alerts, the open alarms, the last sweep."""

    groups: dict[str, list[Visit]] = field(default_factory=lambda: {safety.OVERDUE: [], safety.MISSED: [],
                                                                    safety.OUT: [], "": []})
    unreadable: list[tuple[Visit, str]] = field(default_factory=list)
    alerts: dict[int, list[Alert]] = field(default_factory=dict)
    alarms: list[tuple[Alert, Visit]] = field(default_factory=list)
    last_sweep: JobRun | None = None


def dashboard(session: Session, policy: Policy, now: datetime) -> Dashboard:
    """The dashboard of a one-school portal at ``now`` (every visit, under ``policy``): :func:`dashboards`."""
    return dashboards(session, now, {"": policy}, every_school=True)[""]


def _shown(now: datetime, policies: Mapping[str, Policy], *, every_school: bool) -> ColumnElement[bool]:
    """The visits a dashboard lists: watched, or today's (by each school's own day) not yet out; of the
    schools in ``policies`` unless it names ``every_school``."""
    schools = None if every_school else list(policies)
    by_zone: dict[str, list[str]] = {}
    for school, policy in policies.items():
        by_zone.setdefault(policy.school.timezone, []).append(school)
    today = []
    for zoned in by_zone.values():
        start = safety.local_moment(now, time(0), policies[zoned[0]])
        day = Visit.starts_at.between(start, start + timedelta(days=1))
        today.append(day if len(by_zone) == 1 else and_(Visit.school_id.in_(zoned), day))
    later = [Visit.state.in_([workflow.AUTHORISED, workflow.SUBMITTED, workflow.RETURNED]), or_(*today)]
    if schools is not None:
        later.insert(1, Visit.school_id.in_(schools))
    return or_(watching(now, schools=schools), and_(*later))


def _open_alarms(policies: Mapping[str, Policy], *, every_school: bool) -> Select[tuple[Alert, Visit]]:
    alarms = (select(Alert, Visit).join(Visit, Visit.id == Alert.visit_id)
              .where(Alert.raised_by != "", Alert.handled_at.is_(None)).order_by(Alert.id))
    return alarms if every_school else alarms.where(Visit.school_id.in_(list(policies)))


def dashboards(session: Session, now: datetime, policies: Mapping[str, Policy], *,
               every_school: bool = False) -> dict[str, Dashboard]:
    """Each school's dashboard at ``now``, by school id in the order of ``policies`` (school id -> its
    policy), derived (no job needed): each visit's status follows its own school's policy, and a visit
    whose status cannot be worked out is listed on its own with the reason, and never stops the rest.

    One query a section, however many schools: ``every_school`` says ``policies`` names every school
    the portal has, so no school filter is needed; a one-school call (``{"": policy}``) takes every visit."""
    boards = {school: Dashboard() for school in policies}
    only = next(iter(boards)) if len(boards) == 1 and every_school else None

    def board_of(visit: Visit) -> Dashboard | None:
        return boards[only] if only is not None else boards.get(visit.school_id)

    query = select(Visit).where(_shown(now, policies, every_school=every_school))
    sweep = session.get(JobRun, "escalate")
    watched_ids: list[int] = []
    for visit in session.scalars(query.order_by(Visit.expected_return, Visit.id)):
        if (board := board_of(visit)) is None:  # a school no longer configured
            continue
        status, problem = safety.checked_status(visit, policies[only if only is not None else visit.school_id], now)
        if problem:
            board.unreadable.append((visit, problem))
        else:
            board.groups[status].append(visit)
            if status:
                board.alerts[visit.id] = []
                watched_ids.append(visit.id)
    alerts = {visit_id: board for board in boards.values() for visit_id in board.alerts}
    for alert in session.scalars(select(Alert).where(Alert.visit_id.in_(watched_ids)).order_by(Alert.id)):
        alerts[alert.visit_id].alerts[alert.visit_id].append(alert)
    for alarm, visit in session.execute(_open_alarms(policies, every_school=every_school)).all():
        if (board := board_of(visit)) is not None:
            board.alarms.append((alarm, visit))
    for board in boards.values():
        board.last_sweep = sweep
    return boards


@dataclass
class Counts:
    """One school's line on the trust's dashboard: how many visits are in each of its sections."""

    alarms: int = 0
    overdue: int = 0
    missed: int = 0
    out: int = 0
    later: int = 0
    unreadable: int = 0


@dataclass
class Overview:
    """The trust's dashboard: each school's :class:`Counts` (in the order asked), every open alarm in full
    (each is someone asking for help now), and the last sweep. A school's own lists are its dashboard."""

    counts: dict[str, Counts]
    alarms: list[tuple[Alert, Visit]]
    last_sweep: JobRun | None


#: What a count needs of a visit (its status by its school's policy, :func:`.rules.status`): no whole rows
#: for a trust's hundreds.
_COUNTED = (Visit.school_id, Visit.state, Visit.starts_at, Visit.expected_return)


def overview(session: Session, now: datetime, policies: Mapping[str, Policy], *,
             every_school: bool = False) -> Overview:
    """The trust's dashboard at ``now`` for the schools in ``policies``: counts by school, worked out as
    :func:`dashboards` sorts visits into sections, and the open alarms."""
    counts = {school: Counts() for school in policies}
    query = select(*_COUNTED).where(_shown(now, policies, every_school=every_school))
    sections = {safety.OVERDUE: "overdue", safety.MISSED: "missed", safety.OUT: "out"}
    for row in session.execute(query):
        if (line := counts.get(row.school_id)) is None:
            continue
        status, problem = safety.checked_status(row, policies[row.school_id], now)
        name = "unreadable" if problem else sections.get(status, "later" if row.state != workflow.CHECKED_OUT else "")
        if name:
            setattr(line, name, getattr(line, name) + 1)
    alarms = [(alarm, visit) for alarm, visit in session.execute(_open_alarms(policies, every_school=every_school))
              if visit.school_id in counts]
    for _, visit in alarms:
        counts[visit.school_id].alarms += 1
    return Overview(counts, alarms, session.get(JobRun, "escalate"))
