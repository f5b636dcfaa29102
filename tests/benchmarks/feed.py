"""How fast the SLT feed builds, against the same events written with bare ``icalendar`` calls.

    python -m tests.benchmarks.feed [--sizes 500,5000,20000] [--repeat 3]

For each size it prints the best of ``--repeat`` runs of :func:`home_visits.calendar.ical.build_feed`
and of :func:`baseline` (a plain Calendar with a hand-written RRULE VTIMEZONE and one plain Event
per visit with the same properties and text), their ratio (goal <= 1.3), the growth from the
second-largest to the largest size (goal: no worse than linear, 20000/5000 <= 4.4) and the size of
the feed for 2,000 visits (goal <= 1 MB). Exit status 0 whatever the figures: it measures, CI asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import TextIO
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vText

from home_visits.calendar.ical import PRODID, FeedEvent, Staff, build_feed, description, location, summary

ZONE = "Europe/London"
GOAL_RATIO, GOAL_GROWTH, GOAL_BYTES = 1.3, 4.4, 1_000_000
STATES = ("authorised",) * 6 + ("submitted",) * 3 + ("cancelled",)
REASONS = ("Attendance", "Welfare check", "Transition", "SEND review", "Introductory visit")
PEOPLE = (Staff("Ms Patel", "07700 900123"), Staff("Mr Jones", "07700 900456"), Staff("Mrs O'Brien", ""),
          Staff("Dr Nwosu", "07700 900789"), Staff("Mx Kowalski", "07700 900321"))
FLAGS = ("Dog at the property", "Previous aggression towards staff", "Poor mobile signal", "Another adult present")


def make_events(count: int, *, start: datetime = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)) -> list[FeedEvent]:
    """``count`` realistic visits spread over working hours across the year (deterministic)."""
    events = []
    for i in range(count):
        starts = start + timedelta(days=(i * 7) % 360, hours=i % 9, minutes=15 * (i % 4))
        events.append(FeedEvent(
            visit_id=1000 + i, sequence=i % 4, state=STATES[i % len(STATES)],
            starts_at=starts, ends_at=starts + timedelta(minutes=45 + 15 * (i % 3)),
            updated_at=starts - timedelta(days=2, minutes=i % 600),
            reason=REASONS[i % len(REASONS)], pupil_initials="J.S." if i % 2 else "A.B.-K.",
            lead=PEOPLE[i % 5], second=PEOPLE[(i + 1) % 5] if i % 4 else None,
            contact=Staff("School office", "0113 496 0000"), address=f"{i % 200 + 1} Example Road, Leeds",
            postcode="LS1 4AP", authorised_by="Mrs Head" if STATES[i % len(STATES)] == "authorised" else "",
            risk_flags=FLAGS[: i % 3], url=f"https://portal.school.example/home-visits/visits/{1000 + i}",
        ))
    return events


def baseline(events: Sequence[FeedEvent], *, name: str = "Home visits") -> bytes:
    """The same calendar with bare icalendar calls: the yardstick for :func:`build_feed`."""
    tz = ZoneInfo(ZONE)
    cal = Calendar()
    for prop, value in (("prodid", PRODID), ("version", "2.0"), ("calscale", "GREGORIAN"), ("method", "PUBLISH")):
        cal.add(prop, value)
    for prop, value in (("name", name), ("x-wr-calname", name), ("x-wr-timezone", ZONE)):
        cal.add(prop, vText(value))
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    vtz = Timezone()
    vtz.add("tzid", ZONE)
    for block, start, before, after, tzname, month in (
        (TimezoneDaylight(), datetime(1970, 3, 29, 1), 0, 1, "BST", 3),
        (TimezoneStandard(), datetime(1970, 10, 25, 2), 1, 0, "GMT", 10),
    ):
        block.add("dtstart", start)
        block.add("tzoffsetfrom", timedelta(hours=before))
        block.add("tzoffsetto", timedelta(hours=after))
        block.add("tzname", tzname)
        block.add("rrule", {"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": "-1SU"})
        vtz.add_component(block)
    cal.add_component(vtz)
    status = {"submitted": "TENTATIVE", "authorised": "CONFIRMED", "cancelled": "CANCELLED"}
    # Same order and the plugin's own text functions, so both write the same bytes.
    for event in sorted(events, key=lambda event: (event.starts_at, event.visit_id)):
        vevent = Event()
        vevent.add("uid", f"home-visit-{event.visit_id}@school.example")
        vevent.add("sequence", event.sequence)
        vevent.add("dtstamp", event.updated_at)
        vevent.add("last-modified", event.updated_at)
        vevent.add("dtstart", event.starts_at.astimezone(tz))
        vevent.add("dtend", event.ends_at.astimezone(tz))
        vevent.add("status", status[event.state])
        vevent.add("summary", summary(event))
        vevent.add("location", location(event))
        vevent.add("description", description(event, ZONE))
        cal.add_component(vevent)
    return cal.to_ical(sorted=False)


def plugin(events: Sequence[FeedEvent]) -> bytes:
    return build_feed(events, name="Home visits", timezone=ZONE, domain="school.example")


def best_of(repeat: int, build: Callable[[Sequence[FeedEvent]], bytes], events: Sequence[FeedEvent]) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        build(events)
        times.append(time.perf_counter() - began)
    return min(times)


def run(sizes: Sequence[int], *, repeat: int = 3, size_of: int = 2000, out: TextIO | None = None) -> dict[str, object]:
    """Print the table; return the figures (for the smoke test and anyone scripting it)."""
    out = out or sys.stdout
    print(f"{'visits':>8} {'plugin s':>10} {'baseline s':>11} {'ratio':>7}  (goal <= {GOAL_RATIO})", file=out)
    rows = []
    for size in sizes:
        events = make_events(size)
        plugin(events), baseline(events)  # warm up: imports, caches, the VTIMEZONE rules
        ours, theirs = best_of(repeat, plugin, events), best_of(repeat, baseline, events)
        rows.append((size, ours, theirs, ours / theirs))
        print(f"{size:>8} {ours:>10.3f} {theirs:>11.3f} {ours / theirs:>7.2f}", file=out)
    figures: dict[str, object] = {"rows": rows}
    if len(rows) >= 2:
        (small, small_s, *_), (big, big_s, *_) = rows[-2], rows[-1]
        growth, linear = big_s / small_s, big / small
        figures["growth"] = growth
        print(f"growth {big}/{small}: {growth:.2f} (linear {linear:.1f}, goal <= {linear * 1.1:.1f})", file=out)
    for detail in ("full", "limited"):
        events = make_events(size_of)
        size = len(build_feed(events, name="Home visits", timezone=ZONE, domain="school.example", detail=detail))
        figures[f"bytes_{detail}"] = size
        print(f"feed for {size_of} visits, {detail} detail: {size:,} bytes ({size / 1e6:.2f} MB;"
              f" goal for 2000: <= 1 MB)", file=out)
    same = plugin(make_events(min(sizes))) == baseline(make_events(min(sizes)))
    print(f"plugin and baseline write the same bytes: {'yes' if same else 'no'}", file=out)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.feed", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,5000,20000", help="comma-separated visit counts (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the best counts (default %(default)s)")
    parser.add_argument("--size-of", type=int, default=2000, help="visits in the feed whose bytes are counted")
    args = parser.parse_args(argv)
    run([int(size) for size in args.sizes.split(",") if size.strip()], repeat=args.repeat, size_of=args.size_of)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
