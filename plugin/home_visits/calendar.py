"""Visits -> iCalendar bytes: small pure functions, no Flask, no database.

The views and the ``publish`` command turn visits into :class:`FeedEvent` values, keep those
:func:`in_window` and call :func:`build_feed`; identical events give identical bytes (no clock,
no random UID, a stable order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone as dt_timezone
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vDuration, vText

#: How much a feed's DESCRIPTION says: ``full`` (phones, contact, risk flags) or ``limited``.
Detail = Literal["full", "limited"]

PRODID = "-//home_visits//Home visits calendar//EN"

#: Workflow state -> (STATUS, the words the DESCRIPTION uses). Drafts have no entry: they never appear.
#: No TRANSP and no X-MICROSOFT-CDO-BUSYSTATUS on purpose: without them Outlook derives the busy
#: status from STATUS ([MS-OXCICAL] 2.1.3.1.1.20.23), so a plan awaiting authorisation shows as
#: tentative, an authorised one as busy and a cancelled one as free.
STATES = {
    "submitted": ("TENTATIVE", "awaiting authorisation"), "authorised": ("CONFIRMED", "authorised"),
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
    created_at: datetime
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


def in_window(
    event: FeedEvent, now: datetime, *, days_back: int = 30, days_ahead: int = 365, cancelled_days: int = 14
) -> bool:
    """Whether a feed built at ``now`` shows ``event``: never a draft; a visit starting from
    ``days_back`` before to ``days_ahead`` after ``now``; cancelled and declined ones only for
    ``cancelled_days`` after their last change (``updated_at``)."""
    if event.state not in STATES:
        return False
    if event.state in GONE and event.updated_at < now - timedelta(days=cancelled_days):
        return False
    return now - timedelta(days=days_back) <= event.starts_at <= now + timedelta(days=days_ahead)


def summary(event: FeedEvent) -> str:
    """``Home visit: attendance, J.S., Ms Patel + Mr Jones`` (initials only, never the pupil's name)."""
    staff = event.lead.name + (f" + {event.second.name}" if event.second else "")
    title = f"Home visit: {event.reason}, {event.pupil_initials}, {staff}"
    # Google drops CANCELLED events and other clients only dim them: say it in the title too.
    return f"{STATES[event.state][1].capitalize()}: {title}" if event.state in GONE else title


def location(event: FeedEvent) -> str:
    """Address and postcode on one line (a calendar's location field is one line)."""
    lines = (*event.address.splitlines(), event.postcode)
    return ", ".join(line.strip() for line in lines if line.strip())


def description(event: FeedEvent, zone: str, detail: Detail = "full") -> str:
    """The plain-text DESCRIPTION; ``limited`` leaves out phones, the contact and risk flags."""

    full = detail == "full"

    def who(person: Staff) -> str:
        return f"{person.name} ({person.phone})" if full and person.phone else person.name

    back = event.ends_at.astimezone(ZoneInfo(zone))  # month names by hand: no locale, same bytes everywhere
    lines = [f"Reason: {event.reason}", f"Pupil: {event.pupil_initials}",
             "Staff: " + ", ".join(who(person) for person in (event.lead, event.second) if person)]
    if full and event.contact:
        lines.append(f"Responsible contact: {who(event.contact)}")
    lines.append(f"Expected return: {back:%H:%M} on {back.day} {_MONTHS[back.month - 1]} {back.year}")
    lines.append(f"Status: {STATES[event.state][1]}")
    if event.authorised_by:
        lines.append(f"Authorised by: {event.authorised_by}")
    if full and event.risk_flags:
        lines.append("Risk flags: " + "; ".join(event.risk_flags))
    if event.url:
        lines.append(f"In the portal: {event.url}")
    return "\n".join(lines)


# --- VTIMEZONE in RRULE form ----------------------------------------------------------------


@dataclass(frozen=True)
class Observance:
    """One STANDARD or DAYLIGHT block: from the ``nth`` ``weekday`` of ``month`` at ``at`` (wall time)."""
    daylight: bool
    name: str
    offset_from: timedelta
    offset_to: timedelta
    month: int = 1
    nth: int = 0  # 1..4 or -1 (last); 0: no RRULE (a zone without daylight saving)
    weekday: int = 6
    at: tuple[int, int] = (0, 0)


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    first = date(year, month, 1)
    if nth > 0:
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _transitions(tz: ZoneInfo, year: int) -> list[tuple[datetime, timedelta, timedelta, str]]:
    """Each offset change in ``year``: (local wall time of onset, offset before, offset after, TZNAME)."""
    found, moment = [], datetime(year, 1, 1, tzinfo=dt_timezone.utc)
    while moment.year == year:
        later = moment + timedelta(days=1)
        if moment.astimezone(tz).utcoffset() != later.astimezone(tz).utcoffset():
            low, high = moment, later  # bisect to the minute
            while high - low > timedelta(minutes=1):
                mid = low + (high - low) / 2
                low, high = (low, mid) if mid.astimezone(tz).utcoffset() != low.astimezone(tz).utcoffset() else (mid, high)
            before, after = low.astimezone(tz), high.astimezone(tz)
            onset = (high + before.utcoffset()).replace(tzinfo=None)
            found.append((onset, before.utcoffset(), after.utcoffset(), after.tzname() or ""))
        moment = later
    return found


def _rule(onset: datetime) -> tuple[int, int, int]:
    """(month, nth, weekday) of a date: nth is -1 for the last such weekday of the month."""
    last = _nth_weekday(onset.year, onset.month, onset.weekday(), -1)
    return onset.month, -1 if onset.date() == last else (onset.day - 1) // 7 + 1, onset.weekday()


@lru_cache(maxsize=64)
def observances(zone: str, first_year: int, last_year: int) -> tuple[Observance, ...] | None:
    """The zone's rules as yearly RRULEs valid for every year from ``first_year`` to ``last_year``;
    one STANDARD for a zone without daylight saving; ``None`` if the rules can't be written so
    (e.g. Ramadan-based zones): :func:`build_feed` then writes times in UTC instead."""
    tz = ZoneInfo(zone)
    years = [_transitions(tz, year) for year in range(first_year, last_year + 1)]
    if not any(years):
        offset = datetime(first_year, 1, 1, tzinfo=dt_timezone.utc).astimezone(tz)
        return (Observance(False, offset.tzname() or "", offset.utcoffset(), offset.utcoffset()),)
    shape = [(_rule(on), (on.hour, on.minute), before, after, name) for on, before, after, name in years[0]]
    if len(shape) != 2 or any(
        [(_rule(on), (on.hour, on.minute), before, after, name) for on, before, after, name in year] != shape
        for year in years
    ):
        return None
    high = max(after for *_, after, _ in shape)
    return tuple(
        Observance(after == high, name, before, after, month, nth, weekday, at)
        for (month, nth, weekday), at, before, after, name in shape
    )


def vtimezone(zone: str, rules: Sequence[Observance]) -> Timezone:
    """The VTIMEZONE component; each block starts in 1970, as Google and Outlook write theirs."""
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
        if rule.nth:
            block.add("rrule", {"FREQ": "YEARLY", "BYMONTH": rule.month, "BYDAY": f"{rule.nth}{_DAYS[rule.weekday]}"})
        component.add_component(block)
    return component


def _when(moment: datetime, tz: ZoneInfo | None) -> datetime:
    """Local time with TZID when the wall time says exactly ``moment``, else UTC (the second
    01:30 of an October night: RFC 5545 reads an ambiguous wall time as the first one)."""
    if moment.tzinfo is None:
        raise ValueError("FeedEvent times must be timezone-aware")
    if tz is not None and (local := moment.astimezone(tz)).fold == 0:
        return local
    return moment.astimezone(dt_timezone.utc)


# --- the feed ---------------------------------------------------------------------------------


def build_feed(
    events: Iterable[FeedEvent],
    *,
    name: str,
    timezone: str,
    domain: str,
    refresh: str = "PT1H",
    detail: Detail = "full",
) -> bytes:
    """The whole VCALENDAR for ``events`` as bytes (CRLF line endings, folded at 75 octets): one
    VEVENT per event (filter with :func:`in_window` first), by start then id. ``ValueError`` for a
    draft or unknown state, naive times, an unknown zone or a bad ``refresh`` duration."""
    if detail not in ("full", "limited"):
        raise ValueError(f"detail must be 'full' or 'limited', not {detail!r}")
    interval = vDuration.from_ical(refresh)
    if not isinstance(interval, timedelta) or interval <= timedelta(0):
        raise ValueError(f"refresh must be a positive ISO 8601 duration such as PT1H, not {refresh!r}")
    ordered = sorted(events, key=lambda event: (event.starts_at, event.visit_id))
    for event in (event for event in ordered if event.state not in STATES):
        raise ValueError(f"visit {event.visit_id} is {event.state!r}: only {', '.join(STATES)} go in a feed")

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
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

    tz: ZoneInfo | None = None
    if ordered:
        first = min(event.starts_at for event in ordered).astimezone(dt_timezone.utc).year - 1
        last = max(event.ends_at for event in ordered).astimezone(dt_timezone.utc).year + 1
        rules = observances(timezone, first, last)
        if rules is not None:
            tz = ZoneInfo(timezone)
            cal.add_component(vtimezone(timezone, rules))
    else:
        ZoneInfo(timezone)  # an unknown zone fails here too, not only once there are visits

    for event in ordered:
        vevent = Event()
        vevent.add("uid", f"home-visit-{event.visit_id}@{domain}")
        vevent.add("sequence", event.sequence)
        vevent.add("dtstamp", event.updated_at)
        vevent.add("created", event.created_at)
        vevent.add("last-modified", event.updated_at)
        vevent.add("dtstart", _when(event.starts_at, tz))
        vevent.add("dtend", _when(event.ends_at, tz))
        vevent.add("status", STATES[event.state][0])
        vevent.add("summary", summary(event))
        vevent.add("location", location(event))
        vevent.add("description", description(event, timezone, detail))
        if event.url:  # a URI is not escaped: icalendar refuses one with CR or LF (ValueError)
            vevent.add("url", event.url)
        cal.add_component(vevent)
    return cal.to_ical(sorted=False)
