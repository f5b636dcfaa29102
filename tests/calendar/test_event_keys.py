"""A cached event is never stale: whatever makes an event's bytes differ, the feed says what a cold build
says, though the visit's SEQUENCE, its row or the feed's settings did not move.

Each test warms the event cache, changes one thing an event shows, lets the change marker move (a save
of another visit, as happens all day in a school) and compares the feed with a cold build.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import update

from home_visits.extension import state
from home_visits.models import Visit
from home_visits.plans import service as services
from home_visits.policy import Policy
from home_visits.schools import Schools
from home_visits.web.links import public_url, visit_links

from ..conftest import USERS
from .test_event_cache import cold, descriptions, fetch
from .test_feed import new_link


def save_another(create_visit: Any, clock: Any) -> Visit:
    """A save of another visit, tomorrow's: it moves the change marker, as saves do all day."""
    starts = clock.now + timedelta(days=1)
    return create_visit(state_="submitted", lead="kim", starts_at=starts, expected_return=starts + timedelta(hours=1))


def event_of(body: bytes, visit_id: int) -> Any:
    uid = f"home-visit-{visit_id}@school.example"
    found = [e for e in Calendar.from_ical(body).walk("VEVENT") if str(e["UID"]) == uid]
    assert len(found) == 1
    return found[0]


@pytest.fixture
def approver_feed(app: Flask, login: Any) -> tuple[FlaskClient, str]:
    client = login("alex")
    return client, new_link(client)


def test_an_edit_no_calendar_field_shows_still_moves_the_events_time_stamp(
    app: Flask, create_visit: Any, clock: Any, approver_feed: tuple[FlaskClient, str], serialised: list[int]
) -> None:
    visit = create_visit(state_="authorised")
    create_visit(state_="authorised", lead="kim")
    client, url = approver_feed
    before = event_of(fetch(client, url), visit.id)
    clock.advance(minutes=5)
    st = state(app)
    with st.sessions() as session:
        stored = session.get(Visit, visit.id)
        assert stored is not None
        plan = services.plan_of(stored)
        plan.pupil_ref = "4471"  # judged by nobody, shown by no calendar
        services.update_visit(session, stored, plan, actor=st.directory.person(USERS["sam"]), policy=st.policy,
                              now=clock.now, version=stored.version)
        session.commit()
    serialised.clear()
    body = fetch(client, url)
    after = event_of(body, visit.id)
    assert after["SEQUENCE"] == before["SEQUENCE"]  # nothing a calendar shows changed...
    assert after["LAST-MODIFIED"].dt == clock.now  # ...but the record did, and Outlook is told when
    assert serialised == [visit.id] and body == cold(app, client, url)


def test_a_row_changed_outside_the_portal_is_shown_at_the_next_change(
    app: Flask, create_visit: Any, clock: Any, approver_feed: tuple[FlaskClient, str]
) -> None:
    """A data fix in the database (no SEQUENCE, no time stamp): the next feed says the new postcode."""
    visit = create_visit(state_="authorised")
    client, url = approver_feed
    fetch(client, url)
    with state(app).engine.begin() as connection:
        connection.execute(update(Visit).where(Visit.id == visit.id).values(postcode="EX9 9ZZ"))
    save_another(create_visit, clock)
    body = fetch(client, url)
    assert "EX9 9ZZ" in str(event_of(body, visit.id)["LOCATION"])
    assert body == cold(app, client, url)


def test_a_renamed_approver_whom_the_staff_list_leaves_out_is_renamed_in_the_feed(
    app: Flask, create_visit: Any, clock: Any, approver_feed: tuple[FlaskClient, str], monkeypatch: pytest.MonkeyPatch,
    serialised: list[int],
) -> None:
    """The directory's staff list names who can be picked as a colleague; an approver need not be on it."""
    directory = state(app).directory
    everyone = directory.staff
    monkeypatch.setattr(directory, "staff", lambda: [p for p in everyone() if "staff" in p.roles])
    by_blair = create_visit(state_="authorised", approver="blair")
    create_visit(state_="authorised", lead="kim")
    client, url = approver_feed
    fetch(client, url)
    monkeypatch.setattr(USERS["blair"], "name", "Blair Shaw-Okafor")
    serialised.clear()
    later = save_another(create_visit, clock)
    body = fetch(client, url)
    assert "Authorised by: Blair Shaw-Okafor" in descriptions(body)[f"home-visit-{by_blair.id}@school.example"]
    assert sorted(serialised) == [by_blair.id, later.id] and body == cold(app, client, url)


