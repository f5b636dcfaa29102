"""Personal calendar feed URLs: tokens, scope, conditional GET, and the publish command."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import select, text

from home_visits.calendar import service as feed_views
from home_visits.extension import RedactFeedTokens, state
from home_visits.models import FeedToken

from ..conftest import NOW, make_app


def new_link(client: FlaskClient) -> str:
    response = client.post("/home-visits/calendar/", data={"create": "Create"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    match = re.search(r'id="feed-url"[^>]*value="https?://[^/"]+(/home-visits/calendar/[^"]+\.ics)"', page)
    assert match, "no feed URL on the page"
    return match[1]


def events(body: bytes) -> dict[str, Any]:
    return {str(e["UID"]): e for e in Calendar.from_ical(body).walk("VEVENT")}


def test_subscribe_page_sends_no_referrer_and_shows_both_links(login: Any) -> None:
    client = login("alex")
    page = client.get("/home-visits/calendar/")
    assert page.headers["Referrer-Policy"] == "no-referrer" and "no calendar link yet" in page.get_data(as_text=True)
    created = client.post("/home-visits/calendar/", data={"create": "Create"})
    assert created.headers["Referrer-Policy"] == "no-referrer"
    html = created.get_data(as_text=True)
    assert 'href="webcal://localhost/home-visits/calendar/' in html and "shown only once" in html


def test_token_is_256_bits_and_only_its_hash_is_stored(app: Flask, login: Any) -> None:
    url = new_link(login("alex"))
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) == 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)  # 32 random bytes, URL-safe
    with state(app).engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM home_visits_feed_token")).all()
    assert len(rows) == 1 and token not in repr(rows)


def test_feed_serves_visits_as_text_calendar(login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="authorised", pupil="Jamie Smith")
    draft = create_visit(pupil="Draft Child")
    response = login("alex").get(new_link(login("alex")))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "Content-Encoding" not in response.headers
    found = events(response.data)
    assert f"home-visit-{visit.id}@school.example" in found
    assert f"home-visit-{draft.id}@school.example" not in found  # drafts never appear
    assert b"Jamie Smith" not in response.data and b"Smith" not in response.data


def test_staff_get_their_own_visits_and_approvers_all(login: Any, create_visit: Any) -> None:
    mine = create_visit(state_="authorised", lead="sam")
    other = create_visit(state_="authorised", lead="kim", second_staff_id="jo")
    sam = login("sam")
    own = events(sam.get(new_link(sam)).data)
    assert f"home-visit-{mine.id}@school.example" in own and f"home-visit-{other.id}@school.example" not in own
    office = login("pat")
    assert len(events(office.get(new_link(office)).data)) == 2


def test_revoked_and_unknown_tokens_get_a_bare_404(client: FlaskClient, login: Any) -> None:
    alex = login("alex")
    first = new_link(alex)
    second = new_link(alex)  # re-issuing stops the old link
    assert alex.get(first).status_code == 404
    assert alex.get(second).status_code == 200
    alex.post("/home-visits/calendar/", data={"revoke": "Stop"})
    gone = client.get(second)
    assert gone.status_code == 404 and b"revoked" not in gone.data.lower()
    assert client.get("/home-visits/calendar/" + "x" * 43 + ".ics").status_code == 404
    assert client.get("/home-visits/calendar/short.ics").status_code == 404


def test_a_user_who_loses_their_role_loses_the_feed(login: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from ..conftest import USERS

    url = new_link(login("jo"))
    monkeypatch.setattr(USERS["jo"], "roles", ())
    assert login("jo").get(url).status_code == 404


def test_conditional_get_answers_304_without_building(
    login: Any, create_visit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_visit(state_="authorised")
    client = login("alex")
    url = new_link(client)
    first = client.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    def refuse(*_args: Any, **_kwargs: Any) -> bytes:
        raise AssertionError("the feed was rebuilt for a 304")

    monkeypatch.setattr(feed_views, "build_feed", refuse)
    not_changed = client.get(url, headers={"If-None-Match": etag})
    assert not_changed.status_code == 304 and not_changed.data == b"" and not_changed.headers["ETag"] == etag
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304


def test_a_change_gives_a_new_etag_and_a_grown_sequence(app: Flask, login: Any, create_visit: Any) -> None:
    visit = create_visit(state_="submitted")
    client = login("alex")
    url = new_link(client)
    before = client.get(url)
    uid = f"home-visit-{visit.id}@school.example"
    assert str(events(before.data)[uid]["STATUS"]) == "TENTATIVE"
    client.post(f"/home-visits/{visit.id}/decide", data={"authorise": "Authorise", "version": str(visit.version)})
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    event = events(after.data)[uid]
    assert str(event["STATUS"]) == "CONFIRMED" and int(event["SEQUENCE"]) > int(events(before.data)[uid]["SEQUENCE"])


def test_cancelled_visits_stay_14_days_then_leave(app: Flask, login: Any, create_visit: Any, clock: Any) -> None:
    visit = create_visit(state_="cancelled")  # cancelled on Monday 2 March at 08:00
    client = login("alex")
    url = new_link(client)
    uid = f"home-visit-{visit.id}@school.example"
    assert str(events(client.get(url).data)[uid]["STATUS"]) == "CANCELLED"
    clock.advance(days=14, hours=15)  # Monday 16 March, 23:00: still the fourteenth day's feed
    assert uid in events(client.get(url).data)
    clock.advance(hours=2)  # after midnight the feed's window moves on
    assert uid not in events(client.get(url).data)


def test_publish_writes_the_feed_atomically(app: Flask, login: Any, create_visit: Any, tmp_path: Path) -> None:
    create_visit(state_="authorised", lead="sam")
    create_visit(state_="authorised", lead="kim", second_staff_id="jo")
    out = tmp_path / "shared" / "visits.ics"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["home-visits", "publish", "--out", str(out)])
    assert result.exit_code == 0 and "Wrote 2 visits" in result.output
    client = login("alex")
    served = client.get(new_link(client)).data
    assert out.read_bytes() == served
    assert [p.name for p in out.parent.iterdir()] == ["visits.ics"]  # no temporary file left
    mine = tmp_path / "sam.ics"
    result = runner.invoke(args=["home-visits", "publish", "--scope", "user", "--user", "sam", "--out", str(mine)])
    assert "Wrote 1 visits" in result.output
    assert runner.invoke(args=["home-visits", "publish", "--scope", "user"]).exit_code == 2
    assert runner.invoke(args=["home-visits", "publish", "--scope", "user", "--user", "nobody"]).exit_code == 2


def test_request_logs_never_carry_a_token() -> None:
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", "GET /home-visits/calendar/AbC_d-123456789012345.ics HTTP/1.1",
                                "200"), None)
    RedactFeedTokens().filter(record)
    assert "AbC_d" not in record.getMessage() and "/calendar/[redacted].ics" in record.getMessage()


def test_feed_tokens_table_holds_hashes(app: Flask, login: Any) -> None:
    new_link(login("alex"))
    with state(app).sessions() as session:
        row = session.scalars(select(FeedToken)).one()
    assert re.fullmatch(r"[0-9a-f]{64}", row.token_hash) and row.scope == "all" and row.created_at == NOW


def test_the_window_runs_30_days_back_to_365_ahead(app: Flask, create_visit: Any, clock: Any) -> None:
    from datetime import timedelta

    from home_visits.calendar import service as feeds

    start = create_visit(state_="authorised").starts_at
    window = feeds.Window()
    with state(app).sessions() as session:
        for offset, shown in ((timedelta(days=-365), True), (-timedelta(days=365, minutes=1), False),
                              (timedelta(days=30), True), (timedelta(days=30, minutes=1), False)):
            clock.now = start + offset  # the visit is 365 days ahead / 30 days back of now
            ids = [v.id for v in feeds.visits_in_window(session, now=clock.now, window=window)]
            assert bool(ids) is shown, offset


def test_an_overdue_visit_says_so_in_the_feed_and_changes_the_etag(
    app: Flask, login: Any, create_visit: Any, clock: Any
) -> None:
    from datetime import timedelta

    visit = create_visit(state_="authorised")
    clock.now = visit.starts_at
    login("sam").post(f"/home-visits/{visit.id}/check-out")
    client = login("alex")
    url = new_link(client)
    out = client.get(url)
    description = str(events(out.data)[f"home-visit-{visit.id}@school.example"]["DESCRIPTION"])
    assert "Status: staff out on the visit" in description and "OVERDUE" not in description
    clock.now = visit.expected_return + timedelta(minutes=16)
    late = client.get(url, headers={"If-None-Match": out.headers["ETag"]})
    assert late.status_code == 200
    assert "OVERDUE since 11:15" in str(events(late.data)[f"home-visit-{visit.id}@school.example"]["DESCRIPTION"])


def test_a_new_phone_number_in_the_directory_reaches_the_feed(
    app: Flask, login: Any, create_visit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The office rings the number in the calendar when someone is overdue: it must not go stale."""
    from ..conftest import USERS

    state(app).staff_mark.seconds = 0  # as HOME_VISITS_DIRECTORY_REFRESH = 0 would
    visit = create_visit(state_="authorised")
    client = login("alex")
    url = new_link(client)
    first = client.get(url)
    uid = f"home-visit-{visit.id}@school.example"
    assert "07700 900002" in str(events(first.data)[uid]["DESCRIPTION"])  # Jo, the second member of staff
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    monkeypatch.setattr(USERS["jo"], "phone", "07700 900999")
    changed = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert "07700 900999" in str(events(changed.data)[uid]["DESCRIPTION"])
    assert client.get(url, headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304


def test_the_directory_is_looked_at_once_a_minute_not_on_every_poll(
    app: Flask, login: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert state(app).staff_mark.seconds == 60
    assert state(make_app(tmp_path / "other", HOME_VISITS_DIRECTORY_REFRESH=5)).staff_mark.seconds == 5
    client = login("alex")
    url = new_link(client)
    looked: list[int] = []
    directory = state(app).directory
    staff = directory.staff
    monkeypatch.setattr(directory, "staff", lambda: looked.append(1) or staff())
    state(app).staff_mark.checked = float("-inf")
    for _ in range(5):
        assert client.get(url).status_code == 200
    assert len(looked) == 1
