"""Every ``flask home-visits`` command, end to end, as a school deploys the plugin and with the defaults.

Each test runs twice (the ``deployment`` fixture): once with the demo's defaults, once as the README's
"Deploying" section says (``HOME_VISITS_PUBLIC_URL`` set, no ``SERVER_NAME``, not debug or testing,
migrations by ``flask home-visits db upgrade``), with overdue, pending, cancelled and never-checked-out
visits in the database and mail going to a real SMTP server on loopback.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from home_visits.extension import state
from home_visits.plans import service as services
from home_visits.web.links import UNSET_WARNING

from .conftest import USERS, Inbox, link_base, make_app, valid_plan

START = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)
LINK = re.compile(r"(?:https?|webcal)://[^\s\"<>]+")


@pytest.fixture
def app(mail_app: Flask) -> Flask:
    return mail_app


@pytest.fixture
def day(app: Flask, login: Any, create_visit: Any, clock: Any) -> dict[str, Any]:
    """A school day at 11:45: one visit overdue, one never checked out, one awaiting authorisation
    tomorrow, one cancelled, one back safe."""
    clock.now = START - timedelta(days=2)
    visits = {
        "overdue": create_visit(state_="authorised"),
        "never_out": create_visit(state_="authorised", lead="kim", second_staff_id="jo"),
        "pending": create_visit(state_="submitted", starts_at=START + timedelta(days=1),
                                expected_return=START + timedelta(days=1, hours=1)),
        "cancelled": create_visit(state_="cancelled"),
        "back": create_visit(state_="authorised", lead="jo", second_staff_id="kim"),
    }
    clock.now = START
    assert login("sam").post(f"/home-visits/{visits['overdue'].id}/check-out").status_code == 302
    assert login("jo").post(f"/home-visits/{visits['back'].id}/check-out").status_code == 302
    clock.now = START + timedelta(minutes=50)
    assert login("jo").post(f"/home-visits/{visits['back'].id}/check-in").status_code == 302
    clock.now = START + timedelta(hours=1, minutes=45)
    return visits


def run(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(args=["home-visits", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def links_in(text: str) -> list[str]:
    return LINK.findall(text)


def assert_links_point_home(app: Flask, text: str) -> None:
    found = links_in(text)
    assert found, "no link at all"
    for link in found:
        assert link.startswith(link_base(app)) or link.startswith("webcal://"), link


def test_escalate_emails_every_due_alert_with_links_home(app: Flask, day: dict[str, Any], smtp_server: Inbox) -> None:
    result = run(app, "escalate")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("All due alerts were sent")
    subjects = [str(m["Subject"]) for m in smtp_server.messages]
    assert "OVERDUE: Sam Patel, home visit, expected back 11:00" in subjects
    assert any(s.startswith("NOT CHECKED OUT: Kim Lee") for s in subjects), subjects
    for message in smtp_server.messages:
        assert_links_point_home(app, message.get_body(("plain",)).get_content())
    assert not any("Jo Jones, home visit" in s for s in subjects)  # back safe in time: nothing


def test_remind_and_digest_link_to_the_portal(app: Flask, day: dict[str, Any], clock: Any,
                                                smtp_server: Inbox) -> None:
    clock.now = START - timedelta(hours=3)  # 07:00 on the day, when cron sends both
    reminded = run(app, "remind")
    assert reminded.exit_code == 0 and "Reminders: 1 queued, 1 sent, 0 failed (plans to decide: 1" in reminded.output
    digested = run(app, "digest")
    assert digested.exit_code == 0 and "1 sent" in digested.output
    texts = [m.get_body(("plain",)).get_content() for m in smtp_server.messages]
    assert len(texts) == 2
    for text in texts:
        assert_links_point_home(app, text)


def test_publish_writes_links_home(app: Flask, day: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "calendars" / "visits.ics"
    result = run(app, "publish", "--out", str(out))
    assert result.exit_code == 0 and "Wrote 5 visits" in result.output
    body = out.read_bytes().decode("utf-8").replace("\r\n ", "")  # unfold long lines
    assert_links_point_home(app, body)


def test_purge_and_export_run_with_every_kind_of_visit_present(app: Flask, day: dict[str, Any], clock: Any,
                                                               tmp_path: Path) -> None:
    clock.now = START + timedelta(days=8 * 366)
    dry = run(app, "purge", "--dry-run")
    assert dry.exit_code == 0 and "5 visits are older than 7 years and would be removed (dry run)." in dry.output
    exported = run(app, "export", "--pupil", "Jamie Smith", "--out", str(tmp_path / "sar"))
    assert exported.exit_code == 0 and "Wrote 5 visits" in exported.output
    held = json.loads((tmp_path / "sar" / "home-visits-jamie-smith.json").read_text(encoding="utf-8"))
    assert held["visits"] == 5
    purged = run(app, "purge")
    assert purged.exit_code == 0 and "Removed 5 visits older than 7 years." in purged.output


def test_db_upgrade_is_idempotent(app: Flask, day: dict[str, Any]) -> None:
    result = run(app, "db", "upgrade")
    assert result.exit_code == 0 and "Home visits database is at head." in result.output


def test_a_request_host_never_reaches_a_link(app: Flask, day: dict[str, Any],
                                             smtp_server: Inbox) -> None:
    """Links in plan emails come from configuration even when the request names another host."""
    client = app.test_client()
    with client.session_transaction(base_url="http://evil.example") as session:
        session["_user_id"], session["_fresh"] = "alex", True
    response = client.post(f"/home-visits/{day['pending'].id}/decide",
                           data={"authorise": "Authorise", "version": str(day["pending"].version)},
                           base_url="http://evil.example")
    assert response.status_code == 302
    (message,) = [m for m in smtp_server.messages if "authorised" in str(m["Subject"]).lower()]
    text = message.get_body(("plain",)).get_content()
    assert "evil.example" not in text
    if not app.testing:
        assert_links_point_home(app, text)


def test_without_the_public_url_start_up_and_commands_say_which_key_to_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, smtp_server: Inbox
) -> None:
    with caplog.at_level(logging.WARNING):
        app = make_app(tmp_path / "instance", TESTING=False, HOME_VISITS_SMTP_HOST="127.0.0.1",
                       HOME_VISITS_SMTP_PORT=smtp_server.port)
    warnings = [r.getMessage() for r in caplog.records if "HOME_VISITS_PUBLIC_URL" in r.getMessage()]
    assert warnings == [UNSET_WARNING]
    result = app.test_cli_runner().invoke(args=["home-visits", "escalate"])
    assert result.output.count("HOME_VISITS_PUBLIC_URL is not set") == 1
    state(app).engine.dispose()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        quiet = make_app(tmp_path / "other", TESTING=False, HOME_VISITS_PUBLIC_URL="https://portal.school.example")
    assert not [r for r in caplog.records if "HOME_VISITS_PUBLIC_URL" in r.getMessage()]
    assert "HOME_VISITS_PUBLIC_URL" not in quiet.test_cli_runner().invoke(args=["home-visits", "escalate"]).output
    state(quiet).engine.dispose()


def test_a_trusted_host_may_stand_in_for_the_public_url_and_others_are_refused(tmp_path: Path) -> None:
    app = make_app(tmp_path / "instance", TESTING=False, TRUSTED_HOSTS=["portal.school.example"])
    client = app.test_client()
    with client.session_transaction(base_url="http://portal.school.example") as session:
        session["_user_id"], session["_fresh"] = "alex", True
    made = client.post("/home-visits/calendar/", data={"create": "Create my calendar link"},
                       base_url="http://portal.school.example")
    assert 'value="http://portal.school.example/home-visits/calendar/' in made.get_data(as_text=True)
    refused = client.post("/home-visits/calendar/", data={"create": "Create my calendar link"},
                          base_url="http://evil.example")
    assert refused.status_code == 400 and "evil.example/home-visits" not in refused.get_data(as_text=True)
    state(app).engine.dispose()


def test_a_cached_feed_never_carries_another_hosts_links(tmp_path: Path) -> None:
    """Two trusted names for one portal: each feed's links name the host it was asked under, cache or not."""
    app = make_app(tmp_path / "instance", TESTING=False, TRUSTED_HOSTS=["portal.school.example", "hv.school.example"])
    client = app.test_client()
    with client.session_transaction(base_url="http://portal.school.example") as session:
        session["_user_id"], session["_fresh"] = "alex", True
    made = client.post("/home-visits/calendar/", data={"create": "Create my calendar link"},
                       base_url="http://portal.school.example").get_data(as_text=True)
    path = re.search(r'value="http://portal\.school\.example(/home-visits/calendar/[^"]+\.ics)"', made)
    assert path
    st = state(app)
    sam = st.directory.person(USERS["sam"])
    with st.sessions() as session:
        visit = services.create_visit(session, valid_plan(), actor=sam, now=st.clock())
        session.flush()
        assert not services.submit(session, visit, actor=sam, policy=st.policy, now=st.clock())
        session.commit()
    for host in ("portal.school.example", "hv.school.example", "portal.school.example"):
        body = app.test_client().get(path[1], base_url=f"http://{host}").get_data().decode().replace("\r\n ", "")
        links = set(re.findall(r"https?://([^/\s]+)/home-visits/", body))
        assert links == {host}, (host, links)
    state(app).engine.dispose()
