"""The SLT feed: visits in, RFC 5545 bytes out, read back by three independent parsers.

Pure tests: :class:`FeedEvent` values built here, no app, no database.
"""

from __future__ import annotations

import dataclasses
import random
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import pytest
import vobject
from ical.calendar_stream import IcsCalendarStream

from home_visits.calendar.ical import FeedEvent, Staff, build_feed, description, observances, summary

UTC = timezone.utc
LONDON = ZoneInfo("Europe/London")
#: Monday 2 March 2026, 08:00 in London (as tests/conftest.py).
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DOMAIN = "school.example"


def visit(visit_id: int = 1, *, at: datetime | None = None, minutes: int = 60, **changes: object) -> FeedEvent:
    """An authorised visit; ``at`` is the start (any zone), default 10:00 London on 1 March 2026."""
    starts = (at or datetime(2026, 3, 1, 10, 0, tzinfo=LONDON)).astimezone(UTC)
    base = FeedEvent(
        visit_id=visit_id, sequence=0, state="authorised", starts_at=starts,
        ends_at=starts + timedelta(minutes=minutes),
        updated_at=datetime(2026, 2, 20, 9, 30, tzinfo=UTC),
        reason="attendance", pupil_initials="J.S.", lead=Staff("Ms Patel", "07700 900123"),
        second=Staff("Mr Jones", "07700 900456"), contact=Staff("Mrs Akhtar", "0113 496 0000"),
        address="12 Example Road, Leeds", postcode="LS1 4AP", authorised_by="Mr Okafor",
        risk_flags=("Dog at the property", "Poor mobile signal"),
        url=f"https://portal.school.example/home-visits/visits/{visit_id}",
    )
    return dataclasses.replace(base, **changes)


