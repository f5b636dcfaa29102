"""Feeds that scale: each event's bytes are kept by what it shows, so a feed after one change
re-serialises that one event, and still says exactly what a cold build says."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar

from home_visits.calendar import ical
from home_visits.calendar.cache import EventCache
from home_visits.config import HOME_VISITS_FEED_EVENT_CACHE
from home_visits.extension import state
from home_visits.plans import service as services

from ..conftest import USERS, make_app, valid_plan
from .test_feed import new_link

UTC = timezone.utc


def fetch(client: FlaskClient, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200
    return response.data


def cold(app: Flask, client: FlaskClient, url: str) -> bytes:
    """The same feed built from nothing: an empty event cache and no built feed kept."""
    st = state(app)
    kept = st.event_cache
    st.event_cache = EventCache()
    st.feed_cache.clear()
    try:
        return fetch(client, url)
    finally:
        st.event_cache = kept
        st.feed_cache.clear()


def descriptions(body: bytes) -> dict[str, str]:
    return {str(e["UID"]): str(e["DESCRIPTION"]) for e in Calendar.from_ical(body).walk("VEVENT")}


def test_after_one_change_the_feed_serialises_one_event_and_says_what_a_cold_build_says(
    app: Flask, login: Any, create_visit: Any, serialised: list[int]
) -> None:
    first = create_visit(state_="submitted")
    others = [create_visit(state_="authorised", lead=lead) for lead in ("sam", "kim", "sam")]
    client = login("alex")
    url = new_link(client)
    before = fetch(client, url)
    assert sorted(serialised) == sorted([first.id, *(v.id for v in others)])
    serialised.clear()
    client.post(f"/home-visits/{first.id}/decide", data={"authorise": "Authorise", "version": str(first.version)})
    after = fetch(client, url)
    assert serialised == [first.id]  # the other three came from the cache
    assert after != before and after == cold(app, client, url)
    assert "Status: awaiting authorisation" not in descriptions(after)[f"home-visit-{first.id}@school.example"]


def test_a_new_phone_in_the_directory_reaches_outlook_and_only_its_events_are_rebuilt(
    app: Flask, login: Any, create_visit: Any, serialised: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    state(app).staff_mark.seconds = 0  # as HOME_VISITS_DIRECTORY_REFRESH = 0 would
    with_jo = create_visit(state_="authorised", lead="sam", second_staff_id="jo")
    create_visit(state_="authorised", lead="kim", second_staff_id="sam")
    client = login("alex")
    url = new_link(client)
    fetch(client, url)
    serialised.clear()
    monkeypatch.setattr(USERS["jo"], "phone", "07700 900999")
    changed = fetch(client, url)
    assert serialised == [with_jo.id]
    assert "07700 900999" in descriptions(changed)[f"home-visit-{with_jo.id}@school.example"]
    assert changed == cold(app, client, url)


def test_detail_level_and_base_url_each_give_the_bytes_of_a_cold_build(
    app: Flask, login: Any, create_visit: Any, serialised: list[int]
) -> None:
    for lead in ("sam", "kim"):
        create_visit(state_="authorised", lead=lead)
    client = login("alex")
    url = new_link(client)
    full = fetch(client, url)
    app.config["HOME_VISITS_FEED_DETAIL"] = "limited"
    serialised.clear()
    limited = fetch(client, url)
    assert len(serialised) == 2 and limited == cold(app, client, url) and b"07700 900001" not in limited
    app.config["HOME_VISITS_PUBLIC_URL"] = "https://visits.trust.example"
    serialised.clear()
    moved = fetch(client, url)
    assert len(serialised) == 2 and moved == cold(app, client, url)
    assert all("Portal: https://visits.trust.example/home-visits/" in text for text in descriptions(moved).values())
    app.config.update(HOME_VISITS_FEED_DETAIL="full", HOME_VISITS_PUBLIC_URL=None)
    serialised.clear()
    assert fetch(client, url) == full and serialised == []  # back as it was: all from the cache


def test_a_visit_going_overdue_is_rebuilt_though_no_record_changed(
    app: Flask, login: Any, create_visit: Any, clock: Any, serialised: list[int]
) -> None:
    visit = create_visit(state_="authorised")
    create_visit(state_="authorised", lead="kim")
    clock.now = visit.starts_at
    login("sam").post(f"/home-visits/{visit.id}/check-out")
    client = login("alex")
    url = new_link(client)
    fetch(client, url)
    serialised.clear()
    clock.now = visit.expected_return + timedelta(minutes=16)
    late = fetch(client, url)
    assert serialised == [visit.id]
    assert "OVERDUE since 11:15" in descriptions(late)[f"home-visit-{visit.id}@school.example"]
    assert late == cold(app, client, url)


def test_the_cache_is_bounded_by_the_setting_and_drops_the_least_recently_used(
    tmp_path: Path, serialised: list[int]
) -> None:
    assert HOME_VISITS_FEED_EVENT_CACHE == 50_000
    app = make_app(tmp_path / "small", HOME_VISITS_FEED_EVENT_CACHE=2)
    try:
        st, client = state(app), app.test_client()
        with client.session_transaction() as session:
            session["_user_id"], session["_fresh"] = "alex", True
        created = [_visit(app, lead) for lead in ("sam", "kim", "alex")]
        url = new_link(client)
        body = fetch(client, url)
        assert len(st.event_cache) == 2 and body.count(b"BEGIN:VEVENT") == 3
        st.feed_cache.clear()
        serialised.clear()
        # Three events through a cache of two: the first was pushed out by the third, so only it is made
        # again (and pushes out the least recently used of the other two).
        assert fetch(client, url) == body
        assert serialised == [created[0].id] and len(st.event_cache) == 2
        app.config["HOME_VISITS_FEED_EVENT_CACHE"] = 0  # off
        st.feed_cache.clear()
        serialised.clear()
        assert fetch(client, url) == body and len(serialised) == 3 and len(st.event_cache) == 0
    finally:
        st.engine.dispose()


def _visit(app: Flask, lead: str) -> Any:
    st = state(app)
    with st.sessions() as session:
        visit = services.create_visit(session, valid_plan(lead_id=lead), actor=st.directory.person(USERS[lead]),
                                      now=st.clock())
        session.flush()
        assert not services.submit(session, visit, actor=st.directory.person(USERS[lead]), policy=st.policy,
                                   now=st.clock())
        session.commit()
        return visit


# --- the cache itself ---------------------------------------------------------------------------


def test_least_recently_used_goes_first() -> None:
    cache = EventCache(2)
    cache.put("a", b"A")
    cache.put("b", b"B")
    assert cache.get("a") == b"A"  # a is now the most recently used
    cache.put("c", b"C")
    assert "b" not in cache and cache.get("a") == b"A" and cache.get("c") == b"C"
    cache.resize(1)
    assert len(cache) == 1 and "c" in cache
    cache.resize(0)
    cache.put("d", b"D")
    assert len(cache) == 0 and cache.get("d") is None
    with pytest.raises(ValueError, match="HOME_VISITS_FEED_EVENT_CACHE"):
        cache.resize(-1)


def test_many_threads_never_push_it_past_its_limit() -> None:
    cache, errors = EventCache(50), []

    def work(n: int) -> None:
        try:
            for i in range(2_000):
                cache.put((n, i % 120), b"x")
                cache.get((n, (i * 7) % 120))
        except Exception as error:  # pragma: no cover - what the test is looking for
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(cache) == 50


def _event(**changes: Any) -> ical.FeedEvent:
    starts = datetime(2026, 3, 4, 10, tzinfo=UTC)
    base = ical.FeedEvent(
        visit_id=7, sequence=1, state="authorised", starts_at=starts, ends_at=starts + timedelta(hours=1),
        updated_at=datetime(2026, 3, 1, 9, tzinfo=UTC), reason="Attendance", pupil_initials="J.S.",
        lead=ical.Staff("Sam Patel", "07700 900001"), address="12 Larch Close", postcode="EX1 2AB",
        url="https://portal.school.example/home-visits/7",
    )
    return dataclasses.replace(base, **changes)


def build(events: list[ical.FeedEvent], cache: EventCache | None, **options: Any) -> bytes:
    return ical.build_feed(events, **{"name": "Home visits", "timezone": "Europe/London",
                                      "domain": "school.example", "cache": cache, **options})


@pytest.fixture
def events() -> Iterator[list[ical.FeedEvent]]:
    yield [_event(visit_id=n, starts_at=datetime(2026, 3, 4 + n, 10, tzinfo=UTC),
                  ends_at=datetime(2026, 3, 4 + n, 11, tzinfo=UTC)) for n in range(1, 6)]


@pytest.mark.parametrize("change", [
    {"sequence": 2}, {"state": "checked_out"}, {"overdue_since": datetime(2026, 3, 5, 11, 15, tzinfo=UTC)},
    {"lead": ical.Staff("Sam Patel", "07700 900999")}, {"url": "https://other.example/home-visits/1"},
    {"reason": "Attendance (renamed in the policy)"}, {"risk_flags": ("Dog at the property",)},
    {"updated_at": datetime(2026, 3, 1, 10, tzinfo=timezone(timedelta(hours=1)))},  # same instant, other zone
])
def test_every_field_an_event_shows_is_in_its_key(
    events: list[ical.FeedEvent], serialised: list[int], change: dict[str, Any]
) -> None:
    cache = EventCache()
    build(events, cache)
    serialised.clear()
    changed = [dataclasses.replace(events[0], **change), *events[1:]]
    cached = build(changed, cache)
    assert serialised == [events[0].visit_id]
    assert cached == build(changed, None)


@pytest.mark.parametrize("options", [{"detail": "limited"}, {"timezone": "America/New_York"},
                                     {"domain": "trust.example"}])
def test_what_the_feed_adds_to_an_event_is_in_its_key(
    events: list[ical.FeedEvent], serialised: list[int], options: dict[str, Any]
) -> None:
    cache = EventCache()
    build(events, cache)
    serialised.clear()
    cached = build(events, cache, **options)
    assert len(serialised) == len(events) and cached == build(events, None, **options)
