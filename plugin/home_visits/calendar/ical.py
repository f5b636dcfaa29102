"""Visits -> iCalendar bytes: small pure functions, no Flask, no database.

The views and the ``publish`` command pick the visits in the feed's window (``service.py``), key each
row (``rows.py``) and call :func:`build_keyed_feed`, which turns into :class:`FeedEvent` values only the
rows whose bytes the cache lacks; :func:`build_feed` takes events already built. Identical events give
identical bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from functools import lru_cache
from typing import Generic, Literal, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vDuration, vText

from .cache import EventCache

S = TypeVar("S")

#: How much a feed's DESCRIPTION says: ``full`` (phones, contact, risk flags) or ``limited``.
Detail = Literal["full", "limited"]

PRODID = "-//home_visits//Home visits calendar//EN"

#: Workflow state -> (STATUS, the words the DESCRIPTION uses). Drafts have no entry: they never appear.
#: No TRANSP and no X-MICROSOFT-CDO-BUSYSTATUS on purpose: without them Outlook derives the busy
#: status from STATUS ([MS-OXCICAL] 2.1.3.1.1.20.23), so a plan awaiting authorisation shows as
#: tentative, an authorised one as busy and a cancelled one as free.
STATES = {
    "submitted": ("TENTATIVE", "awaiting authorisation"),
    "changes_requested": ("TENTATIVE", "sent back for changes"), "authorised": ("CONFIRMED", "authorised"),
    "checked_out": ("CONFIRMED", "staff out on the visit"), "returned": ("CONFIRMED", "staff back"),
    "recorded": ("CONFIRMED", "visit recorded"),
    "cancelled": ("CANCELLED", "cancelled"), "declined": ("CANCELLED", "declined"),
}
GONE = frozenset({"cancelled", "declined"})

_MONTHS = "January February March April May June July August September October November December".split()
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Staff:
    name: str
    phone: str = ""


@dataclass(frozen=True)
class FeedEvent:
    """Everything a calendar shows of one visit; built from the database by the caller."""

    visit_id: int
    #: Grows by one with each change a calendar shows.
    sequence: int
    #: The visit's workflow state (``submitted``, ``authorised``, ``cancelled``, ``declined``, ...).
    state: str
    starts_at: datetime
    ends_at: datetime
    #: When the visit record last changed (DTSTAMP and LAST-MODIFIED), aware UTC.
    updated_at: datetime
    reason: str
    pupil_initials: str
    lead: Staff
    address: str
    postcode: str
    second: Staff | None = None
    contact: Staff | None = None
    authorised_by: str = ""
    risk_flags: Sequence[str] = field(default_factory=tuple)
    #: Link to the visit in the portal.
    url: str = ""
    #: Set while the staff are out and past expected return + grace: when they became overdue.
    overdue_since: datetime | None = None
    #: The school's short name, before the title when a feed holds more than one school.
    school: str = ""


def summary(event: FeedEvent) -> str:
    """``Home visit: attendance, J.S., Ms Patel + Mr Jones`` (initials only, never the pupil's name); after
    ``North: `` when the event names its school."""
    staff = event.lead.name + (f" + {event.second.name}" if event.second else "")
    title = f"Home visit: {event.reason}, {event.pupil_initials}, {staff}"
    # Google drops CANCELLED events and other clients only dim them: say it in the title too.
    title = f"{STATES[event.state][1].capitalize()}: {title}" if event.state in GONE else title
    return f"{event.school}: {title}" if event.school else title


def location(event: FeedEvent) -> str:
    """Address and postcode on one line (a calendar's location field is one line)."""
    lines = (*event.address.splitlines(), event.postcode)
    return ", ".join(line.strip() for line in lines if line.strip())


def description(event: FeedEvent, zone: str, detail: Detail = "full") -> str:
    """The plain-text DESCRIPTION (reason, initials and staff names are in the SUMMARY); ``limited``
    leaves out phones, the contact and risk flags, and so the staff line, which would only repeat the
    SUMMARY's names (every byte counts against Google's ~1 MB feed limit)."""
    full = detail == "full"

    def who(person: Staff) -> str:
        return f"{person.name} ({person.phone})" if full and person.phone else person.name

    tz = ZoneInfo(zone)
    start, back = event.starts_at.astimezone(tz), event.ends_at.astimezone(tz)
    lines = ["Staff: " + ", ".join(who(person) for person in (event.lead, event.second) if person)] if full else []
    if full and event.contact:
        lines.append(f"Responsible contact: {who(event.contact)}")
    # Month names by hand (no locale: the same bytes on every server); the date only if not the same day.
    day = "" if back.date() == start.date() else f" on {back.day} {_MONTHS[back.month - 1]} {back.year}"
    lines.append(f"Expected return: {back:%H:%M}{day}")
    if event.state != "authorised":
        lines.append(f"Status: {STATES[event.state][1]}")
    if event.overdue_since:
        lines.append(f"OVERDUE since {event.overdue_since.astimezone(tz):%H:%M}: not back and not closed off")
    if event.authorised_by:
        lines.append(f"Authorised by: {event.authorised_by}")
    if full and event.risk_flags:
        lines.append("Risk flags: " + "; ".join(event.risk_flags))
    if event.url:
        lines.append(f"Portal: {event.url}")
    return "\n".join(lines)


# --- VTIMEZONE in RRULE form (icalendar's add_missing_timezones() writes RDATE lists clients misread) ---


@dataclass(frozen=True)
class Observance:
    """A STANDARD or DAYLIGHT block, yearly from the ``nth`` (-1: last) ``weekday`` of ``month`` at
    ``at`` (wall time); ``nth`` 0 means no RRULE (a zone without daylight saving)."""
    daylight: bool
    name: str
    offset_from: timedelta
    offset_to: timedelta
    month: int = 1
    nth: int = 0
    weekday: int = 6
    at: tuple[int, int] = (0, 0)


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    if nth > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _changes(tz: ZoneInfo, year: int) -> list[tuple[int, int, int, tuple[int, int], timedelta, timedelta, str]]:
    """Each offset change in ``year`` as (month, nth, weekday, wall time, offset before, after, TZNAME)."""
    found, moment = [], datetime(year, 1, 1, tzinfo=dt_timezone.utc)
    while moment.year == year:
        low, high = moment, moment + timedelta(days=1)
        before = low.astimezone(tz).utcoffset()
        if high.astimezone(tz).utcoffset() != before:
            while high - low > timedelta(minutes=1):  # bisect to the minute
                mid = low + (high - low) / 2
                low, high = (low, mid) if mid.astimezone(tz).utcoffset() != before else (mid, high)
            after, onset = high.astimezone(tz), (high + before).replace(tzinfo=None)
            last = _nth_weekday(year, onset.month, onset.weekday(), -1) == onset.date()
            found.append((onset.month, -1 if last else (onset.day - 1) // 7 + 1, onset.weekday(),
                          (onset.hour, onset.minute), before, after.utcoffset(), after.tzname() or ""))
        moment += timedelta(days=1)
    return found


@lru_cache(maxsize=64)
def observances(zone: str, first_year: int, last_year: int) -> tuple[Observance, ...] | None:
    """The zone's rules as yearly RRULEs that hold for every year from ``first_year`` to ``last_year``;
    one STANDARD for a zone without daylight saving; ``None`` when no such rules fit (e.g. zones
    that pause summer time for Ramadan): :func:`build_feed` then writes those times in UTC."""
    tz = ZoneInfo(zone)
    years = [_changes(tz, year) for year in range(first_year, last_year + 1)]
    if not any(years):
        fixed = datetime(first_year, 7, 1, tzinfo=dt_timezone.utc).astimezone(tz)
        return (Observance(False, fixed.tzname() or "", fixed.utcoffset(), fixed.utcoffset()),)
    if len(years[0]) != 2 or any(year != years[0] for year in years):
        return None
    high = max(change[5] for change in years[0])
    return tuple(Observance(after == high, name, before, after, month, nth, weekday, at)
                 for month, nth, weekday, at, before, after, name in years[0])


def vtimezone(zone: str, rules: Sequence[Observance]) -> Timezone:
    """The VTIMEZONE; each block starts in 1970, as Google writes its own."""
    component = Timezone()
    component.add("tzid", zone)
    for rule in rules:
        block = TimezoneDaylight() if rule.daylight else TimezoneStandard()
        day = _nth_weekday(1970, rule.month, rule.weekday, rule.nth) if rule.nth else date(1970, 1, 1)
        block.add("dtstart", datetime(day.year, day.month, day.day, *rule.at))
        block.add("tzoffsetfrom", rule.offset_from)
        block.add("tzoffsetto", rule.offset_to)
        if rule.name:
            block.add("tzname", rule.name)
        if rule.nth:  # with BYDAY: Outlook rejects a VTIMEZONE RRULE without one
            block.add("rrule", {"FREQ": "YEARLY", "BYMONTH": rule.month, "BYDAY": f"{rule.nth}{_DAYS[rule.weekday]}"})
        component.add_component(block)
    return component


def _when(moment: datetime, tz: ZoneInfo | None) -> datetime:
    """Wall time in the zone, unless it names another instant: RFC 5545 reads the repeated hour of an
    October night as its first pass, so the second 01:30 (and every time without a VTIMEZONE) is UTC."""
    if tz is not None and (local := moment.astimezone(tz)).fold == 0:
        return local
    return moment.astimezone(dt_timezone.utc)


# --- the feed ---------------------------------------------------------------------------------


def uid(visit_id: int, domain: str) -> str:
    """The visit's UID, the same in every feed and every invitation."""
    return f"home-visit-{visit_id}@{domain}"


def serialise_event(event: FeedEvent, *, tz: ZoneInfo | None, timezone: str, domain: str, detail: Detail) -> bytes:
    """One VEVENT's bytes; times in ``tz`` (``None``: in UTC, for a zone no VTIMEZONE can describe).
    No CREATED and no URL (the link is in the DESCRIPTION, where Outlook shows it): every byte counts
    against Google's ~1 MB feed limit."""
    return event_component(event, tz=tz, timezone=timezone, domain=domain, detail=detail).to_ical(sorted=False)


def event_component(event: FeedEvent, *, tz: ZoneInfo | None, timezone: str, domain: str, detail: Detail) -> Event:
    """The VEVENT a feed shows of ``event`` (an invitation adds its ORGANIZER and ATTENDEE)."""
    vevent = Event()
    # DTSTAMP and LAST-MODIFIED from the record, never the clock: same data, same bytes.
    for prop, value in (
        ("uid", uid(event.visit_id, domain)), ("sequence", event.sequence),
        ("dtstamp", event.updated_at), ("last-modified", event.updated_at),
        ("dtstart", _when(event.starts_at, tz)), ("dtend", _when(event.ends_at, tz)),
        ("status", STATES[event.state][0]), ("summary", summary(event)), ("location", location(event)),
        ("description", description(event, timezone, detail)),
    ):
        vevent.add(prop, value)
    return vevent


class Keyed(NamedTuple, Generic[S]):
    """An event not built yet: where it goes in the feed, a key that stands for everything it shows
    (equal keys must mean equal events: the caller's promise), and what ``make`` builds it from."""

    starts_at: datetime
    visit_id: int
    ends_at: datetime
    key: Hashable
    source: S


def build_feed(
    events: Iterable[FeedEvent],
    *,
    name: str,
    timezone: str,
    domain: str,
    refresh: str = "PT1H",
    detail: Detail = "full",
    cache: EventCache | None = None,
) -> bytes:
    """The whole VCALENDAR for ``events`` as bytes (CRLF line endings, folded at 75 octets): one
    VEVENT per event, by start then id; an event whose bytes ``cache`` holds is not serialised again
    (the bytes are the same either way). ``ValueError`` for a
    draft or unknown state, naive times or a bad ``refresh``; ``ZoneInfoNotFoundError`` for an unknown zone."""
    events = list(events)
    for event in events:
        check(event)
    # The key is the event's whole content and the zone of DTSTAMP (equal instants in two zones
    # compare equal but write differently): equal keys, equal bytes.
    keyed = [Keyed(e.starts_at, e.visit_id, e.ends_at, (e, e.updated_at.tzinfo), e) for e in events]
    return build_keyed_feed(keyed, make=_same, name=name, timezone=timezone, domain=domain, refresh=refresh,
                            detail=detail, cache=cache)


def build_keyed_feed(
    items: Iterable[Keyed[S]],
    *,
    make: Callable[[S], FeedEvent],
    name: str,
    timezone: str,
    domain: str,
    refresh: str = "PT1H",
    detail: Detail = "full",
    cache: EventCache | None = None,
) -> bytes:
    """:func:`build_feed` for events known first by their keys: ``make`` builds an event (and it is
    checked) only when ``cache`` lacks its bytes, so an unchanged event costs a look-up, not a build."""
    if detail not in ("full", "limited"):
        raise ValueError(f"detail must be 'full' or 'limited', not {detail!r}")
    interval = vDuration.from_ical(refresh)
    if not isinstance(interval, timedelta) or interval <= timedelta(0):
        raise ValueError(f"refresh must be a positive ISO 8601 duration such as PT1H, not {refresh!r}")
    ordered = sorted(items, key=lambda item: (item.starts_at, item.visit_id))

    cal = Calendar()
    for prop, value in (("prodid", PRODID), ("version", "2.0"), ("calscale", "GREGORIAN")):
        cal.add(prop, value)
    # METHOD:PUBLISH: this is a published calendar, not a scheduling message (no ATTENDEE,
    # nothing to accept). Outlook treats a file without METHOD as PUBLISH anyway ([MS-STANOICAL]
    # V0078), Google and Outlook write METHOD:PUBLISH in the feeds they publish, and Apple,
    # Thunderbird and Google all subscribe to such feeds. REQUEST or CANCEL would make Outlook
    # treat events as invitations. (A CalDAV server would refuse METHOD in a stored resource,
    # RFC 4791 4.1, but this feed is only ever fetched, never PUT into one.)
    cal.add("method", "PUBLISH")
    # vText by hand: icalendar 7 types NAME and X-WR-* as "unknown", which it does not escape.
    for prop, value in (("name", name), ("x-wr-calname", name), ("x-wr-timezone", timezone)):
        cal.add(prop, vText(value))
    cal.add("refresh-interval", interval, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", refresh)

    tz = add_zone(cal, timezone, ordered)

    # Each event is serialised on its own and the bytes joined at the end: a 20,000-visit feed then holds
    # bytes, not 20,000 component trees, in memory, and a cache can hand back an unchanged event's bytes.
    # Its key is the item's plus what the feed adds to an event: the zone, and whether its times are
    # written in it, the detail level, the domain.
    # An event that comes from the cache was checked when it was made.
    adds = (timezone, tz is not None, detail, domain)
    found = cache.get_many([(item.key, adds) for item in ordered]) if cache is not None else [None] * len(ordered)
    parts = []
    for item, part in zip(ordered, found, strict=True):
        if part is None:
            event = make(item.source)
            check(event)
            part = serialise_event(event, tz=tz, timezone=timezone, domain=domain, detail=detail)
            if cache is not None:
                cache.put((item.key, adds), part)
        parts.append(part)
    head, end = cal.to_ical(sorted=False).rsplit(b"END:VCALENDAR", 1)
    return b"".join([head, *parts, b"END:VCALENDAR", end])


def add_zone(cal: Calendar, timezone: str, ordered: Sequence[Keyed[S]]) -> ZoneInfo | None:
    """Add the VTIMEZONE whose rules hold from the year before the first event to the year after the
    last; the zone events' times are written in (``None``: no rules fit, or no events: UTC)."""
    zone = ZoneInfo(timezone)  # an unknown zone fails here, even in an empty feed
    years = (ordered[0].starts_at.year - 1, max(item.ends_at for item in ordered).year + 1) if ordered else ()
    rules = observances(timezone, *years) if years else None
    if rules:
        cal.add_component(vtimezone(timezone, rules))
    return zone if rules else None


def check(event: FeedEvent) -> None:
    if event.state not in STATES:
        raise ValueError(f"visit {event.visit_id} is {event.state!r}: only {', '.join(STATES)} go in a feed")
    if None in (when.tzinfo for when in (event.starts_at, event.ends_at, event.updated_at)):
        raise ValueError(f"visit {event.visit_id}: FeedEvent times must be timezone-aware")


def _same(event: FeedEvent) -> FeedEvent:
    return event