def test_someone_who_left_the_directory_is_no_longer_named(
    app: Flask, create_visit: Any, clock: Any, approver_feed: tuple[FlaskClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    visit = create_visit(state_="authorised", second_staff_id="jo")
    client, url = approver_feed
    assert "Jo Jones" in str(event_of(fetch(client, url), visit.id)["SUMMARY"])
    monkeypatch.setattr(USERS["jo"], "roles", ())  # the directory no longer knows jo as staff
    save_another(create_visit, clock)
    body = fetch(client, url)
    assert "Jo Jones" not in str(event_of(body, visit.id)["SUMMARY"])
    assert body == cold(app, client, url)


def use_policy(st: Any, policy: Policy) -> None:
    """The one school's policy, changed while the portal runs."""
    st.schools = Schools([replace(st.schools.first, policy=policy)], trust_policy=policy, trust=False)


def test_new_words_in_the_policy_reach_every_event(
    app: Flask, create_visit: Any, clock: Any, approver_feed: tuple[FlaskClient, str]
) -> None:
    st = state(app)
    risky = create_visit(state_="authorised", risk_factors=["risk-violence"], second_staff_id="jo",
                         risk_notes="Two of us go; we meet on the doorstep.")
    client, url = approver_feed
    fetch(client, url)
    policy = st.policy
    use_policy(st, policy.model_copy(update={
        "reasons": [r.model_copy(update={"title": "Long absence"}) if r.id == "extended-absence" else r
                    for r in policy.reasons],
        "risk_factors": [r.model_copy(update={"title": "Aggression before"}) if r.id == "risk-violence" else r
                         for r in policy.risk_factors],
    }))
    save_another(create_visit, clock)
    body = fetch(client, url)
    event = event_of(body, risky.id)
    assert "Home visit: Long absence" in str(event["SUMMARY"])
    assert "Risk flags: Aggression before" in str(event["DESCRIPTION"])
    assert body == cold(app, client, url)


def test_a_longer_grace_moves_the_overdue_time_the_feed_shows(
    app: Flask, login: Any, create_visit: Any, clock: Any, approver_feed: tuple[FlaskClient, str]
) -> None:
    st = state(app)
    visit = create_visit(state_="authorised")
    clock.now = visit.starts_at
    login("sam").post(f"/home-visits/{visit.id}/check-out")
    client, url = login("alex"), approver_feed[1]
    clock.now = visit.expected_return + timedelta(minutes=40)
    assert "OVERDUE since 11:15" in str(event_of(fetch(client, url), visit.id)["DESCRIPTION"])
    use_policy(st, st.policy.model_copy(update={"rules": st.policy.rules.model_copy(update={"grace_minutes": 30})}))
    save_another(create_visit, clock)
    body = fetch(client, url)
    assert "OVERDUE since 11:30" in str(event_of(body, visit.id)["DESCRIPTION"])
    assert body == cold(app, client, url)


def test_a_visit_checked_in_is_no_longer_overdue(
    app: Flask, login: Any, create_visit: Any, clock: Any, approver_feed: tuple[FlaskClient, str]
) -> None:
    visit = create_visit(state_="authorised")
    clock.now = visit.starts_at
    login("sam").post(f"/home-visits/{visit.id}/check-out")
    client, url = login("alex"), approver_feed[1]
    clock.now = visit.expected_return + timedelta(minutes=40)
    assert "OVERDUE" in str(event_of(fetch(client, url), visit.id)["DESCRIPTION"])
    login("sam").post(f"/home-visits/{visit.id}/check-in")
    client = login("alex")
    body = fetch(client, url)
    assert "OVERDUE" not in str(event_of(body, visit.id)["DESCRIPTION"])
    assert body == cold(app, client, url)


# --- links without the URL map per event ---------------------------------------------------------


IDS = (1, 2, 9, 10, 99, 1234, 7318250946, 9_999_999_999)


@pytest.mark.parametrize("config", [
    {"HOME_VISITS_PUBLIC_URL": "https://visits.trust.example"},
    {"HOME_VISITS_PUBLIC_URL": "https://trust.example/portal/"},  # a path prefix, a trailing slash
    {"HOME_VISITS_PUBLIC_URL": "https://1234.example"},  # digits in the host, as in the id put in place
    {"HOME_VISITS_PUBLIC_URL": None},  # unset: the fallback
    {"HOME_VISITS_PUBLIC_URL": None, "TRUSTED_HOSTS": ["portal.school.example"]},  # the request's host
])
def test_every_feed_link_is_the_one_public_url_gives(app: Flask, config: dict[str, Any]) -> None:
    app.config.update(config)
    with app.test_request_context("/", base_url="https://portal.school.example/"):
        link = visit_links()
        for visit_id in IDS:
            assert link(visit_id) == public_url("home_visits.visit", visit_id=visit_id)


def test_links_follow_the_prefix_a_host_mounts_the_plugin_under(tmp_path: Any) -> None:
    from flask import Flask as Host
    from flask_login import LoginManager

    from home_visits import HomeVisits

    host = Host("mounted", instance_path=str(tmp_path), root_path=str(tmp_path))
    host.config.update(SECRET_KEY="x", HOME_VISITS_DATABASE_URI=None, HOME_VISITS_URL_PREFIX="/staff/visits",
                       HOME_VISITS_PUBLIC_URL="https://portal.school.example")
    LoginManager(host).user_loader(USERS.get)
    HomeVisits(host, users=USERS.values)
    try:
        with host.app_context():
            link = visit_links()
            for visit_id in IDS:
                assert link(visit_id) == public_url("home_visits.visit", visit_id=visit_id)
            assert link(7).startswith("https://portal.school.example/staff/visits/")
    finally:
        state(host).engine.dispose()


def test_the_feed_links_each_event_to_its_visit_page(
    app: Flask, create_visit: Any, approver_feed: tuple[FlaskClient, str]
) -> None:
    app.config["HOME_VISITS_PUBLIC_URL"] = "https://trust.example/portal"
    made = [create_visit(state_="authorised", lead=lead) for lead in ("sam", "kim")]
    client, url = approver_feed
    body = fetch(client, url)
    with app.app_context():
        for visit in made:
            portal = f"Portal: {public_url('home_visits.visit', visit_id=visit.id)}"
            assert portal in str(event_of(body, visit.id)["DESCRIPTION"])
    assert client.get(portal.split("Portal: https://trust.example/portal", 1)[1]).status_code == 200