def feed(events, **options) -> bytes:
    return build_feed(events, **{"name": "Home visits", "timezone": "Europe/London", "domain": DOMAIN, **options})


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def z(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- reading the feed back ----------------------------------------------------------------------


def read_icalendar(data: bytes) -> dict[str, dict[str, object]]:
    return {
        str(e["UID"]): {
            "start": e.decoded("DTSTART").astimezone(UTC), "end": e.decoded("DTEND").astimezone(UTC),
            "summary": str(e["SUMMARY"]), "location": str(e["LOCATION"]), "description": str(e["DESCRIPTION"]),
            "status": str(e["STATUS"]), "sequence": int(e["SEQUENCE"]),
        }
        for e in icalendar.Calendar.from_ical(data).walk("VEVENT")
    }


def read_vobject(data: bytes) -> dict[str, dict[str, object]]:
    cal = vobject.readOne(data.decode("utf-8"), validate=True)
    return {
        e.uid.value: {
            "start": e.dtstart.value.astimezone(UTC), "end": e.dtend.value.astimezone(UTC),
            "summary": e.summary.value, "location": e.location.value, "description": e.description.value,
            "status": e.status.value, "sequence": int(e.sequence.value),
        }
        for e in getattr(cal, "vevent_list", [])
    }


def read_ical(data: bytes) -> dict[str, dict[str, object]]:
    cal = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    return {
        e.uid: {
            "start": e.dtstart.astimezone(UTC), "end": e.end.astimezone(UTC), "summary": e.summary,
            "location": e.location, "description": e.description, "status": e.status.value, "sequence": e.sequence,
        }
        for e in cal.events
    }


PARSERS = {"icalendar": read_icalendar, "vobject": read_vobject, "ical": read_ical}


def read_all(data: bytes) -> dict[str, dict[str, dict[str, object]]]:
    """What each parser reads; the tests then demand that all three read the same."""
    return {name: read(data) for name, read in PARSERS.items()}


def instants(data: bytes) -> dict[str, dict[str, tuple[datetime, datetime]]]:
    return {name: {uid: (e["start"], e["end"]) for uid, e in events.items()} for name, events in read_all(data).items()}


def uid(visit_id: int) -> str:
    return f"home-visit-{visit_id}@{DOMAIN}"


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def logical_lines(data: bytes) -> list[str]:
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")[:-1]


# --- times: the clock-change weekends of 2026, by three parsers ---------------------------------

#: (start in London, minutes, expected UTC start, expected UTC end)
CASES = {
    1: (london(2026, 1, 15, 10, 0), 60, z(2026, 1, 15, 10, 0), z(2026, 1, 15, 11, 0)),
    2: (london(2026, 3, 1, 10, 0), 60, z(2026, 3, 1, 10, 0), z(2026, 3, 1, 11, 0)),
    # Sunday 29 March 2026: clocks go forward at 01:00 GMT.
    3: (london(2026, 3, 29, 0, 30), 120, z(2026, 3, 29, 0, 30), z(2026, 3, 29, 2, 30)),
    4: (london(2026, 3, 29, 10, 0), 60, z(2026, 3, 29, 9, 0), z(2026, 3, 29, 10, 0)),
    5: (london(2026, 3, 28, 10, 0), 60, z(2026, 3, 28, 10, 0), z(2026, 3, 28, 11, 0)),
    6: (london(2026, 7, 1, 10, 0), 60, z(2026, 7, 1, 9, 0), z(2026, 7, 1, 10, 0)),
    # Sunday 25 October 2026: clocks go back at 02:00 BST; 01:00-02:00 happens twice.
    7: (london(2026, 10, 24, 10, 0), 60, z(2026, 10, 24, 9, 0), z(2026, 10, 24, 10, 0)),
    8: (london(2026, 10, 25, 0, 30), 60, z(2026, 10, 24, 23, 30), z(2026, 10, 25, 0, 30)),
    9: (london(2026, 10, 25, 10, 0), 60, z(2026, 10, 25, 10, 0), z(2026, 10, 25, 11, 0)),
    # Ends at the second 01:30 (GMT): no wall time says that, so it is written in UTC.
    10: (london(2026, 10, 25, 0, 30), 120, z(2026, 10, 24, 23, 30), z(2026, 10, 25, 1, 30)),
    11: (london(2026, 12, 1, 15, 45), 75, z(2026, 12, 1, 15, 45), z(2026, 12, 1, 17, 0)),
}


@pytest.fixture(scope="module")
def dst_feed() -> bytes:
    return feed([visit(i, at=at, minutes=minutes) for i, (at, minutes, _, _) in CASES.items()])


def test_the_three_parsers_read_the_exact_utc_instants(dst_feed: bytes) -> None:
    expected = {uid(i): (start, end) for i, (_, _, start, end) in CASES.items()}
    read = instants(dst_feed)
    assert read == {"icalendar": expected, "vobject": expected, "ical": expected}


def test_the_parsers_use_our_vtimezone_not_their_own_copy_of_the_zone(dst_feed: bytes) -> None:
    # Renamed, the TZID means nothing to any tz database: only the VTIMEZONE in the file can place the times.
    renamed = dst_feed.replace(b"Europe/London", b"School time")
    assert b"Europe/London" not in renamed
    expected = {uid(i): (start, end) for i, (_, _, start, end) in CASES.items()}
    assert instants(renamed) == {"icalendar": expected, "vobject": expected, "ical": expected}


def test_times_are_written_in_the_school_zone(dst_feed: bytes) -> None:
    lines = logical_lines(dst_feed)
    assert "DTSTART;TZID=Europe/London:20260301T100000" in lines
    assert "DTSTART;TZID=Europe/London:20260329T100000" in lines
    assert "DTSTART;TZID=Europe/London:20260701T100000" in lines
    assert "DTSTART;TZID=Europe/London:20261025T003000" in lines
    assert "DTEND;TZID=Europe/London:20261025T013000" in lines  # the first 01:30 (BST), as RFC 5545 reads it
    assert "DTEND:20261025T013000Z" in lines  # the second 01:30 (GMT)
    assert "X-WR-TIMEZONE:Europe/London" in lines


def test_the_vtimezone_is_built_from_rrules_not_an_rdate_list(dst_feed: bytes) -> None:
    lines = logical_lines(dst_feed)
    block = lines[lines.index("BEGIN:VTIMEZONE") : lines.index("END:VTIMEZONE") + 1]
    assert block == [
        "BEGIN:VTIMEZONE", "TZID:Europe/London",
        "BEGIN:DAYLIGHT", "DTSTART:19700329T010000", "TZOFFSETFROM:+0000", "TZOFFSETTO:+0100", "TZNAME:BST",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "END:DAYLIGHT",
        "BEGIN:STANDARD", "DTSTART:19701025T020000", "TZOFFSETFROM:+0100", "TZOFFSETTO:+0000", "TZNAME:GMT",
        "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10", "END:STANDARD",
        "END:VTIMEZONE",
    ]
    assert not any(line.startswith("RDATE") for line in lines)
    assert sum(line == "BEGIN:VTIMEZONE" for line in lines) == 1


@pytest.mark.parametrize(
    ("zone", "local", "utc", "rules"),
    [
        # Second Sunday of March / first Sunday of November.
        ("America/New_York", datetime(2026, 3, 8, 10, 0), z(2026, 3, 8, 14, 0), ("2SU;BYMONTH=3", "1SU;BYMONTH=11")),
        ("America/New_York", datetime(2026, 3, 7, 10, 0), z(2026, 3, 7, 15, 0), ("2SU;BYMONTH=3", "1SU;BYMONTH=11")),
        # Southern hemisphere: summer time from October to April.
        ("Australia/Sydney", datetime(2026, 1, 15, 10, 0), z(2026, 1, 14, 23, 0), ("1SU;BYMONTH=4", "1SU;BYMONTH=10")),
        ("Australia/Sydney", datetime(2026, 7, 1, 10, 0), z(2026, 7, 1, 0, 0), ("1SU;BYMONTH=4", "1SU;BYMONTH=10")),
        ("Europe/Berlin", datetime(2026, 3, 29, 10, 0), z(2026, 3, 29, 8, 0), ("-1SU;BYMONTH=3", "-1SU;BYMONTH=10")),
        # No daylight saving: one STANDARD block, no RRULE.
        ("Asia/Tokyo", datetime(2026, 7, 1, 10, 0), z(2026, 7, 1, 1, 0), ()),
        ("Asia/Kolkata", datetime(2026, 7, 1, 10, 0), z(2026, 7, 1, 4, 30), ()),
    ],
)
def test_other_zones_get_rrule_vtimezones_the_parsers_agree_on(zone, local, utc, rules) -> None:
    data = feed([visit(1, at=local.replace(tzinfo=ZoneInfo(zone)))], timezone=zone)
    lines = logical_lines(data)
    block = lines[lines.index("BEGIN:VTIMEZONE") : lines.index("END:VTIMEZONE")]
    assert [line for line in block if line.startswith("RRULE")] == [f"RRULE:FREQ=YEARLY;BYDAY={rule}" for rule in rules]
    assert block.count("BEGIN:STANDARD") == 1 and block.count("BEGIN:DAYLIGHT") == (1 if rules else 0)
    expected = {uid(1): (utc, utc + timedelta(hours=1))}
    assert instants(data) == {"icalendar": expected, "vobject": expected, "ical": expected}
    # icalendar and vobject remember a TZID for the whole process: a fresh name per zone.
    renamed = instants(data.replace(zone.encode(), f"School time {zone.replace('/', ' ')}".encode()))
    if not rules:
        # ical 14 takes no onset from a lone STANDARD without RRULE/RDATE (it reads +0000), but that form is
        # what Outlook itself writes for such zones, and an RRULE without BYDAY there is one Outlook rejects.
        del renamed["ical"]
    assert renamed == {name: expected for name in renamed}


def test_a_zone_whose_rules_are_not_yearly_gets_utc_times_instead() -> None:
    # Morocco suspends summer time for Ramadan: no RRULE says that.
    assert observances("Africa/Casablanca", 2025, 2027) is None
    zone = "Africa/Casablanca"
    data = feed([visit(1, at=datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo(zone)))], timezone=zone)
    lines = logical_lines(data)
    assert "BEGIN:VTIMEZONE" not in lines and "DTSTART:20260701T090000Z" in lines
    expected = {uid(1): (z(2026, 7, 1, 9, 0), z(2026, 7, 1, 10, 0))}
    assert instants(data) == {name: expected for name in PARSERS}


