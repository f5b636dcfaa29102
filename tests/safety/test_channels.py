"""Alerts by webhook channel, through the real ``flask home-visits escalate`` and a real HTTP receiver on
127.0.0.1 that verifies every signature with the ``standardwebhooks`` library, answers 500 to the first
attempts, and (on one path) does not answer in time."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from home_visits.extension import state
from home_visits.mail.webhooks import ChannelsError
from home_visits.models import AuditEntry, ChannelMessage

from ..conftest import DEPLOYED, Inbox, Receiver, make_app, signed_in
from ..conftest import WEBHOOK_SECRET as SECRET
from .test_office_days import creator

START = datetime(2026, 3, 4, 10, 0, tzinfo=timezone.utc)  # a Wednesday, GMT: London = UTC
OVERDUE = START + timedelta(hours=1, minutes=15)


def portal(tmp_path: Path, inbox: Inbox, deployment: dict[str, Any], hooks: dict[str, Any], notify: str,
           **config: Any) -> Flask:
    policy = tmp_path / "school.yaml"
    policy.write_text("extends: default\nescalation:\n  tiers:\n"
                      f"    - {{after_minutes: 0, notify: [{notify}]}}\n"
                      "    - {after_minutes: 30, notify: [approvers, second_staff]}\n"
                      "  out_of_hours_channels: []\n", encoding="utf-8")
    app = make_app(tmp_path / "instance", HOME_VISITS_POLICY=str(policy), HOME_VISITS_SMTP_HOST="127.0.0.1",
                   HOME_VISITS_SMTP_PORT=inbox.port, HOME_VISITS_SMTP_TIMEOUT=5, HOME_VISITS_ALERT_WEBHOOKS=hooks,
                   HOME_VISITS_OUT_OF_HOURS_EMAIL="head.on.call@school.example", **deployment, **config)
    if not app.config["HOME_VISITS_AUTO_MIGRATE"]:
        assert app.test_cli_runner().invoke(args=["home-visits", "db", "upgrade"]).exit_code == 0
    return app


def out_visit(app: Flask, create: Any) -> int:
    visit = create(state_="authorised", starts_at=START, expected_return=START + timedelta(hours=1), contact_id="kim")
    state(app).clock.now = START  # type: ignore[attr-defined]
    assert signed_in(app, "sam").post(f"/home-visits/{visit.id}/check-out").status_code == 302
    return int(visit.id)


def escalate(app: Flask, at: datetime) -> Any:
    state(app).clock.now = at  # type: ignore[attr-defined]
    return app.test_cli_runner().invoke(args=["home-visits", "escalate"])


def test_each_alert_reaches_each_channel_once_signed_with_one_id_and_no_pupil_name(
        tmp_path: Path, smtp_server: Inbox, receiver: Receiver, deployment: dict[str, Any]) -> None:
    receiver.failures = {"/sms": 3}
    hooks = {"on-call": {"url": receiver.url("/sms"), "secret": SECRET, "format": "standard"},
             "teams": {"url": receiver.url("/teams"), "format": "teams"}}
    app = portal(tmp_path, smtp_server, deployment, hooks,
                 "responsible_contact, office, webhook:on-call, webhook:teams")
    create = creator(app)
    visits = [out_visit(app, create), out_visit(app, create)]
    first = escalate(app, OVERDUE)
    assert first.exit_code == 1, first.output
    assert first.output.strip().splitlines()[-1] == (
        "2 webhook message(s) could not be sent; they will be retried at the next run. "
        "Sent: by email 2, by webhook:teams 2. (exit 1)")
    assert len(smtp_server.messages) == 2  # email went first, whatever the channels did
    page = signed_in(app, "pat").get("/home-visits/dashboard").get_data(as_text=True)
    assert "Alerts are not reaching the on-call channel." in page and "the channel answered 500" in page
    assert "Also to the on-call channel: not delivered yet" in page and "Also to the teams channel: delivered." in page
    for minutes in (5, 10):  # the backoff has passed at each: 500 once more, then taken
        escalate(app, OVERDUE + timedelta(minutes=minutes))
    assert escalate(app, OVERDUE + timedelta(minutes=15)).exit_code == 0
    standard = [(wid, body) for path, wid, body in receiver.delivered if path == "/sms"]
    assert sorted(body["visit_id"] for _wid, body in standard) == sorted(visits)  # once each
    ids = {}
    for path, wid, body, verified in receiver.requests:
        if path == "/sms":
            assert verified, "a signature did not verify"
            assert ids.setdefault(body["visit_id"], wid) == wid, "the webhook-id changed between attempts"
    assert len(receiver.requests) == 3 + 2 + 2  # three 500s, two deliveries, two Teams cards
    _, body = standard[0]
    assert body["type"] == "home_visits.alert" and body["school"] == "Our school" and body["alert"] == "tier-0"
    assert {"name": "Sam Patel", "phone": "07700 900001"} in body["staff"]
    assert body["expected_back"].startswith("2026-03-04T11:00") and body["overdue_since"].startswith("2026-03-04T11:15")
    assert body["first_step"].startswith("Ring the member of staff")
    assert body["link"].endswith(f"/home-visits/{body['visit_id']}") and body["headline"].startswith("OVERDUE")
    teams = [body for path, _wid, body in receiver.delivered if path == "/teams"]
    assert len(teams) == 2 and all(card["type"] == "message" for card in teams)
    attachment = teams[0]["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["actions"][0]["type"] == "Action.OpenUrl"
    assert card["actions"][0]["title"] == "Open the visit" and "/home-visits/" in card["actions"][0]["url"]
    everything = json.dumps([body for _path, _wid, body, _ok in receiver.requests])
    assert "Jamie" not in everything and "Smith" not in everything  # the pupil, by either name
    with state(app).sessions() as session:
        history = session.scalars(select(AuditEntry.action).where(AuditEntry.visit_id == visits[0])).all()
    assert "webhook_failed" in history and "webhook_sent" in history
    state(app).clock.now = START + timedelta(days=8 * 366)  # type: ignore[attr-defined]
    purged = app.test_cli_runner().invoke(args=["home-visits", "purge"])  # past retention: the messages go too
    assert purged.exit_code == 0, purged.output
    with state(app).sessions() as session:
        assert session.scalars(select(ChannelMessage)).all() == []


def test_a_channel_that_never_answers_is_given_up_for_the_sweep_after_one_timeout(
        tmp_path: Path, smtp_server: Inbox, receiver: Receiver, deployment: dict[str, Any]) -> None:
    receiver.slow = 1.0
    hooks = {"pager": {"url": receiver.url("/silent"), "secret": SECRET}}
    app = portal(tmp_path, smtp_server, deployment, hooks, "responsible_contact, office, webhook:pager",
                 HOME_VISITS_WEBHOOK_TIMEOUT=0.2)
    create = creator(app)
    for _ in range(4):
        out_visit(app, create)
    result = escalate(app, OVERDUE)
    assert result.exit_code == 1 and len(smtp_server.messages) == 4
    assert len(receiver.requests) == 1  # tried once, then left for the next sweep
    assert "1 webhook message(s) could not be sent" in result.output.strip().splitlines()[-1]
    escalate(app, OVERDUE + timedelta(minutes=5))
    assert len(receiver.requests) == 2  # the next sweep tries it again


def test_a_channel_the_policy_names_but_config_lacks_stops_start_up(tmp_path: Path, smtp_server: Inbox) -> None:
    with pytest.raises(ChannelsError) as caught:
        portal(tmp_path, smtp_server, {}, {}, "office, webhook:on-call")
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "school.yaml")) and "escalation.tiers[0].notify" in message
    assert "'webhook:on-call' is not a channel of HOME_VISITS_ALERT_WEBHOOKS" in message
    with pytest.raises(ChannelsError, match=r"HOME_VISITS_ALERT_WEBHOOKS\['sms'\].secret: not a Standard"):
        portal(tmp_path, smtp_server, {}, {"sms": {"url": "https://sms.example/in", "secret": "hunter2"}}, "office")


@pytest.mark.parametrize("way", ["command", "dashboard"])
def test_a_test_alert_reaches_every_channel_and_shows_each_one_s_last_success_and_failure(
        tmp_path: Path, smtp_server: Inbox, receiver: Receiver, way: str) -> None:
    receiver.failures = {"/teams": 1}
    hooks = {"on-call": {"url": receiver.url("/sms"), "secret": SECRET},
             "teams": {"url": receiver.url("/teams"), "format": "teams"}}
    app = portal(tmp_path, smtp_server, DEPLOYED, hooks, "responsible_contact, office, webhook:on-call")
    state(app).clock.now = START  # type: ignore[attr-defined]

    def send() -> str:
        if way == "command":
            result = app.test_cli_runner().invoke(args=["home-visits", "alerts", "test"])
            assert result.exit_code == (1 if len(receiver.requests) <= 2 else 0), result.output
            return result.output
        office = signed_in(app, "pat")
        assert office.post("/home-visits/dashboard/test-alert").status_code == 400  # no CSRF token
        page = office.get("/home-visits/dashboard").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token and office.post("/home-visits/dashboard/test-alert",
                                     data={"csrf_token": token[1]}).status_code == 302
        return office.get("/home-visits/dashboard").get_data(as_text=True)

    app.config["WTF_CSRF_ENABLED"] = True
    first = send()
    assert "webhook:teams: last success never; last failure 10:00 on 04 Mar 2026 (the channel answered 500" in first
    assert "webhook:on-call: last success 10:00 on 04 Mar 2026; last failure never" in first
    assert "email: last success 10:00 on 04 Mar 2026; last failure never" in first
    state(app).clock.now = START + timedelta(minutes=1)  # type: ignore[attr-defined]
    second = send()
    assert ("webhook:teams: last success 10:01 on 04 Mar 2026; last failure 10:00 on 04 Mar 2026"
            in second)
    tests = [body for _path, _wid, body, ok in receiver.requests if ok]
    assert len(tests) == 5 and all("TEST" in json.dumps(body) for body in tests)  # the failed one retried too
    subject = "TEST: home visits alert check (nobody needs to act)"
    assert [str(m["Subject"]) for m in smtp_server.messages] == [subject, subject]
    assert {a.addr_spec for a in smtp_server.messages[0]["To"].addresses} == {
        "office@school.example", "head.on.call@school.example"}
    if way == "dashboard":
        assert signed_in(app, "sam").post("/home-visits/dashboard/test-alert").status_code in (400, 403)
