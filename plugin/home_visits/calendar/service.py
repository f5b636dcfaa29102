"""Personal calendar feeds: tokens (kept only as hashes), the change marker, what each feed holds,
its ETag, and the feed's bytes.

No Flask here; never commits: the views and the ``publish`` command call these and :mod:`.ical`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, case, false, func, or_, select, update
from sqlalchemy.orm import Session, defer

from ..clock import midnight
from ..models import ChangeMarker, FeedToken, UTCDateTime, Visit
from ..people import Directory, Person
from ..plans import workflow
from ..policy import Policy
from ..schools import Schools
from . import rows
from .cache import EventCache
from .ical import FeedEvent, Staff, build_keyed_feed

#: What a token records of its feed: every visit (of every school), the person's own, or some schools' visits.
ALL, OWN, SOME = "all", "own", "some"


@dataclass(frozen=True)
class Window:
    """Which visits a feed holds, relative to now."""

    days_back: int = 30
    days_ahead: int = 365
    #: Cancelled and declined visits stay (as CANCELLED) this long after the change, then go.
    cancelled_days: int = 14


def window_from_config(config: Mapping[str, Any]) -> Window:
    """The window the app's ``HOME_VISITS_FEED_DAYS_*`` keys name."""
    return Window(config["HOME_VISITS_FEED_DAYS_BACK"], config["HOME_VISITS_FEED_DAYS_AHEAD"])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scope_for(person: Person, authorisers: list[str]) -> str:
    """At one school: approvers and office see every visit; everyone else their own."""
    return ALL if workflow.sees_everything(person, authorisers) else OWN


def _takes_part(person_id: str) -> ColumnElement[bool]:
    return or_(Visit.lead_id == person_id, Visit.second_staff_id == person_id, Visit.contact_id == person_id)


@dataclass(frozen=True)
class Scope:
    """Which visits a feed holds: every visit of the schools in ``everything``, and the visits ``person_id``
    takes part in at any of ``schools`` (the configured ones: a visit of any other school shows nowhere)."""

    everything: frozenset[str]
    schools: frozenset[str]
    person_id: str | None = None

    @property
    def key(self) -> str:
        """What tells two feeds apart, the same in every process: part of the ETag and the cache key."""
        return f"{','.join(sorted(self.everything))}|{self.person_id or ''}"

    @property
    def stored(self) -> str:
        """What the token records: :data:`ALL`, :data:`OWN` or :data:`SOME` (a feed asks the person's roles
        again at every request, so a role lost or moved to another school changes it at once)."""
        return OWN if not self.everything else ALL if self.everything >= self.schools else SOME

    def condition(self) -> ColumnElement[bool]:
        parts = [Visit.school_id.in_(sorted(self.everything))] if self.everything else []
        if self.person_id is not None:
            parts.append(and_(Visit.school_id.in_(sorted(self.schools)), _takes_part(self.person_id)))
        return or_(*parts) if parts else false()


def scope_of(person_id: str | None, everything: Iterable[str], schools: Iterable[str]) -> Scope:
    """Every visit of the schools in ``everything`` and, at the configured ``schools``, ``person_id``'s own
    (``None``: nobody's). Whoever sees every school's visits gets the one feed all such people share."""
    seen, configured = frozenset(everything), frozenset(schools)
    return Scope(seen, configured, None if seen >= configured else person_id)


def active_token(session: Session, person_id: str) -> FeedToken | None:
    return session.scalar(
        select(FeedToken).where(FeedToken.person_id == person_id, FeedToken.revoked_at.is_(None))
    )