def test_an_unknown_zone_is_refused() -> None:
    for events in ([visit()], []):
        with pytest.raises(ZoneInfoNotFoundError):
            feed(events, timezone="Europe/Atlantis")


# --- content ----------------------------------------------------------------------------------


def test_the_calendar_properties() -> None:
    data = feed([visit()], name="Home visits: Oak Academy")
    lines = logical_lines(data)
    assert lines[:10] == [
        "BEGIN:VCALENDAR", "PRODID:-//home_visits//Home visits calendar//EN", "VERSION:2.0", "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH", "NAME:Home visits: Oak Academy", "X-WR-CALNAME:Home visits: Oak Academy",
        "X-WR-TIMEZONE:Europe/London", "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H",
    ]
    assert lines[-1] == "END:VCALENDAR"
    cal = IcsCalendarStream.calendar_from_ics(data.decode())
    assert cal.refresh_interval == timedelta(hours=1) and cal.method == "PUBLISH" and cal.prodid.startswith("-//")
    assert vobject.readOne(data.decode(), validate=True).x_wr_calname.value == "Home visits: Oak Academy"


def test_refresh_is_configurable_and_checked() -> None:
    lines = logical_lines(feed([visit()], refresh="PT30M"))
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT30M" in lines and "X-PUBLISHED-TTL:PT30M" in lines
    for bad in ("1 hour", "-PT1H", "PT0S", "P1\r\nX"):
        with pytest.raises(ValueError):
            feed([visit()], refresh=bad)


