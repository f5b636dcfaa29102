"""Calendars in a trust: each person's feed holds the visits they may see across their schools, titles say
the school when a feed holds more than one, and ``publish`` writes one school's feed or the trust's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from icalendar import Calendar
from sqlalchemy import select

from home_visits.extension import state
from home_visits.models import FeedToken

from ..trust import make_trust_app, signed_in, visit_factory
from .test_event_cache import cold, fetch
from .test_feed import new_link


def events(body: bytes) -> dict[int, str]:
    """Visit id -> title."""
    found = {}
    for event in Calendar.from_ical(body).walk("VEVENT"):
        match = re.fullmatch(r"home-visit-(\d+)@.*", str(event["UID"]))
        assert match
        found[int(match[1])] = str(event["SUMMARY"])
    return found


@pytest.fixture
def trust(tmp_path: Path) -> Any:
    app = make_trust_app(tmp_path / "instance")
    make = visit_factory(app)
    visits = {
        "north": make("north").id, "south": make("south").id,
        "tara north": make("north", lead="tara").id, "tara south": make("south", lead="tara").id,
    }
    yield app, visits
    state(app).engine.dispose()


def feed_of(app: Flask, user_id: str) -> bytes:
    client = signed_in(app, user_id)
    response = client.get(new_link(client))
    assert response.status_code == 200
    return response.data


def test_each_person_sees_the_visits_of_their_schools_and_never_another_schools(trust: Any) -> None:
    app, v = trust
    assert set(events(feed_of(app, "noor"))) == {v["north"], v["tara north"]}  # north's approver: all of north
    assert set(events(feed_of(app, "nell"))) == {v["north"], v["tara north"]}  # north's office
    assert set(events(feed_of(app, "sky"))) == {v["south"], v["tara south"]}
    assert set(events(feed_of(app, "ned"))) == {v["north"]}  # staff: their own (second on nina's visit)
    assert set(events(feed_of(app, "sid"))) == {v["south"]}
    assert set(events(feed_of(app, "tara"))) == {v["tara north"], v["tara south"]}  # their own, at both schools
    assert set(events(feed_of(app, "tom"))) == set(v.values())  # trust-wide: everything


def test_titles_name_the_school_only_when_a_feed_holds_more_than_one(trust: Any) -> None:
    app, v = trust
    for title in events(feed_of(app, "noor")).values():
        assert title.startswith("Home visit: ")
    everything = events(feed_of(app, "tom"))
    assert everything[v["north"]].startswith("North: Home visit: ")
    assert everything[v["south"]].startswith("South: Home visit: ")
    mine = events(feed_of(app, "tara"))
    assert mine[v["tara north"]].startswith("North: Home visit: ") and "Tara Trust" in mine[v["tara north"]]
    assert mine[v["tara south"]].startswith("South: Home visit: ")


def test_two_schools_feeds_never_share_a_cached_body_or_an_etag(trust: Any) -> None:
    app, v = trust
    north, south = signed_in(app, "noor"), signed_in(app, "sky")
    north_url, south_url = new_link(north), new_link(south)
    first = north.get(north_url)
    other = south.get(south_url)  # same change marker, same day, same settings: only the scope differs
    assert set(events(other.data)) == {v["south"], v["tara south"]}
    assert first.headers["ETag"] != other.headers["ETag"]
    assert south.get(south_url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 200


def test_a_token_follows_the_persons_roles_now_and_records_its_scope(trust: Any, monkeypatch: Any) -> None:
    app, v = trust
    from ..trust import TRUST_USERS

    for user in ("tom", "noor", "nina"):
        new_link(signed_in(app, user))
    with state(app).sessions() as session:
        stored = {row.person_id: row.scope for row in session.scalars(select(FeedToken))}
    assert stored == {"tom": "all", "noor": "some", "nina": "own"}
    client = signed_in(app, "noor")
    url = new_link(client)
    monkeypatch.setattr(TRUST_USERS["noor"], "roles", ("south:approver",))  # moved to the other school
    assert set(events(client.get(url).data)) == {v["south"], v["tara south"]}


def test_the_subscribe_page_names_the_schools_whose_every_visit_the_feed_holds(trust: Any) -> None:
    app, _ = trust
    page = signed_in(app, "noor").get("/home-visits/calendar/").get_data(as_text=True)
    assert "every planned visit of North Primary" in page
    assert "every planned visit" not in signed_in(app, "nina").get("/home-visits/calendar/").get_data(as_text=True)
    everything = signed_in(app, "tom").get("/home-visits/calendar/").get_data(as_text=True)
    assert "every planned visit of North Primary and South Academy" in everything


def test_publish_writes_one_schools_feed_or_the_trusts(trust: Any, tmp_path: Path) -> None:
    app, v = trust
    runner = app.test_cli_runner()
    north = tmp_path / "north.ics"
    result = runner.invoke(args=["home-visits", "publish", "--school", "north", "--out", str(north)])
    assert result.exit_code == 0 and "Wrote 2 visits" in result.output
    titles = events(north.read_bytes())
    assert set(titles) == {v["north"], v["tara north"]} and all(t.startswith("Home visit: ") for t in titles.values())
    whole = tmp_path / "trust.ics"
    assert runner.invoke(args=["home-visits", "publish", "--trust", "--out", str(whole)]).exit_code == 0
    titles = events(whole.read_bytes())
    assert set(titles) == set(v.values()) and titles[v["south"]].startswith("South: ")
    assert whole.read_bytes() == feed_of(app, "tom")
    mine = tmp_path / "tara.ics"
    args = ["home-visits", "publish", "--scope", "user", "--user", "tara", "--school", "south", "--out", str(mine)]
    assert runner.invoke(args=args).exit_code == 0 and set(events(mine.read_bytes())) == {v["tara south"]}


def test_publish_in_a_trust_needs_a_known_school_or_the_trust(trust: Any, tmp_path: Path) -> None:
    app, _ = trust
    runner = app.test_cli_runner()
    out = str(tmp_path / "x.ics")
    for args in (["--school", "west"], [], ["--school", "north", "--trust"]):
        result = runner.invoke(args=["home-visits", "publish", "--out", out, *args])
        assert result.exit_code == 2, args
        assert "north, south" in result.output.strip().splitlines()[-1]
    assert not Path(out).exists()


def test_publish_in_a_one_school_portal_takes_its_id(app: Flask, create_visit: Any, tmp_path: Path) -> None:
    create_visit(state_="authorised")
    runner = app.test_cli_runner()
    plain, named = tmp_path / "plain.ics", tmp_path / "named.ics"
    assert runner.invoke(args=["home-visits", "publish", "--out", str(plain)]).exit_code == 0
    assert runner.invoke(args=["home-visits", "publish", "--school", "school", "--out", str(named)]).exit_code == 0
    assert runner.invoke(args=["home-visits", "publish", "--trust", "--out", str(named)]).exit_code == 0
    assert plain.read_bytes() == named.read_bytes()
    result = runner.invoke(args=["home-visits", "publish", "--school", "north", "--out", str(named)])
    assert result.exit_code == 2 and result.output.strip().splitlines()[-1].endswith("school")


def test_each_visit_goes_overdue_by_its_own_schools_grace_and_the_feed_changes_then(trust: Any) -> None:
    """North allows 10 minutes, south 30, the trust 15: a trust-wide feed changes at 10 and at 30, not at 15."""
    from datetime import timedelta

    from home_visits.models import Visit

    app, v = trust
    clock = state(app).clock
    with state(app).sessions() as session:
        start, back = session.get(Visit, v["north"]).starts_at, session.get(Visit, v["north"]).expected_return
    clock.now = start
    for visit, lead in ((v["north"], "nina"), (v["south"], "sol")):
        assert signed_in(app, lead).post(f"/home-visits/{visit}/check-out").status_code in (200, 302, 303)
    client = signed_in(app, "tom")
    url = new_link(client)

    def overdue(body: bytes) -> set[int]:
        calendar = Calendar.from_ical(body).walk("VEVENT")
        return {int(str(e["UID"]).split("-")[2].split("@")[0]) for e in calendar if "OVERDUE" in str(e["DESCRIPTION"])}

    clock.now = back + timedelta(minutes=5)
    first = client.get(url)
    assert overdue(first.data) == set()
    clock.now = back + timedelta(minutes=12)
    north_late = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert north_late.status_code == 200 and overdue(north_late.data) == {v["north"]}
    clock.now = back + timedelta(minutes=20)
    assert client.get(url, headers={"If-None-Match": north_late.headers["ETag"]}).status_code == 304
    clock.now = back + timedelta(minutes=31)
    south_late = client.get(url, headers={"If-None-Match": north_late.headers["ETag"]})
    assert south_late.status_code == 200 and overdue(south_late.data) == {v["north"], v["south"]}
    since = client.get(url, headers={"If-Modified-Since": north_late.headers["Last-Modified"]})
    assert since.status_code == 200


def test_a_trust_feed_after_a_change_is_what_a_cold_build_says_prefixes_and_each_schools_grace_included(
        trust: Any) -> None:
    """The event cache keys each event by its school's words, grace and prefix: the same visit in a
    one-school feed (no prefix) and in the trust's (prefixed) never share bytes, and a feed rebuilt
    after one change is byte for byte a cold build."""
    app, v = trust
    tom, noor = signed_in(app, "tom"), signed_in(app, "noor")
    tom_url, noor_url = new_link(tom), new_link(noor)
    assert fetch(noor, noor_url) and fetch(tom, tom_url)  # both feeds' events now cached
    visit_factory(app)("south")  # a change: every feed is built again, from the cache
    for client, url in ((tom, tom_url), (noor, noor_url)):
        assert fetch(client, url) == cold(app, client, url)
    assert events(fetch(noor, noor_url))[v["north"]].startswith("Home visit: ")
    assert events(fetch(tom, tom_url))[v["north"]].startswith("North: Home visit: ")