def revoke(session: Session, person_id: str, now: datetime) -> int:
    """Revoke every live link of the person; returns how many."""
    result = session.execute(
        update(FeedToken)
        .where(FeedToken.person_id == person_id, FeedToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount or 0


def issue(session: Session, person: Person, *, scope: str, now: datetime) -> str:
    """A new 256-bit URL-safe token for ``person`` (revoking the old one). Returned once, stored hashed."""
    revoke(session, person.id, now)
    token = secrets.token_urlsafe(32)
    session.add(FeedToken(person_id=person.id, token_hash=hash_token(token), scope=scope, created_at=now))
    return token


@dataclass(frozen=True)
class Poll:
    """What answering one feed request needs to know before deciding between 304 and 200."""

    token_id: int
    person_id: str
    #: The change marker: grows with every change to any visit.
    counter: int
    changed_at: datetime
    #: How many visits are overdue now. While the counter stands still no visit changes, so the
    #: overdue set can only grow: its size is enough to tell when it changed.
    overdue: int
    #: The latest expected return among them (the last to go overdue did so ``grace`` after it).
    latest_overdue: datetime | None


def _poll_query(schools: tuple[str, ...]) -> Any:
    """The live token, the change marker and the overdue count in one round trip. With ``schools`` (a trust)
    each visit is overdue by its own school's grace: ``late_0``, ``late_1``... are theirs, in that order."""
    bound = bindparam("late", type_=UTCDateTime()) if not schools else case(
        {school: bindparam(f"late_{i}", type_=UTCDateTime()) for i, school in enumerate(schools)},
        value=Visit.school_id)
    late = (Visit.state == workflow.CHECKED_OUT, Visit.expected_return <= bound)
    return (
        select(FeedToken.id, FeedToken.person_id, FeedToken.token_hash, ChangeMarker.counter, ChangeMarker.changed_at,
               select(func.count()).select_from(Visit).where(*late).scalar_subquery().label("overdue"),
               select(func.max(Visit.expected_return)).where(*late).scalar_subquery().label("latest"))
        .select_from(FeedToken).join(ChangeMarker, ChangeMarker.id == 1)
        .where(FeedToken.token_hash == bindparam("digest"), FeedToken.revoked_at.is_(None))
    )


#: Built once: a one-school portal's poll; a trust's, once per set of schools (:func:`_trust_poll`).
POLL = _poll_query(())
_trust_poll = lru_cache(maxsize=8)(_poll_query)


def poll(connection: Connection, token: str, *, late: datetime,
         lates: Mapping[str, datetime] | None = None) -> Poll | None:
    """One query for a feed request: the live token, the change marker and the overdue count.
    ``None`` for an unknown or revoked token. ``late`` is now minus the grace minutes; in a trust, ``lates``
    gives each school's (a visit of a school it does not name is not counted)."""
    if not 20 <= len(token) <= 100:
        return None
    digest = hash_token(token)  # the row is found by FeedToken.token_hash == digest, never by the token
    if lates:
        query = _trust_poll(tuple(lates))
        values: dict[str, Any] = {f"late_{i}": moment for i, moment in enumerate(lates.values())}
    else:
        query, values = POLL, {"late": late}
    row = connection.execute(query, {"digest": digest, **values}).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    latest_overdue = UTCDateTime().process_result_value(row.latest, connection.dialect) if row.latest else None
    return Poll(row.id, row.person_id, row.counter, row.changed_at, row.overdue, latest_overdue)


@dataclass
class StaffMark:
    """A fingerprint of what feeds show about staff (names and phones, from the host's directory,
    not the database), worked out again at most every ``seconds``, and when it last changed."""

    seconds: float
    mark: str = ""
    checked: float = float("-inf")
    changed_at: datetime | None = None

    def current(self, directory: Directory, *, now: datetime, monotonic: float) -> tuple[str, datetime]:
        """The fingerprint, and when it last changed (first seen counts as a change: nobody knows
        what a feed built before this process started said)."""
        if self.changed_at is None or monotonic - self.checked >= self.seconds:
            people = sorted(directory.staff(), key=lambda p: p.id)
            raw = "\n".join(f"{p.id}|{p.name}|{p.phone}" for p in people).encode()
            mark = hashlib.sha256(raw).hexdigest()[:16]
            if mark != self.mark or self.changed_at is None:
                self.mark, self.changed_at = mark, now
            self.checked = monotonic
        return self.mark, self.changed_at


def etag(poll: Poll, scope: str, day: str, settings: str) -> str:
    """Changes whenever what the feed would hold can change: data, the day (the window moves at
    midnight), settings, and how many visits are overdue."""
    raw = f"{poll.counter}|{poll.token_id}|{scope}|{day}|{settings}|{poll.overdue}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


#: Visit columns no calendar shows: not loaded for a feed (and an attempt to read one raises, not a query per visit).
UNSHOWN = (Visit.pupil, Visit.pupil_key, Visit.pupil_ref, Visit.purpose, Visit.alone_reason, Visit.family_agreed,
           Visit.appointment, Visit.unannounced_reason, Visit.travel, Visit.language_needs, Visit.agencies,
           Visit.risk_notes, Visit.alternatives, Visit.alternatives_notes, Visit.checklist, Visit.decline_reason,
           Visit.extension_reason, Visit.form_token)


def in_window(*, now: datetime, window: Window, person_id: str | None = None,
              scope: Scope | None = None) -> Select[tuple[Visit]]:
    """The visits a feed shows, in its order: not drafts, starting inside the window, recently cancelled
    ones kept; those of ``scope`` (``None``: every visit, or those ``person_id`` takes part in)."""
    gone = now - timedelta(days=window.cancelled_days)
    query = select(Visit).where(
        Visit.state != workflow.DRAFT,
        Visit.starts_at >= now - timedelta(days=window.days_back),
        Visit.starts_at <= now + timedelta(days=window.days_ahead),
        Visit.expected_return.is_not(None),
        or_(
            Visit.state.not_in([workflow.CANCELLED, workflow.DECLINED]),
            and_(Visit.state.in_([workflow.CANCELLED, workflow.DECLINED]), Visit.updated_at >= gone),
        ),
    )
    if scope is not None:
        query = query.where(scope.condition())
    elif person_id is not None:
        query = query.where(_takes_part(person_id))
    return query.order_by(Visit.starts_at, Visit.id)


def visits_in_window(
    session: Session, *, now: datetime, window: Window, person_id: str | None = None, scope: Scope | None = None
) -> list[Visit]:
    """Visits a feed shows (:func:`in_window`), without the columns no calendar shows."""
    unshown = [defer(column, raiseload=True) for column in UNSHOWN]
    return list(session.scalars(in_window(now=now, window=window, person_id=person_id).options(*unshown)))


class Finds(Protocol):
    def find(self, person_id: str) -> Person | None: ...


class _OncePerFeed:
    """The directory, each person looked up once per feed: a host's ``find`` may walk the whole staff
    list, and a trust's feed names the same few dozen people thousands of times."""

    def __init__(self, directory: Finds) -> None:
        self._directory = directory
        self._found: dict[str, Person | None] = {}

    def find(self, person_id: str) -> Person | None:
        if person_id not in self._found:
            self._found[person_id] = self._directory.find(person_id)
        return self._found[person_id]


def feed_event(
    visit: Visit | SimpleNamespace, *, policy: Policy, directory: Finds, link: Callable[[int], str], now: datetime,
    school: str = "",
) -> FeedEvent:
    """What a calendar shows of ``visit``: initials, never the pupil's name; ``school`` (its short name)
    before the title when the feed holds more than one school."""

    def staff(person_id: str | None, phone: str = "") -> Staff | None:
        if not person_id:
            return None
        found = directory.find(person_id)
        return Staff(found.name, phone or found.phone) if found else Staff(person_id, phone)

    reason = policy.reason(visit.reason)
    assert visit.starts_at is not None and visit.expected_return is not None
    return FeedEvent(
        visit_id=visit.id,
        sequence=visit.sequence,
        state=visit.state,
        starts_at=visit.starts_at,
        ends_at=visit.expected_return,
        updated_at=visit.updated_at,
        reason=reason.title if reason else (visit.reason_other or "other"),
        pupil_initials=visit.pupil_initials,
        lead=staff(visit.lead_id) or Staff(visit.lead_id),
        second=staff(visit.second_staff_id),
        contact=staff(visit.contact_id, visit.contact_phone),
        address=visit.address,
        postcode=visit.postcode,
        authorised_by=(staff(visit.authorised_by) or Staff("")).name,
        risk_flags=tuple(item.title for item in policy.risk_factors if item.id in visit.risk_factors),
        url=link(visit.id),
        overdue_since=rows.overdue_since(visit, policy, now),
        school=school,
    )


def feed_bytes(
    session: Session, *, schools: Schools, scope: Scope, directory: Directory, config: Mapping[str, Any],
    link: Callable[[int], str], now: datetime, window: Window, cache: EventCache | None = None,
) -> bytes:
    """The feed of ``scope``'s visits, as the config asks, each by its school's policy. With ``cache``, only
    the events whose keys (:mod:`.rows`) it lacks are built and serialised."""
    policy = schools.trust_policy
    # The window is counted from the school's midnight, so the feed holds the same visits all day
    # and its ETag (which carries the date) stays true.
    query = in_window(now=midnight(now, policy.zone), window=window, scope=scope)
    found = session.connection().execute(query.with_only_columns(*rows.COLUMNS)).all()  # plain rows, no ORM
    people = _OncePerFeed(directory)
    # Titles say the school when the feed holds more than one (one school's feed is as it always was).
    named = len(scope.everything | {row.school_id for row in found}) > 1

    def prefix(school: str) -> str:
        return schools.of(school).short if named else ""

    items = rows.keyed(found, policy_of=schools.policy, prefix_of=prefix, people=people, link=link, now=now)
    return build_keyed_feed(
        items, make=lambda row: feed_event(rows.loaded(row), policy=schools.policy(row.school_id), directory=people,
                                           link=link, now=now, school=prefix(row.school_id)),
        name=config["HOME_VISITS_FEED_NAME"], timezone=policy.school.timezone,
        domain=config["HOME_VISITS_DOMAIN"], refresh=config["HOME_VISITS_FEED_REFRESH"],
        detail=config["HOME_VISITS_FEED_DETAIL"], cache=cache,
    )