def test_one_event_says_what_slt_need() -> None:
    data = feed([visit(42, sequence=3)])
    lines = logical_lines(data)
    event = lines[lines.index("BEGIN:VEVENT") : lines.index("END:VEVENT") + 1]
    assert event[:9] == [
        "BEGIN:VEVENT", "UID:home-visit-42@school.example", "SEQUENCE:3",
        "DTSTAMP:20260220T093000Z", "LAST-MODIFIED:20260220T093000Z",
        "DTSTART;TZID=Europe/London:20260301T100000", "DTEND;TZID=Europe/London:20260301T110000",
        "STATUS:CONFIRMED", r"SUMMARY:Home visit: attendance\, J.S.\, Ms Patel + Mr Jones",
    ]
    assert r"LOCATION:12 Example Road\, Leeds\, LS1 4AP" in event
    # The link lives in the DESCRIPTION (Outlook shows it there); no URL or CREATED: bytes count.
    assert not [line for line in event if line.startswith(("URL", "CREATED"))]
    for read in read_all(data).values():
        got = read[uid(42)]
        assert got["summary"] == "Home visit: attendance, J.S., Ms Patel + Mr Jones"
        assert got["location"] == "12 Example Road, Leeds, LS1 4AP"
        assert got["description"] == (
            "Staff: Ms Patel (07700 900123), Mr Jones (07700 900456)\n"
            "Responsible contact: Mrs Akhtar (0113 496 0000)\n"
            "Expected return: 11:00\n"
            "Authorised by: Mr Okafor\n"
            "Risk flags: Dog at the property; Poor mobile signal\n"
            "Portal: https://portal.school.example/home-visits/visits/42"
        )


def test_limited_detail_leaves_out_phones_contact_and_risk_flags() -> None:
    data = feed([visit(1)], detail="limited")
    for read in read_all(data).values():
        assert read[uid(1)]["summary"] == "Home visit: attendance, J.S., Ms Patel + Mr Jones"  # who is going
        assert read[uid(1)]["description"] == (
            "Expected return: 11:00\nAuthorised by: Mr Okafor\n"
            "Portal: https://portal.school.example/home-visits/visits/1"
        )
    assert b"07700" not in data and b"Akhtar" not in data and b"Dog" not in data
    with pytest.raises(ValueError):
        feed([visit()], detail="everything")


def test_summary_and_description_for_a_lone_visit_awaiting_authorisation() -> None:
    event = visit(state="submitted", second=None, contact=None, authorised_by="", risk_flags=(), url="")
    assert summary(event) == "Home visit: attendance, J.S., Ms Patel"
    assert description(event, "Europe/London") == (
        "Staff: Ms Patel (07700 900123)\nExpected return: 11:00\nStatus: awaiting authorisation"
    )
    assert "URL" not in {line.split(":")[0] for line in logical_lines(feed([event]))}


def test_the_expected_return_gives_the_date_when_the_visit_runs_past_midnight() -> None:
    late = visit(at=london(2026, 7, 1, 19, 0), minutes=6 * 60)  # in BST: back at 01:00 on 2 July
    assert "Expected return: 01:00 on 2 July 2026" in description(late, "Europe/London")


@pytest.mark.parametrize(
    ("state", "status"),
    [("submitted", "TENTATIVE"), ("authorised", "CONFIRMED"), ("checked_out", "CONFIRMED"),
     ("returned", "CONFIRMED"), ("recorded", "CONFIRMED"), ("cancelled", "CANCELLED"), ("declined", "CANCELLED")],
)
def test_status_follows_the_workflow(state: str, status: str) -> None:
    data = feed([visit(7, state=state)])
    assert {name: read[uid(7)]["status"] for name, read in read_all(data).items()} == dict.fromkeys(PARSERS, status)


def test_cancelled_and_declined_visits_say_so_in_the_title_too() -> None:
    # Google hides CANCELLED events and Outlook may only show them as free: the title tells everyone.
    assert summary(visit(state="cancelled")).startswith("Cancelled: Home visit: attendance, J.S.")
    assert summary(visit(state="declined")).startswith("Declined: Home visit:")


@pytest.mark.parametrize("state", ["draft", "deleted", ""])
def test_a_draft_or_unknown_state_never_reaches_a_feed(state: str) -> None:
    with pytest.raises(ValueError, match="visit 5"):
        feed([visit(1), visit(5, state=state)])


def test_naive_times_are_refused() -> None:
    for field in ("starts_at", "ends_at", "updated_at"):
        with pytest.raises(ValueError, match="aware"):
            feed([visit(1), visit(2, **{field: datetime(2026, 3, 1, 10, 0)})])


def test_identical_data_gives_identical_bytes_in_any_order() -> None:
    events = [visit(i, at=london(2026, 3, 1 + i % 20, 9 + i % 7, 0), state=("submitted", "authorised")[i % 2])
              for i in range(1, 40)]
    events.append(visit(99, at=london(2026, 3, 2, 9, 0)))  # same start as visit 1: id decides
    first = feed(events)
    shuffled = events[:]
    random.Random(4).shuffle(shuffled)
    assert feed(shuffled) == first == feed(reversed(events))
    assert feed(tuple(shuffled)) == first  # any iterable
    uids = [line for line in logical_lines(first) if line.startswith("UID:")]
    starts = [read_icalendar(first)[line[4:]]["start"] for line in uids]
    assert starts == sorted(starts) and len(uids) == 40


def test_sequence_grows_with_each_change() -> None:
    planned = visit(3)
    hour, day = timedelta(hours=1), timedelta(days=1)
    moved = dataclasses.replace(planned, sequence=1, starts_at=planned.starts_at + 2 * hour,
                                ends_at=planned.ends_at + 2 * hour, updated_at=planned.updated_at + hour)
    cancelled = dataclasses.replace(moved, sequence=2, state="cancelled", updated_at=moved.updated_at + day)
    seen = [{name: read[uid(3)]["sequence"] for name, read in read_all(feed([event])).items()}
            for event in (planned, moved, cancelled)]
    assert seen == [dict.fromkeys(PARSERS, n) for n in (0, 1, 2)]
    assert b"DTSTAMP:20260220T103000Z" in feed([moved])


# --- hostile text, folding and bytes ----------------------------------------------------------

HOSTILE = [
    "Smith\r\nATTENDEE;CN=Evil:mailto:evil@example.com",
    "x\nBEGIN:VALARM\nACTION:DISPLAY\nEND:VALARM",
    "a,b;c\\d:e\\,f\\n",
    "\rEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged",
    "Zoë Ó Súilleabháin-Łukasiewicz 👩🏽‍🏫🏠 " * 3,
    "אבישג בת-שבע בן-דוד / نور الهدى عبد الرحمن",
    "Line one\u2028line two\u0085and NEL\ttab",
]


def flat(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("text", HOSTILE)
def test_text_from_users_cannot_break_or_inject_a_property(text: str) -> None:
    event = visit(
        1, reason=text, pupil_initials=text[:12], lead=Staff(text, text), second=Staff(text[::-1], "0;1,2"),
        contact=Staff(text, text), authorised_by=text, risk_flags=(text, "Dog; big"), postcode=text,
        address=f"Flat 2, {text}",
    )
    data = feed([event], name=text)
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    assert max(len(line) for line in physical_lines(data)) <= 75
    logical = logical_lines(data)
    names = [line.split(":", 1)[0].split(";", 1)[0] for line in logical]
    assert names.count("BEGIN") == names.count("END") == 5  # VCALENDAR, VTIMEZONE, DAYLIGHT, STANDARD, VEVENT
    assert not [line for line in logical if line.startswith(("ATTENDEE", "ACTION", "BEGIN:VALARM", "UID:forged"))]
    assert names.count("UID") == names.count("SUMMARY") == names.count("DESCRIPTION") == 1
    for name, read in read_all(data).items():
        got = read[uid(1)]
        # TEXT has no CR: a line break in any form comes back as one "\n", never as a new property.
        assert got["summary"] == flat(summary(event)), name
        assert got["description"] == flat(description(event, "Europe/London")), name
        assert flat(text) in got["summary"] and flat(text) in got["description"], name
    cal = vobject.readOne(data.decode(), validate=True)
    assert cal.x_wr_calname.value == flat(text) and cal.contents["name"][0].value == flat(text)
    assert IcsCalendarStream.calendar_from_ics(data.decode()).name == [flat(text)]


def test_a_url_with_a_line_break_cannot_add_a_property() -> None:
    data = feed([visit(url="https://portal.example/v/1\r\nATTENDEE:mailto:x@example.com")])
    assert not [line for line in logical_lines(data) if line.startswith("ATTENDEE")]


@pytest.mark.parametrize("text", HOSTILE[4:6] + ["x" * 300, "é" * 200, "🏠" * 100])
def test_lines_are_folded_at_75_octets_with_crlf(text: str) -> None:
    data = feed([visit(1, reason=text, lead=Staff(text)), visit(2)], name=text)
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    lines = physical_lines(data)
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # something was long enough to fold
    for line in lines:
        line.decode("utf-8")  # no UTF-8 character split across a fold
    assert all(line[:1] != b"\t" for line in lines)


def test_the_pupil_appears_only_as_initials() -> None:
    pupil = "Jamie Lee Smith"
    data = feed([visit(1, pupil_initials="J.L.S.")])
    assert "J.L.S." in read_icalendar(data)[uid(1)]["summary"]
    for word in pupil.split():
        assert not re.search(rf"\b{word}\b", data.decode()), word


def test_an_empty_feed_is_a_valid_calendar() -> None:
    data = feed([])
    assert read_all(data) == dict.fromkeys(PARSERS, {})
    assert "X-WR-CALNAME:Home visits" in logical_lines(data)
